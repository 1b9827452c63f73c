import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TestResult, TestSpec } from '../../hooks/index.js';
import { testRejection } from '../../core/bot.js';
import { REJECTIONS, Rejection } from '../../core/errors.js';

const spec = { timeout: 3600, noOutputTimeout: 600, limits: {} } as unknown as TestSpec;
const ok: TestResult = { backend: 'x', exitCode: 0, phase: 'test', outputTail: 'tail', artefacts: [], durationMs: 1 };

test('a finished test run maps to the rejection its author needs to read', () => {
  assert.equal(testRejection(ok, spec), undefined);
  const cases: [Partial<TestResult>, string, RegExp][] = [
    [{ exitCode: 2 }, 'tests-failed', /exit code 2/],
    [{ exitCode: 1, phase: 'setup' }, 'setup-failed', /setup command failed \(exit code 1\)/],
    [{ exitCode: 137, timedOut: 'total' }, 'tests-timeout', /after 3600 s in total/],
    [{ exitCode: 137, timedOut: 'no-output' }, 'tests-silent', /printing nothing for 600 s/],
    [{ exitCode: 137, oomKilled: true, memoryLimit: '2GiB' }, 'tests-oom', /memory limit \(2GiB\)/],
  ];
  for (const [fields, code, text] of cases) {
    const rejection = testRejection({ ...ok, ...fields }, spec);
    assert.ok(rejection instanceof Rejection, code);
    assert.equal(rejection.code, code);
    assert.match(rejection.reason, text);
    assert.equal(rejection.details, 'tail', 'the output tail goes into the comment');
  }
});

test('every catalogue entry fills its placeholders', () => {
  for (const code of Object.keys(REJECTIONS) as (keyof typeof REJECTIONS)[]) {
    const fields = Object.fromEntries([...REJECTIONS[code].matchAll(/\{(\w+)\}/g)].map((m) => [m[1], `<${m[1]}>`]));
    const rejection = new Rejection(code, fields);
    assert.doesNotMatch(rejection.reason, /\{\w+\}/, code);
  }
});
