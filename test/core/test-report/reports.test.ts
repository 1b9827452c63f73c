/**
 * JUnit XML and subunit v2 reports written by the real tools (pytest --junitxml and
 * python-subunit's subunit.run, from Debian) are read into the cases a user would see.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { run } from '../../../core/process.js';
import { parseJunit, ReportError } from '../../../core/test-report/junit.js';
import { crc32, parseSubunit } from '../../../core/test-report/subunit.js';
import { describeFailures, readReports, summarise } from '../../../core/test-report/summary.js';
import { suiteNeeds } from '../../support/components.js';
import { CALC_TESTS, PYTHON, missingPythonTools } from '../../support/python.js';

function project(): string {
  const dir = mkdtempSync(join(tmpdir(), 'byoci-reports-'));
  writeFileSync(join(dir, 'test_calc.py'), CALC_TESTS);
  return dir;
}

/** python-subunit's runner: a binary subunit v2 stream on stdout. */
function subunitRun(cwd: string, ...tests: string[]): Buffer {
  const result = spawnSync(PYTHON, ['-m', 'subunit.run', ...tests], { cwd, timeout: 60_000 });
  assert.equal(result.error, undefined);
  return result.stdout;
}

describe('reports from the real tools', suiteNeeds('python test tools', missingPythonTools()), () => {
  test('pytest --junitxml: failures and errors by id, skips counted, xfail not a failure', async () => {
    const dir = project();
    const result = await run([PYTHON, '-m', 'pytest', '-q', '-p', 'no:cacheprovider', '--junitxml=reports/junit.xml'], { cwd: dir, reject: false });
    assert.equal(result.exitCode, 1, result.stdout);
    const reports = await readReports([join(dir, 'reports')]);
    assert.equal(reports.length, 1);
    const summary = summarise(reports)!;
    assert.deepEqual(summary.failures.sort(), ['test_calc.CalcTest.test_err', 'test_calc.CalcTest.test_sub']);
    assert.equal(summary.total, 5);
    assert.equal(summary.failed, 2);
    assert.equal(summary.skipped, 2, 'pytest writes xfail as <skipped type="pytest.xfail">');
    assert.match(describeFailures(summary), /^2 of 5 failed: test_calc\.CalcTest\.test_(err|sub), test_calc\.CalcTest\.test_(err|sub)$/);
  });

  test('subunit.run (subunit v2): the same suite, same ids; non-subunit bytes around packets are skipped', async () => {
    const dir = project();
    const stream = subunitRun(dir, 'test_calc');
    assert.equal(stream[0], 0xb3, 'a subunit v2 stream');
    mkdirSync(join(dir, 'reports'));
    // A test printing on the same stream: text before, between and after packets.
    const mixed = Buffer.concat([Buffer.from('warming up\n'), stream.subarray(0, 40), stream.subarray(40)]);
    writeFileSync(join(dir, 'reports', 'run.subunit'), Buffer.concat([mixed, Buffer.from('\nbye \xb3 \n')]));
    const cases = parseSubunit(stream);
    const last = new Map(cases.map((c) => [c.id, c.status]));
    assert.deepEqual(Object.fromEntries([...last].sort()), {
      'test_calc.CalcTest.test_add': 'pass',
      'test_calc.CalcTest.test_err': 'fail',
      'test_calc.CalcTest.test_mul': 'skip',
      'test_calc.CalcTest.test_sub': 'fail',
      'test_calc.CalcTest.test_xfail': 'pass',
    });
    const summary = summarise(await readReports([join(dir, 'reports')]))!;
    assert.equal(summary.total, 5);
    assert.deepEqual(summary.failures.sort(), ['test_calc.CalcTest.test_err', 'test_calc.CalcTest.test_sub']);
  });

  test('a subunit packet with a broken checksum is skipped, not misread', async () => {
    const dir = project();
    const stream = subunitRun(dir, 'test_calc.CalcTest.test_sub');
    assert.ok(parseSubunit(stream).some((c) => c.status === 'fail'));
    const broken = Buffer.from(stream);
    // Flip a byte of the test id in every packet: every CRC now disagrees.
    for (let i = 0; i < broken.length; i++) if (broken[i] === 0x5f /* _ */) broken[i] = 0x2d;
    assert.deepEqual(parseSubunit(broken), []);
  });
});

describe('junit edge cases (hand-written, shapes from Maven surefire and node:test)', () => {
  test('nested suites, errors, skipped, classname-less cases', () => {
    const xml = `<?xml version="1.0"?>
<testsuites name="all">
  <testsuite name="outer">
    <testsuite name="inner">
      <testcase classname="pkg.A" name="ok"/>
      <testcase classname="pkg.A" name="broken"><error message="NPE" type="java.lang.NullPointerException">trace</error></testcase>
    </testsuite>
    <testcase name="lonely &amp; bare"><failure message="x"/></testcase>
    <testcase classname="pkg.B" name="later"><skipped/></testcase>
  </testsuite>
</testsuites>`;
    const cases = parseJunit(xml);
    assert.deepEqual(cases, [
      { id: 'lonely & bare', status: 'fail' },
      { id: 'pkg.B.later', status: 'skip' },
      { id: 'pkg.A.ok', status: 'pass' },
      { id: 'pkg.A.broken', status: 'fail' },
    ]);
  });

  test('entity declarations are refused; malformed XML is a ReportError', () => {
    assert.throws(() => parseJunit('<!DOCTYPE x [<!ENTITY a "aaaa">]><testsuite><testcase name="&a;"/></testsuite>'), ReportError);
    assert.throws(() => parseJunit('<testsuite><testcase name="x"></testsuite>'), ReportError);
    assert.throws(() => parseJunit('<html><body/></html>'), /no <testsuites> or <testsuite>/);
  });

  test('control characters in ids are flattened (ids reach comments and IRC)', () => {
    const cases = parseJunit('<testsuite><testcase classname="a" name="b&#10;PRIVMSG #x :hi"><failure/></testcase></testsuite>');
    assert.deepEqual(cases, [{ id: 'a.b PRIVMSG #x :hi', status: 'fail' }]);
  });

  test('a file that is not a report is ignored; a broken report warns', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'byoci-reports-'));
    writeFileSync(join(dir, 'notes.txt'), 'hello');
    writeFileSync(join(dir, 'broken.xml'), '<testsuite><testcase name="x">');
    const warnings: string[] = [];
    assert.deepEqual(await readReports([dir], (m, f) => warnings.push(`${m} ${f}`)), []);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /not readable: not well-formed XML.*broken\.xml/);
  });

  test('crc32 is zlib\'s', () => {
    assert.equal(crc32(Buffer.from('123456789')), 0xcbf43926);
  });
});
