/**
 * `byoci secrets set` as a user runs it: a real child process of the CLI. The value never
 * appears in any process's command line or environment (what `ps` and shell history
 * show), and on a terminal it is not echoed.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { missingCommands, needs, suiteNeeds } from '../support/components.js';
import { missingSecretService, startSecretService, type SecretService } from '../support/keyring.js';

const ROOT = resolve(import.meta.dirname, '../..');
const CLI = [process.execPath, '--import', 'tsx', join(ROOT, 'cli/main.ts')];

let home: string;
let configFile: string;
let secretsDir: string;
before(async () => {
  home = await mkdtemp(join(tmpdir(), 'byoci-secrets-proc-'));
  secretsDir = join(home, 'secrets');
  configFile = join(home, 'byoci.yaml');
  await writeFile(configFile, `secrets:\n  order: [env, file]\n  dir: ${secretsDir}\n`);
});
after(async () => rm(home, { recursive: true, force: true }));

function childEnv(): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: home, LANG: 'C.UTF-8' };
}

/** Command line and environment of every process on the machine, as `ps e` would see them. */
async function processTable(): Promise<{ pid: number; cmdline: string; environ: string }[]> {
  const rows = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const read = (f: string) => readFile(`/proc/${entry}/${f}`).then((b) => b.toString('utf8').replace(/\0/g, ' '), () => '');
    rows.push({ pid: Number(entry), cmdline: await read('cmdline'), environ: await read('environ') });
  }
  return rows;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** CPU time (utime + stime, in ticks) of a process. */
