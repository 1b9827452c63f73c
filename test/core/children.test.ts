/**
 * Children die with the bot: a command's grandchild (like the ssh of a `git push`) is killed
 * when the bot process is killed with SIGKILL, and when a run is aborted.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { run } from '../../core/process.js';
import { ROOT } from '../support/cli.js';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.startsWith('Z');
  } catch {
    return false;
  }
}

async function until(what: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (what()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return what();
}

test('kill -9 of the bot kills the grandchildren of the commands it ran', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'byoci-children-'));
  const pidFile = join(dir, 'pid');
  const bot = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'test/fixtures/core/run-grandchild.ts'), pidFile], { stdio: 'ignore', cwd: ROOT, env: { ...process.env, NODE_TEST_CONTEXT: undefined } });
  try {
    assert.ok(await until(() => existsSync(pidFile) && readFileSync(pidFile, 'utf8').trim() !== '', 20_000), 'the grandchild started');
    const sleeper = Number(readFileSync(pidFile, 'utf8').trim());
    assert.ok(alive(sleeper));
    bot.kill('SIGKILL');
    assert.ok(await until(() => !alive(sleeper), 15_000), `the grandchild ${sleeper} died with the bot`);
  } finally {
    bot.kill('SIGKILL');
    const left = existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8').trim()) : 0;
    if (left && alive(left)) process.kill(left, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an aborted command takes its whole process group with it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'byoci-children-'));
  const pidFile = join(dir, 'pid');
  const controller = new AbortController();
  const running = run(['sh', '-c', 'sleep 300 & echo $! > "$1"; wait', 'sh', pidFile], { signal: controller.signal, reject: false });
  try {
    assert.ok(await until(() => existsSync(pidFile) && readFileSync(pidFile, 'utf8').trim() !== '', 10_000));
    const sleeper = Number(readFileSync(pidFile, 'utf8').trim());
    const aborted = Date.now();
    controller.abort();
    await running;
    assert.ok(Date.now() - aborted < 10_000, 'the aborted command returned at once, not when its background child ended');
    assert.ok(await until(() => !alive(sleeper), 3_000), 'the background sleep was killed too');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
