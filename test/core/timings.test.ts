/** BYOCI_TIMINGS: spans of a real process (bootstrap, child processes, steps), names without arguments. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, test } from 'node:test';
import { commandName, formatTimings, type Span } from '../../core/timings.js';

const dir = mkdtempSync(join(tmpdir(), 'byoci-timings-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('BYOCI_TIMINGS', () => {
  test('command names keep the program and the git subcommand, never arguments', () => {
    assert.equal(commandName(['git', '-c', 'core.hooksPath=/dev/null', '-C', '/x', 'fetch', '--quiet', '--', 'https://h/secret-branch']), 'git fetch');
    assert.equal(commandName(['/usr/bin/git', '--version']), 'git');
    assert.equal(commandName(['brz', 'branch', '/tmp/x']), 'brz branch');
    assert.equal(commandName(['cp', '-a', '--', '/a', '/b']), 'cp');
    assert.equal(commandName(['git', 'Weird;Name']), 'git');
  });

  test('a process writes its spans as one JSON line: bootstrap, steps, child processes', () => {
    const file = join(dir, 'spans.jsonl');
    const script = [
      `const t = await import(${JSON.stringify(resolve('core/timings.ts'))});`,
      `const { run } = await import(${JSON.stringify(resolve('core/process.ts'))});`,
      "await t.timeSpan('step', 'outer', () => run(['git', '-c', 'a=b', 'version']));",
    ].join('\n');
    for (let i = 0; i < 2; i++) {
      const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { env: { ...process.env, BYOCI_TIMINGS: file }, encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
    }
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    assert.equal(lines.length, 2, 'one line per process, appended');
    const record = JSON.parse(lines[1]!) as { total: number; cpu: number; spans: Span[] };
    assert.ok(record.total > 0 && record.cpu > 0);
    assert.equal(record.spans[0]!.name, 'node bootstrap');
    const outer = record.spans.find((s) => s.name === 'outer')!;
    const git = record.spans.find((s) => s.kind === 'proc')!;
    assert.equal(git.name, 'git version');
    assert.ok(git.start >= outer.start && git.start + git.ms <= outer.start + outer.ms + 0.2, 'the process lies inside the step');
    assert.match(formatTimings(record.spans, record.total), /proc git version/);
  });

  test('BYOCI_TIMINGS=1 prints a table on stderr; unset, nothing', () => {
    const script = `const t = await import(${JSON.stringify(resolve('core/timings.ts'))}); await t.timeSpan('step', 'work', async () => {});`;
    const on = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { env: { ...process.env, BYOCI_TIMINGS: '1' }, encoding: 'utf8' });
    assert.match(on.stderr, /byoci timings .*\n.*\n.*node bootstrap[\s\S]*work\n[\s\S]*node process CPU: \d+ ms/);
    const env = { ...process.env };
    delete env.BYOCI_TIMINGS;
    const off = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { env, encoding: 'utf8' });
    assert.equal(off.stderr, '');
  });
});