async function cpuTicks(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

/** Resolves once `pid` has used no CPU for a while: it is blocked, waiting for input. */
async function waitIdle(pid: number): Promise<void> {
  let last = -1;
  let still = 0;
  for (let i = 0; i < 300 && still < 3; i++) {
    await sleep(200);
    const now = await cpuTicks(pid);
    still = now === last ? still + 1 : 0;
    last = now;
  }
}

describe('byoci secrets set (child process)', () => {
  test('the value read from stdin shows in no command line or environment while set runs', async () => {
    const canary = `canary-${randomBytes(12).toString('hex')}`;
    const child = spawn(CLI[0]!, [...CLI.slice(1), '-c', configFile, 'secrets', 'set', 'github/token'], {
      cwd: ROOT,
      env: childEnv(),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    let running = true;
    void exited.then(() => (running = false));

    let sawChild = 0;
    let leaks: string[] = [];
    const sample = async () => {
      for (const row of await processTable()) {
        if (row.pid === child.pid && row.cmdline.includes('secrets set github/token')) sawChild++;
        if (row.cmdline.includes(canary) || row.environ.includes(canary)) leaks.push(`pid ${row.pid}: ${row.cmdline}`);
      }
    };
    // Sample the process table before, while and after the value is in flight.
    await sample();
    await waitIdle(child.pid!); // start-up done: the CLI now waits on stdin
    await sample();
    child.stdin.write(canary + '\n');
    for (let i = 0; i < 5; i++) {
      await sleep(100);
      await sample(); // the value is in the child, which waits for end of input
    }
    child.stdin.end();
    while (running) {
      await sample();
      await sleep(20);
    }
    assert.equal(await exited, 0, stderr);
    assert.ok(sawChild >= 5, `the sampler saw the running 'byoci secrets set' ${sawChild} times`);
    assert.deepEqual(leaks, []);
    assert.ok(!stderr.includes(canary));
    assert.equal(await readFile(join(secretsDir, 'github', 'token'), 'utf8'), canary);
    assert.equal((await stat(join(secretsDir, 'github', 'token'))).mode & 0o777, 0o600);
  });

  /**
   * `byoci secrets set <key>` on a pseudo-terminal (script(1) gives the CLI one; everything
   * it displays comes back on stdout): types `keys` once the hidden-input prompt is up, waits
   * until the screen shows `until`, and resolves with the exit code and the whole screen.
   */
  async function typeAtPrompt(key: string, keys: string, until: string): Promise<{ code: number | null; screen: string }> {
    const command = [...CLI, '-c', configFile, 'secrets', 'set', key].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
    const child = spawn('script', ['-qfec', command, '/dev/null'], { cwd: ROOT, env: childEnv(), stdio: ['pipe', 'pipe', 'pipe'] });
    let screen = '';
    const prompted = new Promise<void>((r) =>
      child.stdout.on('data', (d) => {
        screen += d;
        if (screen.includes('input hidden')) r();
      }),
    );
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    await prompted;
    child.stdin.write(keys);
    await new Promise<void>((r) => child.stdout.on('data', () => screen.includes(until) && r()));
    child.stdin.end();
    const code = await exited;
    return { code, screen };
  }

  test('on a terminal the prompt hides the typed value', async (t) => {
    if (!needs(t, 'script (util-linux)', missingCommands('script'))) return;
    const canary = `typed-${randomBytes(8).toString('hex')}`;
    const { code, screen } = await typeAtPrompt('irc/password', `${canary}\r`, 'stored in');
    assert.equal(code, 0, screen);
    assert.match(screen, /Value of irc\/password \(input hidden, Enter to finish\): /);
    assert.match(screen, /irc\/password: stored in file/);
    assert.ok(!screen.includes(canary), `the terminal showed the value: ${JSON.stringify(screen)}`);
    assert.equal(await readFile(join(secretsDir, 'irc', 'password'), 'utf8'), canary);
  });

  test('Ctrl-C at the prompt cancels and stores nothing', async (t) => {
    if (!needs(t, 'script (util-linux)', missingCommands('script'))) return;
    const { code, screen } = await typeAtPrompt('irc/cancelled', 'half-typed\u0003', 'nothing stored');
    assert.equal(code, 2, screen);
    assert.match(screen, /cancelled, nothing stored/);
    assert.ok(!screen.includes('half-typed'));
    await assert.rejects(stat(join(secretsDir, 'irc', 'cancelled')), /ENOENT/);
  });
});

describe('byoci secrets get/check (child process)', () => {
  function byoci(args: string[], env: NodeJS.ProcessEnv = {}, config = configFile) {
    const r = spawnSync(CLI[0]!, [...CLI.slice(1), '-c', config, ...args], { cwd: ROOT, env: { ...childEnv(), ...env }, encoding: 'utf8' });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  test('a world-readable secrets file is refused, naming the file and chmod 600', async () => {
    const path = join(secretsDir, 'github', 'leaky');
    await mkdir(join(secretsDir, 'github'), { recursive: true, mode: 0o700 });
    await writeFile(path, 'ghp_world_readable_value\n');
    await chmod(path, 0o644);
    const r = byoci(['secrets', 'get', '--reveal', 'github/leaky']);
    assert.equal(r.code, 3);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr, `byoci secrets: file store: refusing secrets file ${path}: it is readable by group or others (mode 0644): run chmod 600 ${path}\n`);
    await chmod(path, 0o600);
    assert.equal(byoci(['secrets', 'get', '--reveal', 'github/leaky']).stdout, 'ghp_world_readable_value\n');
  });

  test('check lists the secrets of the configured plugins, and where each is set', async () => {
    const config = join(home, 'check.yaml');
    await writeFile(config, `secrets:\n  order: [env, file]\n  dir: ${join(home, 'empty-secrets')}\nplugins:\n  github: {}\n  irc: {}\n`);
    const missing = byoci(['secrets', 'check'], {}, config);
    assert.equal(missing.code, 1, missing.stderr);
    assert.match(missing.stdout, /^github\/token +required +MISSING: byoci secrets set github\/token, or BYOCI_SECRET_GITHUB_TOKEN/m);
    assert.match(missing.stdout, /^github\/webhook-secret +optional +MISSING/m);
    assert.match(missing.stdout, /^irc\/password +optional +MISSING/m);
    const set = byoci(['--json', 'secrets', 'check'], { BYOCI_SECRET_GITHUB_TOKEN: 'ghp_check_value' }, config);
    assert.equal(set.code, 0, set.stderr);
    const report = JSON.parse(set.stdout) as { secrets: { key: string; status: string; store: string | null }[] };
    assert.deepEqual(report.secrets.find((s) => s.key === 'github/token'), { ...report.secrets.find((s) => s.key === 'github/token'), status: 'set', store: 'env' });
    assert.ok(!set.stdout.includes('ghp_check_value'));
  });
});

describe('byoci secrets with the keyring store (child process, real Secret Service)', suiteNeeds('Secret Service', missingSecretService()), () => {
  let service: SecretService;
  let config: string;
  before(async () => {
    service = await startSecretService();
    config = join(home, 'keyring.yaml');
    await writeFile(config, 'secrets:\n  order: [keyring]\n  service: byoci-cli-test\n');
  });
  after(async () => service?.stop());

  function byoci(args: string[], input?: string) {
    const r = spawnSync(CLI[0]!, [...CLI.slice(1), '-c', config, 'secrets', ...args], {
      cwd: ROOT,
      env: { ...childEnv(), ...service.env },
      encoding: 'utf8',
      ...(input !== undefined ? { input } : {}),
    });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  test('set, get, list and delete through the Secret Service', () => {
    const key = '-----BEGIN OPENSSH ' + 'PRIVATE KEY-----\nAAAAkeyring\n-----END OPENSSH PRIVATE KEY-----\n';
    const set = byoci(['set', 'git/ssh-key'], key);
    assert.equal(set.code, 0, set.stderr);
    assert.equal(set.stderr, 'git/ssh-key: stored in keyring\n');
    assert.equal(byoci(['get', 'git/ssh-key']).stdout, 'git/ssh-key: set (keyring); add --reveal to print the value\n');
    assert.equal(byoci(['get', '--reveal', 'git/ssh-key']).stdout, key, 'a key comes back byte for byte');
    assert.equal(byoci(['list']).stdout, 'keyring: git/ssh-key\n');
    const del = byoci(['delete', 'git/ssh-key']);
    assert.equal(del.code, 0, del.stderr);
    assert.equal(byoci(['get', 'git/ssh-key']).code, 1);
  });

  test('without a Secret Service the keyring store fails loudly with the fix', () => {
    const r = spawnSync(CLI[0]!, [...CLI.slice(1), '-c', config, 'secrets', 'get', 'git/ssh-key'], {
      cwd: ROOT,
      env: { ...childEnv(), DBUS_SESSION_BUS_ADDRESS: `unix:path=${join(home, 'no-bus')}` },
      encoding: 'utf8',
    });
    assert.equal(r.status, 3);
    assert.match(r.stderr, /keyring store: the Secret Service is unavailable or locked .*remove keyring from secrets\.order/);
  });
});

describe('byoci secrets: bad input (child process)', () => {
  test('--store naming no store is a usage error (exit 2) naming it; nothing is read or stored', async () => {
    for (const args of [['set', '--store', 'vault', 'git/ssh-key'], ['delete', 'git/ssh-key', '--store', 'vault']]) {
      const r = spawnSync(CLI[0]!, [...CLI.slice(1), '-c', configFile, 'secrets', ...args], { cwd: ROOT, env: childEnv(), input: 'not-stored\n', encoding: 'utf8' });
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, /^byoci: --store must be one of env, file, keyring, not "vault"\nhint: .*--help.*\ncode: usage\n$/, r.stderr);
    }
    await assert.rejects(stat(join(secretsDir, 'git', 'ssh-key')), { code: 'ENOENT' });
  });

  test('a bad secrets section is a configuration error naming the option', async () => {
    const bad = join(home, 'bad.yaml');
    await writeFile(bad, 'secrets:\n  order: [env, vault]\n');
    const r = spawnSync(CLI[0]!, [...CLI.slice(1), '-c', bad, 'secrets', 'list'], { cwd: ROOT, env: childEnv(), encoding: 'utf8' });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /secrets\.order\.1: Invalid enum value\. Expected 'env' \| 'file' \| 'keyring', received 'vault'/);
    assert.ok(r.stderr.includes(bad), r.stderr);
  });
});
