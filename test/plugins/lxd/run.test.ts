/**
 * Running tests in a real LXD container (the daemon .ci/setup.d/20-lxd.sh starts): exit
 * codes and phases, streaming, timeouts, the memory limit, isolation (no network, scrubbed
 * environment, tree ownership), artefacts, and that no container is left behind.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { TestPayload } from '../../../hooks/index.js';
import { phaseEnvironment } from '../../../plugins/lxd/runner.js';
import { lxdConfigSchema } from '../../../plugins/lxd/schema.js';
import { suiteNeeds } from '../../support/components.js';
import { instancesWithPrefix, lxdMissing } from '../../support/lxd.js';
import { commandLines, lxdBox, makeSpec, type Box } from './support.js';

const MISSING = await lxdMissing();

describe('lxd backend: the environment of a phase (no daemon)', () => {
  test('an `env` name of Object.prototype (toString, constructor) that the slave does not set is not passed', () => {
    // process.env[name] found the inherited function and put it in the exec request's environment.
    const spec = makeSpec({ env: ['toString', 'constructor', 'hasOwnProperty'], setEnv: { FIXED: 'yes' } });
    const env = phaseEnvironment({ spec } as Pick<TestPayload, 'spec'> as TestPayload, lxdConfigSchema.parse({}));
    assert.deepEqual(Object.keys(env).sort(), ['FIXED', 'HOME', 'LANG', 'PATH']);
  });
});

describe('lxd backend: running tests in a container', suiteNeeds('lxd', MISSING), () => {
  let box: Box;
  before(async () => {
    box = await lxdBox({}, 'run');
  });
  after(async () => {
    await box?.cleanup();
  });

  test('a passing command gives exit code 0 in the test phase, run in the merged tree as the test user', async () => {
    const { result, stdout } = await box.run(makeSpec({ command: ['sh', '-c', 'pwd; id -u; cat hello.txt'] }));
    assert.ok(result);
    assert.equal(result.backend, 'lxd');
    assert.equal(result.exitCode, 0);
    assert.equal(result.phase, 'test');
    assert.equal(result.timedOut, undefined);
    assert.deepEqual(commandLines(stdout), ['/src', '1000', 'from the merged tree']);
    const spares = await box.settled();
    assert.deepEqual(await instancesWithPrefix(box.prefix), spares, 'the container is deleted; only the warm spare is left');
  });

  test('a failing command keeps its exit code; the tail holds its last lines', async () => {
    const { result } = await box.run(makeSpec({ command: ['sh', '-c', 'echo "FAIL: test_foo"; echo boom >&2; exit 3'] }));
    assert.equal(result?.exitCode, 3);
    assert.equal(result?.phase, 'test');
    // stdout and stderr travel on separate websockets: their relative order is not kept.
    assert.match(result?.outputTail ?? '', /FAIL: test_foo/);
    assert.match(result?.outputTail ?? '', /boom/);
  });

  test('a command killed by a signal reports 128+signal', async () => {
    const { result } = await box.run(makeSpec({ command: ['sh', '-c', 'kill -9 $$'] }));
    assert.equal(result?.exitCode, 137);
    assert.equal(result?.oomKilled, undefined, 'a plain SIGKILL is not an OOM kill');
  });

  test('a command missing from the tree (or not executable) is a failure with 127 (126), not a crash', async () => {
    writeFileSync(join(box.dir, 'not-executable.sh'), '#!/bin/sh\necho hi\n', { mode: 0o644 });
    const missing = await box.run(makeSpec({ command: ['./check.sh'] }));
    assert.equal(missing.result?.exitCode, 127);
    assert.ok(missing.stderr.includes('byoci-lxd: ./check.sh: command not found (exit code 127)'), missing.stderr.join('\n'));
    const denied = await box.run(makeSpec({ command: ['./not-executable.sh'] }));
    assert.equal(denied.result?.exitCode, 126);
    assert.match(denied.result?.outputTail ?? '', /not-executable.sh: command not executable \(exit code 126\)/);
  });

  test('a failing setup ends the run in the setup phase; the test command never runs', async () => {
    const { result, stdout } = await box.run(
      makeSpec({ setup: ['sh', '-c', 'echo fetching; exit 5'], command: ['sh', '-c', 'echo test-ran'] }),
    );
    assert.equal(result?.exitCode, 5);
    assert.equal(result?.phase, 'setup');
    assert.deepEqual(commandLines(stdout), ['fetching']);
  });

  test('setup then test share the writable tree; the slave checkout is neither written nor re-owned', async () => {
    const before = statSync(join(box.dir, 'hello.txt'));
    const { result, stdout } = await box.run(
      makeSpec({
        setup: ['sh', '-c', 'echo vendored > dep.txt && echo more >> hello.txt'],
        command: ['sh', '-c', 'cat dep.txt hello.txt; mkdir -p build && touch build/out && echo wrote'],
      }),
    );
    assert.equal(result?.exitCode, 0);
    assert.deepEqual(commandLines(stdout), ['vendored', 'from the merged tree', 'more', 'wrote']);
    assert.equal(existsSync(join(box.dir, 'dep.txt')), false);
    assert.equal(existsSync(join(box.dir, 'build')), false);
    const after = statSync(join(box.dir, 'hello.txt'));
    assert.equal(after.uid, before.uid);
    assert.equal(after.size, before.size);
  });

  test('output streams line by line while the command runs, stdout and stderr apart', async () => {
    // The command waits for a file that the test only creates once it has received the
    // first line: buffered output would leave it waiting until the timeout.
    const { result, all } = await box.run(
      makeSpec({
        command: ['sh', '-c', 'echo first; echo warn >&2; while [ ! -e go ]; do sleep 0.1; done; printf "second\\nno newline"'],
        timeout: 60,
      }),
      {
        onLine: (stream, line) => {
          if (stream !== 'stdout' || line !== 'first') return;
          // The staged tree exists while the run goes on.
          writeFileSync(join(box.stagedTree(), 'go'), '');
        },
      },
    );
    assert.equal(result?.timedOut, undefined);
    assert.equal(result?.exitCode, 0);
    const mine = all.filter(([, l]) => !l.startsWith('byoci-lxd: '));
    assert.deepEqual(mine.filter(([s]) => s === 'stdout').map(([, l]) => l), ['first', 'second', 'no newline']);
    assert.deepEqual(mine.filter(([s]) => s === 'stderr').map(([, l]) => l), ['warn']);
  });

  test('no-output timeout: a silent command is killed and the output says so', async () => {
    const { result, stderr } = await box.run(makeSpec({ command: ['sh', '-c', 'echo started; sleep 300'], noOutputTimeout: 2, timeout: 120 }));
    assert.equal(result?.timedOut, 'no-output');
    assert.notEqual(result?.exitCode, 0);
    assert.ok(stderr.some((l) => /no output for 2 s/.test(l)), stderr.join('\n'));
    assert.match(result?.outputTail ?? '', /started[\s\S]*no-output timeout/);
    const spares = await box.settled();
    assert.deepEqual(await instancesWithPrefix(box.prefix), spares);
  });

  test('total timeout: a command that keeps printing is killed after the total time, setup included', async () => {
    const { result, stderr } = await box.run(
      makeSpec({
        setup: ['sh', '-c', 'echo setup; sleep 1'],
        command: ['sh', '-c', 'while :; do echo tick; sleep 0.3; done'],
        timeout: 3,
        noOutputTimeout: 60,
      }),
    );
    assert.equal(result?.timedOut, 'total');
    assert.equal(result?.phase, 'test');
    assert.ok(stderr.some((l) => /total timeout of 3 s/.test(l)));
    const spares = await box.settled();
    assert.deepEqual(await instancesWithPrefix(box.prefix), spares);
  });

  test('exceeding the memory limit is an OOM kill, reported as such', async () => {
    const { result } = await box.run(
      makeSpec({
        command: ['perl', '-e', 'my @a; for (1..64) { push @a, "x" x (16*1024*1024); print "allocated $_\\n" }'],
        limits: { memory: '128MiB' },
      }),
    );
    assert.equal(result?.exitCode, 137);
    assert.equal(result?.oomKilled, true);
    assert.equal(result?.memoryLimit, '128MiB');
    assert.match(result?.outputTail ?? '', /memory limit \(128MiB\)/);
  });

  test('no network device but lo, and lo is up from the first command on', async () => {
    const { result, stdout } = await box.run(
      makeSpec({ command: ['sh', '-c', 'ls /sys/class/net; ip -o link | cut -d: -f2; ip -o link show lo | grep -o "<[^>]*>"'] }),
    );
    assert.equal(result?.exitCode, 0);
    const lines = commandLines(stdout).map((l) => l.trim());
    assert.deepEqual(lines.slice(0, 2), ['lo', 'lo']);
    assert.match(lines[2] ?? '', /\bUP\b/);
  });

  test('a test can serve and connect on 127.0.0.1 inside the container', async () => {
    const { result, stdout } = await box.run(
      makeSpec({
        command: [
          'node',
          '-e',
          "const s=require('net').createServer(c=>c.end('pong')).listen(0,'127.0.0.1',()=>{require('net').connect(s.address().port,'127.0.0.1').on('data',d=>{console.log(String(d));s.close()})})",
        ],
      }),
    );
    assert.equal(result?.exitCode, 0, result?.outputTail);
    assert.deepEqual(commandLines(stdout), ['pong']);
  });

  test('the environment holds only the listed variables; /proc/1/environ has no credentials', async () => {
    process.env.BYOCI_LXD_TEST_SECRET = 'hunter2-not-for-tests';
    process.env.BYOCI_LXD_TEST_LISTED = 'listed-value';
    const root = await lxdBox({ user: 0, group: 0 }, 'env');
    try {
      const { result, stdout } = await root.run(
        makeSpec({
          env: ['BYOCI_LXD_TEST_LISTED', 'BYOCI_LXD_TEST_UNSET'],
          setEnv: { CI: 'true' },
          command: ['sh', '-c', 'env | sort; echo ---; tr "\\0" "\\n" < /proc/1/environ | sort'],
        }),
      );
      assert.equal(result?.exitCode, 0);
      const [env, init] = commandLines(stdout).join('\n').split('\n---\n');
      const names = (env ?? '').split('\n').map((l) => l.split('=')[0]);
      // PWD comes from the shell; USER=root and container=lxc from LXD itself.
      assert.deepEqual(names, ['BYOCI_LXD_TEST_LISTED', 'CI', 'HOME', 'LANG', 'PATH', 'PWD', 'USER', 'container']);
      assert.match(env ?? '', /^BYOCI_LXD_TEST_LISTED=listed-value$/m);
      const everything = stdout.join('\n');
      assert.doesNotMatch(everything, /hunter2|SSH_AUTH_SOCK|BYOCI_SECRET/);
      assert.ok(init !== undefined && !/hunter2|TOKEN|SECRET|PASSWORD/i.test(init), init);
    } finally {
      delete process.env.BYOCI_LXD_TEST_SECRET;
      delete process.env.BYOCI_LXD_TEST_LISTED;
      await root.cleanup();
    }
  });

  test('artefacts are copied back; symlinks (which could point at host secrets) are not', async () => {
    const { result } = await box.run(
      makeSpec({
        command: [
          'sh',
          '-c',
          'mkdir -p reports/sub && echo "<testsuite/>" > reports/junit.xml && echo sub > reports/sub/subunit.bin && ' +
            'ln -s /etc/shadow reports/shadow && ln -s /etc reports/etc && echo x > other.xml',
        ],
        artefacts: ['reports', '*.xml', 'missing.txt'],
      }),
    );
    assert.equal(result?.exitCode, 0);
    const copied = [...(result?.artefacts ?? [])].sort();
    assert.deepEqual(copied, [
      join(box.artefactsDir, 'other.xml'),
      join(box.artefactsDir, 'reports/junit.xml'),
      join(box.artefactsDir, 'reports/sub/subunit.bin'),
    ]);
    assert.equal(await readFile(join(box.artefactsDir, 'reports/junit.xml'), 'utf8'), '<testsuite/>\n');
    assert.equal(existsSync(join(box.artefactsDir, 'reports/shadow')), false);
    assert.equal(existsSync(join(box.artefactsDir, 'reports/etc')), false);
    assert.ok(box.harness.lines.some((l) => /artefact not copied.*reports\/shadow: a symlink/.test(l)));
  });

  test('a symlink planted in the slave tree before the run is not copied back as an artefact', async () => {
    mkdirSync(join(box.dir, 'planted'), { recursive: true });
    symlinkSync('/etc/hostname', join(box.dir, 'planted', 'junit.xml'));
    const { result } = await box.run(makeSpec({ artefacts: ['planted'] }));
    assert.deepEqual(result?.artefacts.filter((p) => p.includes('planted')), []);
  });

  test('the container is named <prefix>-<run id>[-n] and is gone afterwards; nothing staged is left', async () => {
    const workdir = box.harness.run.workdir;
    let seen: string[] = [];
    const { result, stdout } = await box.run(makeSpec({ command: ['sh', '-c', 'hostname; echo ready; while [ ! -e go ]; do sleep 0.1; done'] }), {
      onLine: (_stream, line) => {
        if (line !== 'ready') return;
        void instancesWithPrefix(box.prefix).then((names) => {
          seen = names;
          writeFileSync(join(box.stagedTree(), 'go'), '');
        });
      },
    });
    assert.equal(result?.exitCode, 0);
    const [mine] = commandLines(stdout);
    assert.ok(seen.includes(mine!), `${mine} is listed while it runs: ${seen.join(', ')}`);
    for (const name of seen) assert.match(name, new RegExp(`^${box.prefix}-${box.harness.run.id.toLowerCase()}(-\\d+)?$`));
    await box.shutdown();
    assert.deepEqual(await instancesWithPrefix(box.prefix), [], 'after shutdown: neither the container nor the spare');
    assert.deepEqual(readdirSync(workdir).filter((d) => d.startsWith('byoci-lxd-')), [], 'nothing staged is left');
  });
});
