/**
 * The unshare backend against the real util-linux unshare: the sandbox's network, its
 * writable places, its pid namespace, its environment, the exit code and output tail, and
 * the total timeout. A few small sandboxes only (the machine is shared).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chownSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { ProjectConfig, TestResult, TestSpec } from '../../../hooks/index.js';
import unsharePlugin, { probeUnshare } from '../../../plugins/unshare/index.js';
import { unshareArgv } from '../../../plugins/unshare/setup.js';
import { ROOT } from '../../support/cli.js';
import { missingCommands, needs, suiteNeeds } from '../../support/components.js';
import { useTestAgent } from '../../support/ssh-agent.js';
import { applyPlugins, type Harness } from '../../support/harness.js';
import { descendants, procStat } from '../bwrap/support.js';

const MISSING = missingCommands('unshare', 'ip', 'setpriv', 'chroot');
const probe = MISSING ? undefined : await probeUnshare('unshare', new AbortController().signal);
const skip = MISSING ?? (probe && !probe.ok ? probe.reason : false);

function spec(overrides: Partial<TestSpec> = {}): TestSpec {
  return {
    backend: 'unshare', command: ['true'], env: [], quarantine: [], setEnv: {}, timeout: 60, noOutputTimeout: 30,
    artefacts: [], network: false, setupAgent: false, limits: {}, ...overrides,
  };
}

describe('unshare backend', { skip }, () => {
  let harness: Harness;
  let root: string;
  let dir: string;
  before(async () => {
    harness = await applyPlugins([{ plugin: unsharePlugin, config: {} }]);
    root = mkdtempSync(join(tmpdir(), 'byoci-unshare-test-'));
    dir = join(root, 'tree');
    mkdirSync(dir);
    mkdirSync(join(dir, '.git'));
  });
  after(() => {
    rmSync(root, { recursive: true, force: true });
    harness.cleanup();
  });

  async function run(s: TestSpec): Promise<{ result: TestResult; stdout: string[] }> {
    const stdout: string[] = [];
    const project: ProjectConfig = { name: 'demo', targets: [{ forge: 'local', branch: { vcs: 'git', url: '/srv/demo.git', branch: 'main' }, options: {} }], test: s };
    const result = await harness.hooks.testInContainer.promise({
      project, spec: s, dir, runId: harness.run.id, artefactsDir: join(root, 'artefacts'),
      onLine(stream, line) {
        if (stream === 'stdout') stdout.push(line);
      },
      signal: harness.run.signal,
    });
    assert.ok(result, 'the unshare backend answered');
    return { result, stdout };
  }

  test('the network has only lo, and it is up; pid 1 is the command', async () => {
    const { result, stdout } = await run(spec({
      command: ['/bin/sh', '-c', 'cat /proc/net/dev | tail -n +3 | cut -d: -f1 | tr -d " "; ip -o link show lo; echo pid=$$; ls /proc | grep -c "^[0-9]"'],
    }));
    assert.equal(result.exitCode, 0, result.outputTail);
    assert.equal(result.backend, 'unshare');
    const ifaces = stdout.filter((l) => /^[a-z][a-z0-9]*$/.test(l));
    assert.deepEqual([...new Set(ifaces)], ['lo'], stdout.join('\n'));
    assert.match(stdout.join('\n'), /lo: <[^>]*\bUP\b/);
    assert.ok(stdout.includes('pid=1'), stdout.join('\n'));
    // The command is alone in its pid namespace: its /proc lists itself and ls (and grep).
    assert.ok(Number(stdout.at(-1)) <= 3, `processes seen: ${stdout.at(-1)}`);
  });

  test('only the tree, HOME and /tmp are writable; VCS metadata is read-only', async () => {
    const outside = join(root, 'outside');
    const { result, stdout } = await run(spec({
      command: ['/bin/sh', '-c', [
        'echo in > /workspace/made && echo tree-ok',
        'echo h > "$HOME/h" && echo home-ok',
        'echo t > /tmp/t && echo tmp-ok',
        `for p in /etc/byoci /usr/byoci /byoci ${outside} /workspace/.git/x; do if echo x > "$p" 2>/dev/null; then echo "WROTE $p"; else echo "denied $p"; fi; done`,
        'test -e /etc/shadow && echo SHADOW || echo no-shadow',
        'test -e /root && echo ROOT-DIR || echo no-root-dir',
      ].join('; ')],
    }));
    assert.equal(result.exitCode, 0, result.outputTail);
    for (const ok of ['tree-ok', 'home-ok', 'tmp-ok', 'no-shadow', 'no-root-dir']) assert.ok(stdout.includes(ok), `${ok}: ${stdout.join('\n')}`);
    assert.equal(stdout.filter((l) => l.startsWith('WROTE')).length, 0, stdout.join('\n'));
    assert.equal(stdout.filter((l) => l.startsWith('denied')).length, 5);
    assert.equal(readFileSync(join(dir, 'made'), 'utf8'), 'in\n');
    assert.equal(existsSync(outside), false);
    assert.equal(existsSync(join(dir, '.git', 'x')), false);
  });

  test('the environment is scrubbed: PATH, HOME and what the project passes', async () => {
    process.env.BYOCI_UNSHARE_SECRET = 'do-not-leak';
    process.env.BYOCI_UNSHARE_PASSED = 'passed';
    try {
      const { result, stdout } = await run(spec({ command: ['/usr/bin/env'], env: ['BYOCI_UNSHARE_PASSED'], setEnv: { FIXED: 'x y' } }));
      assert.equal(result.exitCode, 0, result.outputTail);
      assert.deepEqual(stdout.sort(), ['BYOCI_UNSHARE_PASSED=passed', 'FIXED=x y', 'HOME=/home/byoci', 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'].sort());
    } finally {
      delete process.env.BYOCI_UNSHARE_SECRET;
      delete process.env.BYOCI_UNSHARE_PASSED;
    }
  });

  test('the exit code and the output tail come back; a failing setup stops before the test', async () => {
    const failed = await run(spec({ command: ['/bin/sh', '-c', 'echo first; echo last >&2; exit 7'] }));
    assert.equal(failed.result.exitCode, 7);
    assert.equal(failed.result.phase, 'test');
    assert.match(failed.result.outputTail, /first\nlast/);
    const setup = await run(spec({ setup: ['/bin/sh', '-c', 'exit 3'], command: ['/bin/sh', '-c', 'echo SHOULD-NOT-RUN'] }));
    assert.equal(setup.result.exitCode, 3);
    assert.equal(setup.result.phase, 'setup');
    assert.ok(!setup.stdout.includes('SHOULD-NOT-RUN'));
  });

  test('the no-output timeout kills a silent sandbox and everything in it', async () => {
    const started = Date.now();
    const { result, stdout } = await run(spec({ command: ['/bin/sh', '-c', 'echo started; sleep 300 & sleep 301; echo never'], noOutputTimeout: 3, timeout: 120 }));
    assert.equal(result.timedOut, 'no-output');
    assert.equal(result.phase, 'test');
    assert.notEqual(result.exitCode, 0);
    assert.deepEqual(stdout, ['started']);
    assert.ok(Date.now() - started < 20_000, `took ${Date.now() - started} ms`);
    const left = descendants(process.pid).filter((pid) => procStat(pid)?.comm === 'sleep');
    assert.deepEqual(left, [], 'no sleep process of the sandbox survives');
  });

  test('HOME is a tmpfs of each phase: setup\'s HOME is gone in the test, nothing written to it reaches the host', async () => {
    const canary = `canary-${process.pid}-${Date.now()}`;
    const { result, stdout } = await run(spec({
      setup: ['/bin/sh', '-c', `echo cached > "$HOME/${canary}"`],
      command: ['/bin/sh', '-c', `awk '$5 == "/home/byoci" { print "mount", $(NF-2) }' /proc/self/mountinfo; [ -e "$HOME/${canary}" ] && echo home-kept || echo home-fresh; stat -c %a "$HOME"`],
    }));
    assert.equal(result.exitCode, 0, result.outputTail);
    assert.deepEqual(stdout, ['mount tmpfs', 'home-fresh', '700']);
    const found = spawnSync('find', [harness.run.workdir, root, '-name', canary], { encoding: 'utf8' }).stdout.trim();
    assert.equal(found, '', 'the canary is nowhere on the host');
    assert.deepEqual(readdirSync(harness.run.workdir).filter((n) => n.startsWith('unshare-')), [], 'the scratch directory is removed');
  });

  describe('setupAgent', suiteNeeds('ssh-agent', missingCommands('ssh-agent', 'ssh-add', 'ssh-keygen')), () => {
    useTestAgent('byoci-unshare-test-key');

    test('with setupAgent the setup phase can use the agent; the test phase cannot', async () => {
      const { result, stdout } = await run(spec({
        setupAgent: true,
        setup: ['/bin/sh', '-c', 'echo "setup sock=$SSH_AUTH_SOCK"; ssh-add -l | grep -o byoci-unshare-test-key'],
        command: ['/bin/sh', '-c', 'echo "test sock=${SSH_AUTH_SOCK:-none}"; ls /run/byoci 2>/dev/null | wc -l; ssh-add -l >/dev/null 2>&1; echo "ssh-add rc=$?"'],
      }));
      assert.equal(result.exitCode, 0, result.outputTail);
      assert.deepEqual(stdout, ['setup sock=/run/byoci/ssh-agent.sock', 'byoci-unshare-test-key', 'test sock=none', '0', 'ssh-add rc=2']);
    });

    test('without setupAgent the setup phase gets no agent', async () => {
      const { stdout } = await run(spec({ setup: ['/bin/sh', '-c', 'echo "sock=${SSH_AUTH_SOCK:-none}"; ssh-add -l >/dev/null 2>&1; echo "rc=$?"'] }));
      assert.deepEqual(stdout, ['sock=none', 'rc=2']);
    });
  });

  test('the total timeout kills the sandbox and everything in it', async () => {
    const marker = join(root, 'late');
    writeFileSync(join(dir, 'late.sh'), `sleep 3; echo late > /workspace/late\n`);
    const started = Date.now();
    const { result } = await run(spec({ command: ['/bin/sh', '-c', '(sh /workspace/late.sh &) ; sleep 30'], timeout: 1 }));
    assert.equal(result.timedOut, 'total');
    assert.ok(Date.now() - started < 10_000);
    await new Promise((r) => setTimeout(r, 3500));
    assert.equal(existsSync(join(dir, 'late')), false, 'the background process died with the sandbox');
    assert.equal(existsSync(marker), false);
  });
});

test('the command line: a user namespace when not root, the network shared only when asked', () => {
  const layout = { unshare: 'unshare', root: '/r', tree: '/t', treePath: '/workspace', protect: ['.git'], network: false, etc: [], env: { PATH: '/usr/bin' }, userns: true };
  const argv = unshareArgv(layout, ['make', 'check']);
  assert.deepEqual(argv.slice(0, 4), ['unshare', '--user', '--map-root-user', '--net']);
  assert.deepEqual(argv.slice(-3), ['PATH=/usr/bin', 'make', 'check']);
  assert.ok(!unshareArgv({ ...layout, network: true, userns: false }, ['true']).includes('--net'));
  assert.ok(!unshareArgv({ ...layout, userns: false }, ['true']).includes('--user'));
  assert.throws(() => unshareArgv(layout, ['A=b']), /contains "="/);
  assert.throws(() => unshareArgv({ ...layout, env: { 'A B': 'x' } }, ['true']), /not a valid name/);
});

/**
 * The unprivileged path: the bot not root, the sandbox inside a user namespace mapping root
 * to the bot's user (`--user --map-root-user`). The suite runs as root here, so the backend
 * runs in a child started as nobody (setpriv); run as another user, the child is started as is.
 */
