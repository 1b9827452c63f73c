/**
 * Children die with the bot: a command's grandchild (like the ssh of a `git push`) is killed
 * when the bot process is killed with SIGKILL, and when a run is aborted.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
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

/** Starts a bot-like fixture and resolves with the pid of its `sleep` grandchild, once running. */
async function startBot(fixture: string, dir: string): Promise<{ bot: ChildProcess; sleeper: number }> {
  const pidFile = join(dir, 'pid');
  const bot = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'test/fixtures/core', fixture), pidFile], { stdio: 'ignore', cwd: ROOT, env: { ...process.env, NODE_TEST_CONTEXT: undefined } });
  const started = await until(() => existsSync(pidFile) && readFileSync(pidFile, 'utf8').trim() !== '', 30_000);
  if (!started) bot.kill('SIGKILL');
  assert.ok(started, 'the grandchild started');
  return { bot, sleeper: Number(readFileSync(pidFile, 'utf8').trim()) };
}

/** Kills each bot with SIGKILL as soon as its grandchild runs; asserts every grandchild dies. */
async function killedAtOnce(fixture: string, bots: number): Promise<void> {
  const dirs = Array.from({ length: bots }, () => mkdtempSync(join(tmpdir(), 'byoci-children-')));
  const started: { bot: ChildProcess; sleeper: number }[] = [];
  try {
    await Promise.all(
      dirs.map(async (dir) => {
        const one = await startBot(fixture, dir);
        started.push(one);
        assert.ok(alive(one.sleeper));
        one.bot.kill('SIGKILL');
      }),
    );
    const survivors: number[] = [];
    for (const { sleeper } of started) if (!(await until(() => !alive(sleeper), 15_000))) survivors.push(sleeper);
    assert.deepEqual(survivors, [], 'every grandchild died with its bot');
  } finally {
    for (const { bot, sleeper } of started) {
      bot.kill('SIGKILL');
      if (alive(sleeper)) process.kill(sleeper, 'SIGKILL');
    }
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  }
}

test('kill -9 of the bot kills the grandchildren of the commands it ran', async () => {
  await killedAtOnce('run-grandchild.ts', 1);
});

// The child runs before spawn() returns, so before its group can be listed: under load its
// first commands run in between. Six bots at once, each killed right after its command started.
test('kill -9 of bots right after their commands started (six at once) still kills every grandchild', async () => {
  await killedAtOnce('run-grandchild.ts', 6);
});

test('kill -9 between a spawn and the listing of its group: the reaper finds the child by its mark', async () => {
  await killedAtOnce('spawn-unlisted.ts', 1);
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
