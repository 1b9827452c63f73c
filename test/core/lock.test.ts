/** withFileLock / lockFile: exclusive between processes, released when its holder is killed -9. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, test } from 'node:test';
import { lockFile, withFileLock } from '../../core/lock.js';
import { missingCommands, suiteNeeds } from '../support/components.js';

const dir = mkdtempSync(join(tmpdir(), 'byoci-lock-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('file locks', suiteNeeds('flock', missingCommands('flock')), () => {
  test('a second holder waits until the first releases', async () => {
    const path = join(dir, 'a.lock');
    const order: string[] = [];
    const first = await lockFile(path);
    const second = withFileLock(path, async () => {
      order.push('second');
    });
    await new Promise((r) => setTimeout(r, 300));
    order.push('first releases');
    await first.release();
    await second;
    assert.deepEqual(order, ['first releases', 'second']);
  });

  test('the lock of a process killed with SIGKILL is released', async () => {
    const path = join(dir, 'b.lock');
    const holder = spawn(
      process.execPath,
      ['--import', 'tsx', '-e', `const { lockFile } = await import(${JSON.stringify(resolve('core/lock.ts'))}); await lockFile(${JSON.stringify(path)}); console.log('held'); setInterval(() => {}, 1000);`],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    await new Promise<void>((r) => holder.stdout.on('data', (d: Buffer) => d.toString().includes('held') && r()));
    const waiting = lockFile(path);
    let got = false;
    void waiting.then(() => (got = true));
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(got, false, 'held by the other process');
    holder.kill('SIGKILL');
    const lock = await waiting;
    await lock.release();
  });

  test('waiting is abandoned on abort', async () => {
    const path = join(dir, 'c.lock');
    const held = await lockFile(path);
    const controller = new AbortController();
    const waiting = lockFile(path, { signal: controller.signal });
    setTimeout(() => controller.abort(new Error('stop')), 100);
    await assert.rejects(waiting, /stop/);
    await held.release();
  });
});
