/**
 * The unshare backend against the real util-linux unshare: the sandbox's network, its
 * writable places, its pid namespace, its environment, the exit code and output tail, and
 * the total timeout. A few small sandboxes only (the machine is shared).
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { ProjectConfig, TestResult, TestSpec } from '../../../hooks/index.js';
import unsharePlugin, { probeUnshare } from '../../../plugins/unshare/index.js';
import { unshareArgv } from '../../../plugins/unshare/setup.js';
import { missingCommands } from '../../support/components.js';
import { applyPlugins, type Harness } from '../../support/harness.js';

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
  const layout = { unshare: 'unshare', root: '/r', tree: '/t', treePath: '/workspace', home: '/h', network: false, etc: [], env: { PATH: '/usr/bin' }, userns: true };
  const argv = unshareArgv(layout, ['make', 'check']);
  assert.deepEqual(argv.slice(0, 4), ['unshare', '--user', '--map-root-user', '--net']);
  assert.deepEqual(argv.slice(-3), ['PATH=/usr/bin', 'make', 'check']);
  assert.ok(!unshareArgv({ ...layout, network: true, userns: false }, ['true']).includes('--net'));
  assert.ok(!unshareArgv({ ...layout, userns: false }, ['true']).includes('--user'));
  assert.throws(() => unshareArgv(layout, ['A=b']), /contains "="/);
  assert.throws(() => unshareArgv({ ...layout, env: { 'A B': 'x' } }, ['true']), /not a valid name/);
});
