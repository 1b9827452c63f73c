/**
 * Running tests in a real bwrap sandbox: exit codes and phases, streaming, timeouts,
 * artefacts, backend selection.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { suiteNeeds } from '../../support/components.js';
import { BWRAP_MISSING, descendants, makeSpec, procStat, runSpec, sandbox, type Sandbox } from './support.js';

describe('bwrap backend: running tests', suiteNeeds('bwrap', BWRAP_MISSING), () => {
  let box: Sandbox;
  before(async () => {
    box = await sandbox();
  });
  after(() => box?.cleanup());

  test('a passing command gives exit code 0 in the test phase, from the tree', async () => {
    writeFileSync(join(box.dir, 'hello.txt'), 'from the merged tree\n');
    const { result, stdout } = await runSpec(box, makeSpec({ command: ['sh', '-c', 'pwd; cat hello.txt'] }));
    assert.ok(result);
    assert.equal(result.backend, 'bwrap');
    assert.equal(result.exitCode, 0);
    assert.equal(result.phase, 'test');
    assert.equal(result.timedOut, undefined);
    assert.deepEqual(stdout, ['/workspace', 'from the merged tree']);
  });

  test('a failing command keeps its exit code and the tail holds its last lines', async () => {
    const { result } = await runSpec(box, makeSpec({ command: ['sh', '-c', 'echo "FAIL: test_foo"; echo boom >&2; exit 3'] }));
    assert.ok(result);
    assert.equal(result.exitCode, 3);
    assert.equal(result.phase, 'test');
    assert.match(result.outputTail, /FAIL: test_foo/);
    assert.match(result.outputTail, /boom/);
  });

  test('a command killed by a signal reports 128+signal', async () => {
    const { result } = await runSpec(box, makeSpec({ command: ['sh', '-c', 'kill -9 $$'] }));
    assert.equal(result?.exitCode, 137);
  });

  test('a failing setup stops the run in the setup phase; the command never runs', async () => {
    const { result } = await runSpec(
      box,
      makeSpec({ setup: ['sh', '-c', 'echo fetching; exit 5'], command: ['sh', '-c', 'touch command-ran'] }),
    );
    assert.equal(result?.exitCode, 5);
    assert.equal(result?.phase, 'setup');
    assert.equal(existsSync(join(box.dir, 'command-ran')), false);
  });

  test('setup then command: both see the tree, writes land in the tree; HOME is a fresh tmpfs in each phase', async () => {
    const { result, stdout } = await runSpec(
      box,
      makeSpec({
        setup: ['sh', '-c', 'echo dep > vendored.txt && echo cached > "$HOME/cache"'],
        command: ['sh', '-c', 'cat vendored.txt; [ -e "$HOME/cache" ] && echo home-kept || echo home-fresh; echo result > test-output.txt'],
      }),
    );
    assert.equal(result?.exitCode, 0, result?.outputTail);
    assert.deepEqual(stdout, ['dep', 'home-fresh']);
    assert.equal(readFileSync(join(box.dir, 'test-output.txt'), 'utf8'), 'result\n');
  });

  test('HOME inside is a tmpfs (not a host directory), and what is written to it never appears on the host', async () => {
    // The command writes a canary to HOME and waits until the test has looked for it on the
    // host, while the sandbox still runs (the run's scratch directory is removed afterwards).
    const canary = `canary-${process.pid}-${Date.now()}`;
    const go = join(box.dir, 'go-home');
    const found: string[] = [];
    const { result, stdout } = await runSpec(
      box,
      makeSpec({
        timeout: 30,
        command: [
          'sh',
          '-c',
          `awk '$5 == "/home/byoci" { print "mount", $(NF-2) }' /proc/self/mountinfo; echo secret > "$HOME/${canary}" && echo written; while [ ! -e go-home ]; do sleep 0.05; done`,
        ],
      }),
      {
        onLine(_stream, line) {
          if (line !== 'written') return;
          const r = spawnSync('find', [box.harness.run.workdir, box.dir, '-name', canary], { encoding: 'utf8' });
          found.push(...r.stdout.split('\n').filter(Boolean));
          writeFileSync(go, '');
        },
      },
    );
    assert.equal(result?.exitCode, 0, result?.outputTail);
    assert.deepEqual(stdout, ['mount tmpfs', 'written']);
    assert.deepEqual(found, [], 'the canary written to HOME is nowhere on the host');
  });

  test('output streams line by line, in order, while the command runs', async () => {
    // The command waits for a file the test creates only when it has seen the first line:
    // without streaming it would hang until the timeout.
    const go = join(box.dir, 'go');
    const { result, stdout } = await runSpec(
      box,
      makeSpec({
        timeout: 30,
        command: ['sh', '-c', 'for i in 1 2 3; do echo line-$i; done; while [ ! -e go ]; do sleep 0.05; done; echo after-go'],
      }),
      {
        onLine(_stream, line) {
          if (line === 'line-3') writeFileSync(go, '');
        },
      },
    );
    assert.equal(result?.timedOut, undefined);
    assert.equal(result?.exitCode, 0);
    assert.deepEqual(stdout, ['line-1', 'line-2', 'line-3', 'after-go']);
  });

  test('stdout and stderr lines are told apart; a last line without newline is kept', async () => {
    // Each line waits for the test to have seen the previous one: the order is the output's.
    const wait = (f: string) => `while [ ! -e ${f} ]; do sleep 0.02; done`;
    const { lines } = await runSpec(
      box,
      makeSpec({ command: ['sh', '-c', `echo out; ${wait('seen-out')}; echo err >&2; ${wait('seen-err')}; printf tail`] }),
      {
        onLine(_stream, line) {
          writeFileSync(join(box.dir, `seen-${line}`), '');
        },
      },
    );
    assert.deepEqual(lines, [
      { stream: 'stdout', line: 'out' },
      { stream: 'stderr', line: 'err' },
      { stream: 'stdout', line: 'tail' },
    ]);
  });

  test('no-output timeout kills a silent run and everything it started', async () => {
    const { result, stdout } = await runSpec(
      box,
      makeSpec({ noOutputTimeout: 1, timeout: 120, command: ['sh', '-c', 'echo started; sleep 300 & sleep 301; echo never'] }),
    );
    assert.equal(result?.timedOut, 'no-output');
    assert.equal(result?.phase, 'test');
    assert.notEqual(result?.exitCode, 0);
    assert.deepEqual(stdout, ['started']);
    const left = descendants(process.pid).filter((pid) => procStat(pid)?.comm === 'sleep');
    assert.deepEqual(left, [], 'no sleep process of the sandbox survives');
  });

  test('total timeout kills a run that keeps printing', async () => {
    const { result, stdout } = await runSpec(
      box,
      makeSpec({ noOutputTimeout: 60, timeout: 2, command: ['sh', '-c', 'while true; do echo tick; sleep 0.1; done'] }),
    );
    assert.equal(result?.timedOut, 'total');
    assert.notEqual(result?.exitCode, 0);
    assert.ok(stdout.length > 1 && stdout.every((l) => l === 'tick'));
  });

  test('the total timeout covers setup and command together', async () => {
    const { result } = await runSpec(
      box,
      makeSpec({ noOutputTimeout: 60, timeout: 2, setup: ['sh', '-c', 'echo setup; sleep 300'], command: ['touch', 'command-ran-2'] }),
    );
    assert.equal(result?.timedOut, 'total');
    assert.equal(result?.phase, 'setup');
    assert.equal(existsSync(join(box.dir, 'command-ran-2')), false);
  });

  test('artefacts are copied back; symlinks (which could point at host secrets) are not', async () => {
    const script = [
      'mkdir -p out/sub',
      'echo "<testsuite/>" > out/report.xml',
      'echo nested > out/sub/a.txt',
      'ln -s /etc/hostname out/host-link',
      'ln -s /etc out/etc-link',
      'ln -s /etc leak-dir',
      'echo log > build.log',
    ].join(' && ');
    const { result } = await runSpec(
      box,
      makeSpec({ command: ['sh', '-c', `${script}; exit 1`], artefacts: ['out', 'build.log', 'leak-dir/hostname', 'missing.txt'] }),
    );
    assert.equal(result?.exitCode, 1, 'artefacts are copied from failing runs too');
    assert.deepEqual(result?.artefacts, [join(box.artefactsDir, 'out'), join(box.artefactsDir, 'build.log')]);
    assert.equal(readFileSync(join(box.artefactsDir, 'out/report.xml'), 'utf8'), '<testsuite/>\n');
    assert.equal(readFileSync(join(box.artefactsDir, 'out/sub/a.txt'), 'utf8'), 'nested\n');
    assert.equal(readFileSync(join(box.artefactsDir, 'build.log'), 'utf8'), 'log\n');
    assert.equal(existsSync(join(box.artefactsDir, 'out/host-link')), false);
    assert.equal(existsSync(join(box.artefactsDir, 'out/etc-link')), false);
    assert.equal(existsSync(join(box.artefactsDir, 'leak-dir')), false);
  });

  test('a symlink planted in the tree before the run is not followed either', async () => {
    mkdirSync(join(box.dir, 'reports2'));
    symlinkSync('/etc/passwd', join(box.dir, 'reports2', 'junit.xml'));
    const { result } = await runSpec(box, makeSpec({ artefacts: ['reports2/junit.xml'] }));
    assert.deepEqual(result?.artefacts, []);
  });

  test('backend auto is taken when bwrap works; other backends are left to their plugins', async () => {
    const auto = await runSpec(box, makeSpec({ backend: 'auto', command: ['sh', '-c', 'echo auto'] }));
    assert.equal(auto.result?.backend, 'bwrap');
    assert.deepEqual(auto.stdout, ['auto']);
    for (const backend of ['lxd', 'unsafe-host']) {
      const other = await runSpec(box, makeSpec({ backend, command: ['touch', `ran-${backend}`] }));
      assert.equal(other.result, undefined);
      assert.equal(existsSync(join(box.dir, `ran-${backend}`)), false);
    }
  });

  test('a run makes no directory on the host: the run’s workdir is the same during and after the run', async () => {
    const workdir = box.harness.run.workdir;
    mkdirSync(workdir, { recursive: true });
    const before = readdirSync(workdir).sort();
    const go = join(box.dir, 'go-scratch');
    let during: string[] | undefined;
    const { result } = await runSpec(
      box,
      makeSpec({ setup: ['sh', '-c', 'echo x > "$HOME/f"'], command: ['sh', '-c', 'echo x > "$HOME/f"; echo running; while [ ! -e go-scratch ]; do sleep 0.05; done'] }),
      {
        onLine(_stream, line) {
          if (line !== 'running') return;
          during = readdirSync(workdir).sort();
          writeFileSync(go, '');
        },
      },
    );
    assert.equal(result?.exitCode, 0, result?.outputTail);
    assert.deepEqual(during, before, 'nothing made for HOME or scratch while the sandbox runs');
    assert.deepEqual(readdirSync(workdir).sort(), before, 'nothing left behind');
  });
});

describe('bwrap backend: operator mistakes and secrets', suiteNeeds('bwrap', BWRAP_MISSING), () => {
  test('a sandbox bwrap cannot set up is an error for the operator, not a test failure', async () => {
    const box = await sandbox({ roBind: ['/nonexistent/toolchain'] });
    try {
      await assert.rejects(runSpec(box, makeSpec()), /bwrap could not start the test command \(exit 1\): bwrap: Can't find source path \/nonexistent\/toolchain/);
    } finally {
      box.cleanup();
    }
  });

  test('a command that does not exist in the sandbox is an error too, naming the phase', async () => {
    const box = await sandbox();
    try {
      await assert.rejects(
        runSpec(box, makeSpec({ setup: ['/opt/no-such-tool', 'install'] })),
        /bwrap could not start the setup command \(exit 1\): bwrap: execvp \/opt\/no-such-tool: No such file or directory/,
      );
    } finally {
      box.cleanup();
    }
  });

  test('registered secrets are masked in streamed lines and in the output tail', async () => {
    const box = await sandbox();
    try {
      box.harness.redactor.add('hunter2-launchpad-token');
      const { result, stdout } = await runSpec(box, makeSpec({ command: ['sh', '-c', 'echo "token=hunter2-launchpad-token"; exit 1'] }));
      assert.deepEqual(stdout, ['token=[REDACTED]']);
      assert.equal(result?.outputTail, 'token=[REDACTED]');
    } finally {
      box.cleanup();
    }
  });
});

describe('bwrap backend: bwrap unavailable', () => {
  test('auto passes (undefined) and an explicit bwrap backend fails naming the fix', async () => {
    const box = await sandbox({ bwrap: '/nonexistent/bwrap' });
    try {
      const auto = await runSpec(box, makeSpec({ backend: 'auto' }));
      assert.equal(auto.result, undefined);
      await assert.rejects(runSpec(box, makeSpec({ backend: 'bwrap' })), /not installed.*apt-get install bubblewrap/);
    } finally {
      box.cleanup();
    }
  });
});
