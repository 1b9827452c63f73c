import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { ProjectConfig, TestPayload, TestSpec } from '../../../hooks/index.js';
import host from '../../../plugins/host/index.js';
import { applyPlugins } from '../../support/harness.js';
import { testSpec as spec } from '../../support/spec.js';

async function runTests(testSpec: TestSpec, signal?: AbortSignal) {
  const h = await applyPlugins([{ plugin: host }]);
  const dir = mkdtempSync(join(tmpdir(), 'byoci-host-tree-'));
  const artefactsDir = mkdtempSync(join(tmpdir(), 'byoci-host-artefacts-'));
  const lines: string[] = [];
  const project: ProjectConfig = { name: 'p', targets: [], test: testSpec };
  const payload: TestPayload = {
    project,
    spec: testSpec,
    dir,
    runId: h.run.id,
    artefactsDir,
    onLine: (stream, line) => lines.push(`${stream}:${line}`),
    signal: signal ?? h.run.signal,
  };
  const result = await h.hooks.testInContainer.promise(payload);
  h.cleanup();
  return { result, lines, dir, artefactsDir, log: h.lines };
}

describe('host runner (unsafe-host)', () => {
  test('runs only with the explicit unsafe-host backend', async () => {
    const { result } = await runTests(spec({ backend: 'auto' }));
    assert.equal(result, undefined);
  });

  test('streams lines in order, reports the exit code and warns NOT ISOLATED', async () => {
    const { result, lines, log } = await runTests(spec({ command: ['sh', '-c', 'echo one; echo two >&2; printf three; exit 3'] }));
    assert.equal(result?.exitCode, 3);
    assert.equal(result?.phase, 'test');
    assert.deepEqual(lines.filter((l) => l.startsWith('stdout')), ['stdout:one', 'stdout:three']);
    assert.ok(lines.includes('stderr:two'));
    assert.match(result?.outputTail ?? '', /three/);
    assert.ok(log.some((l) => l.includes('NOT ISOLATED')));
  });

  test('a failing setup stops before the tests', async () => {
    const { result, lines } = await runTests(spec({ setup: ['sh', '-c', 'echo setting up; exit 4'], command: ['sh', '-c', 'echo never'] }));
    assert.equal(result?.exitCode, 4);
    assert.equal(result?.phase, 'setup');
    assert.ok(!lines.some((l) => l.includes('never')));
  });

  test('the environment holds only the listed variables', async () => {
    process.env.BYOCI_TEST_CANARY = 'canary-value-123';
    process.env.BYOCI_TEST_LISTED = 'listed-value';
    try {
      const { lines } = await runTests(spec({ command: ['env'], env: ['BYOCI_TEST_LISTED'], setEnv: { FIXED: 'yes' } }));
      const text = lines.join('\n');
      assert.ok(text.includes('BYOCI_TEST_LISTED=listed-value'));
      assert.ok(text.includes('FIXED=yes'));
      assert.ok(!text.includes('canary-value-123'));
    } finally {
      delete process.env.BYOCI_TEST_CANARY;
      delete process.env.BYOCI_TEST_LISTED;
    }
  });

  test('an `env` name of Object.prototype (toString, constructor) that the slave does not set is not passed', async () => {
    // process.env[name] found the inherited function: the tests saw toString=function toString() { [native code] }.
    const { lines } = await runTests(spec({ command: ['env'], env: ['toString', 'constructor', 'hasOwnProperty', 'valueOf'] }));
    assert.deepEqual(lines.filter((l) => /^stdout:(toString|constructor|hasOwnProperty|valueOf)=/.test(l)), []);
    assert.ok(lines.some((l) => l.startsWith('stdout:PATH=')), lines.join('\n'));
  });

  test('a silent run is killed by the no-output timeout, with its children', async () => {
    const marker = join(mkdtempSync(join(tmpdir(), 'byoci-host-')), 'late');
    const { result } = await runTests(
      spec({ command: ['sh', '-c', `echo start; (sleep 3; touch ${marker}) & sleep 30`], noOutputTimeout: 1 }),
    );
    assert.equal(result?.timedOut, 'no-output');
    assert.notEqual(result?.exitCode, 0);
    await new Promise((r) => setTimeout(r, 3500));
    assert.equal(existsSync(marker), false, 'the background child was killed with its process group');
  });

  test('a chatty run is killed by the total timeout', async () => {
    const { result } = await runTests(spec({ command: ['sh', '-c', 'while :; do echo tick; sleep 0.2; done'], timeout: 1, noOutputTimeout: 60 }));
    assert.equal(result?.timedOut, 'total');
  });

  test('artefacts are copied back; missing ones are skipped', async () => {
    const { result, artefactsDir } = await runTests(
      spec({ command: ['sh', '-c', 'mkdir -p reports && echo "<testsuite/>" > reports/junit.xml'], artefacts: ['reports/junit.xml', 'missing.xml'] }),
    );
    assert.equal(result?.exitCode, 0);
    assert.deepEqual(result?.artefacts, [join(artefactsDir, 'reports/junit.xml')]);
    assert.equal(readFileSync(join(artefactsDir, 'reports/junit.xml'), 'utf8').trim(), '<testsuite/>');
  });

  test('an aborted run (SIGTERM of the bot) kills the tests', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 300);
    const { result } = await runTests(spec({ command: ['sleep', '30'] }), controller.signal);
    assert.notEqual(result?.exitCode, 0);
  });
});
