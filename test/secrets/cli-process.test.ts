/**
 * `byoci secrets set` as a user runs it: a real child process of the CLI. The value never
 * appears in any process's command line or environment (what `ps` and shell history
 * show), and on a terminal it is not echoed.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { missingCommands, needs } from '../support/components.js';

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
    await sleep(1500); // node + tsx start-up: the CLI is now waiting on stdin
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

  test('on a terminal the prompt hides the typed value', async (t) => {
    if (!needs(t, 'script (util-linux)', missingCommands('script'))) return;
    const canary = `typed-${randomBytes(8).toString('hex')}`;
    const command = [...CLI, '-c', configFile, 'secrets', 'set', 'irc/password'].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
    // script(1) gives the CLI a pseudo-terminal; everything it displays comes back on stdout.
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
    child.stdin.write(`${canary}\r`);
    await new Promise<void>((r) => child.stdout.on('data', () => screen.includes('stored in') && r()));
    child.stdin.end();
    assert.equal(await exited, 0, screen);
    assert.match(screen, /Value of irc\/password \(input hidden, Enter to finish\): /);
    assert.match(screen, /irc\/password: stored in file/);
    assert.ok(!screen.includes(canary), `the terminal showed the value: ${JSON.stringify(screen)}`);
    assert.equal(await readFile(join(secretsDir, 'irc', 'password'), 'utf8'), canary);
  });
});
