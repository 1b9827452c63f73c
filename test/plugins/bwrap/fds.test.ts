/**
 * bwrap: nothing inherited. `byoci land 200<canary` with the bwrap backend: neither the
 * setup nor the test command can read the canary through /proc/self/fd/200 (or any other
 * fd above 2 the caller left open).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { spawn } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import { createDemo, type DemoSetup } from '../../../demo/setup.js';
import { ROOT } from '../../support/cli.js';
import { suiteNeeds } from '../../support/components.js';
import { BWRAP_MISSING } from './support.js';

const CANARY = 'canary-7f3e9a2b-not-for-the-sandbox';

/** Runs `byoci <args>` with fd 200 open on `file` (as `byoci ... 200<file` in a shell). */
function byociWithFd(args: string[], file: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const fd = openSync(file, 'r');
  const stdio: (number | 'pipe' | 'ignore')[] = ['ignore', 'pipe', 'pipe'];
  for (let i = 3; i < 200; i++) stdio.push('ignore');
  stdio.push(fd);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'cli', 'main.ts'), ...args], { cwd: ROOT, stdio, env: { ...process.env, BUILD_URL: undefined } });
    closeSync(fd);
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('bwrap: no inherited file descriptor reaches the sandbox', suiteNeeds('bwrap', BWRAP_MISSING), () => {
  let demo: DemoSetup;
  let canary: string;
  before(async () => {
    demo = await createDemo(mkdtempSync(join(tmpdir(), 'byoci-bwrap-fd-')), { backend: 'bwrap' });
    canary = join(demo.dir, 'canary');
    writeFileSync(canary, `${CANARY}\n`);
  });
  after(() => rmSync(demo.dir, { recursive: true, force: true }));

  test('byoci land 200<canary: setup and test see no fd 200 and cannot read the canary', async () => {
    const probe = 'ls /proc/self/fd/ | tr "\\n" " "; echo; cat /proc/self/fd/200 2>/dev/null && echo READ-FD-200 || echo no-fd-200';
    const result = await byociWithFd(
      [
        '--config', demo.config,
        '-O', `projects.calc.test.setup=${JSON.stringify(['sh', '-c', `echo setup-probe; ${probe}`])}`,
        '-O', `projects.calc.test.command=${JSON.stringify(['sh', '-c', `echo test-probe; ${probe}; ./check.sh`])}`,
        'land', '--proposal', 'local:1',
      ],
      canary,
    );
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.match(result.stderr, /setup-probe/);
    assert.match(result.stderr, /test-probe/);
    assert.ok(!result.stderr.includes(CANARY) && !result.stdout.includes(CANARY), 'the canary was read in the sandbox');
    assert.ok(!result.stderr.includes('READ-FD-200'));
    assert.equal((result.stderr.match(/no-fd-200/g) ?? []).length, 2, result.stderr);
  });
});