describe('unshare backend as an unprivileged user (user namespace)', () => {
  const asRoot = process.getuid?.() === 0;
  const NOBODY = 65534;
  const drop = asRoot ? ['setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups', '--'] : [];
  const FIXTURE = join(ROOT, 'test/fixtures/unshare/run.ts');

  /** Why the unprivileged path cannot be tried here, or undefined. */
  function unavailable(): string | undefined {
    if (MISSING) return MISSING;
    if (asRoot && missingCommands('setpriv')) return 'setpriv is not installed (util-linux)';
    const readable = spawnSync(drop[0] ?? 'test', [...drop.slice(1), ...(drop.length ? ['test'] : []), '-r', FIXTURE]);
    if (readable.status !== 0) return `the unprivileged user cannot read ${FIXTURE}`;
    const tried = spawnSync(drop[0] ?? 'unshare', [...drop.slice(1), ...(drop.length ? ['unshare'] : []), '--user', '--map-root-user', '--net', '--pid', '--fork', '--mount', '--ipc', '--uts', '--', 'true'], { encoding: 'utf8' });
    if (tried.status !== 0) {
      return `the kernel refuses unprivileged user namespaces (${tried.stderr.trim() || `exit ${tried.status}`}; sysctl kernel.unprivileged_userns_clone=1, user.max_user_namespaces > 0, on Ubuntu kernel.apparmor_restrict_unprivileged_userns=0)`;
    }
    return undefined;
  }

  test('the sandbox runs in a user namespace mapping root to the bot user: only lo, pid 1, the tree writable, .git and /usr read-only, HOME a tmpfs', async (t) => {
    if (!needs(t, 'unprivileged user namespaces', unavailable())) return;
    const root = mkdtempSync(join(tmpdir(), 'byoci-unshare-unpriv-'));
    try {
      const dir = join(root, 'tree');
      mkdirSync(join(dir, '.git'), { recursive: true });
      if (asRoot) {
        for (const p of [root, dir, join(dir, '.git')]) chownSync(p, NOBODY, NOBODY);
      }
      const script = [
        'cat /proc/self/uid_map | tr -s " " | sed "s/^ //"',
        'echo "uid=$(id -u)"',
        'tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d " "',
        'echo "pid=$$"',
        'echo made > /workspace/made && echo tree-ok',
        '(echo x > /workspace/.git/x) 2>/dev/null && echo GIT-WRITTEN || echo git-ro',
        '(echo x > /usr/x) 2>/dev/null && echo USR-WRITTEN || echo usr-ro',
        'awk \'$5 == "/home/byoci" { print "home", $(NF-2) }\' /proc/self/mountinfo',
      ].join('; ');
      const said = spawnSync(drop[0] ?? process.execPath, [...drop.slice(1), ...(drop.length ? [process.execPath] : []), '--import', 'tsx', FIXTURE, dir, JSON.stringify({ command: ['/bin/sh', '-c', script] })], {
        cwd: ROOT,
        encoding: 'utf8',
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: root, TMPDIR: root },
        timeout: 120_000,
      });
      const records = said.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
      const error = records.find((r) => 'error' in r);
      assert.equal(error, undefined, `${JSON.stringify(error)}\n${said.stderr}`);
      assert.equal(said.status, 0, said.stderr);
      const verify = records.find((r) => 'verify' in r)?.verify as { problems: string[]; notes: string[] };
      assert.deepEqual(verify.problems, []);
      assert.match(verify.notes.join('\n'), /in an unprivileged user namespace/);
      const stdout = records.filter((r) => r.stream === 'stdout').map((r) => String(r.line));
      const uid = asRoot ? NOBODY : process.getuid!();
      assert.deepEqual(stdout, [`0 ${uid} 1`, 'uid=0', 'lo', 'pid=1', 'tree-ok', 'git-ro', 'usr-ro', 'home tmpfs']);
      const result = records.find((r) => 'result' in r)?.result as TestResult;
      assert.equal(result.exitCode, 0);
      assert.equal(result.backend, 'unshare');
      // Written as the bot's user, not as root: the namespace's root is only nobody outside.
      assert.equal(statSync(join(dir, 'made')).uid, uid);
      assert.equal(existsSync(join(dir, '.git', 'x')), false);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
