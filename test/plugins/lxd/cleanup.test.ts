/**
 * Cleanup in every case: a bot process killed with SIGTERM mid-test (a Jenkins abort)
 * leaves no container; one killed with SIGKILL leaves one, which the next run removes,
 * while the container of a bot that is still running is left alone.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, describe, test } from 'node:test';
import { suiteNeeds } from '../../support/components.js';
import { LXD_SOCKET, instancesWithPrefix, lxdMissing, testPrefix } from '../../support/lxd.js';
import { lxdBox, makeSpec } from './support.js';

const MISSING = await lxdMissing();
const CHILD = join(import.meta.dirname, '../../fixtures/lxd/bot-child.ts');

interface Bot {
  child: ChildProcess;
  root: string;
  runId: string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stdout: string[];
}

const children: ChildProcess[] = [];
const roots: string[] = [];

/** Starts a bot process running a never-ending test; resolves once the command runs. */
async function startBot(prefix: string): Promise<Bot> {
  const root = mkdtempSync(join(tmpdir(), 'byoci-lxd-bot-'));
  roots.push(root);
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, LXD_SOCKET, prefix, root], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  const stdout: string[] = [];
  const stderr: string[] = [];
  child.stderr!.on('data', (c: Buffer) => stderr.push(c.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  const runId = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      stdout.push(line);
      const match = /^started (\S+)$/.exec(line);
      if (match) resolve(match[1]!);
    });
    void exited.then(({ code }) => reject(new Error(`bot exited (${code}) before its test started: ${stderr.join('')}`)));
  });
  return { child, root, runId, exited, stdout };
}

describe('lxd backend: cleanup after the bot is killed', suiteNeeds('lxd', MISSING), () => {
  after(() => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    for (const root of roots) rmSync(root, { recursive: true, force: true });
  });

  test('SIGTERM of the bot mid-test: the container is deleted and the bot exits 143', async () => {
    const prefix = testPrefix('term');
    const bot = await startBot(prefix);
    const running = await instancesWithPrefix(prefix);
    assert.equal(running.length, 1, 'the test runs in a container');
    assert.ok(running[0]!.startsWith(`${prefix}-${bot.runId.toLowerCase()}`));
    bot.child.kill('SIGTERM');
    const { code } = await bot.exited;
    assert.equal(code, 143);
    assert.ok(bot.stdout.includes('cleaned'));
    assert.deepEqual(await instancesWithPrefix(prefix), [], 'no container with the prefix remains');
    assert.deepEqual(
      readdirSync(join(bot.root, 'work')).filter((d) => d.startsWith('byoci-lxd-')),
      [],
      'the staged copy of the tree is removed',
    );
  });

  test('a run removes the containers of dead runs (SIGKILL) and leaves those of live bots', async () => {
    const prefix = testPrefix('orph');
    const live = await startBot(prefix);
    const dead = await startBot(prefix);
    dead.child.kill('SIGKILL');
    await dead.exited;
    const before = await instancesWithPrefix(prefix);
    assert.equal(before.length, 2, 'SIGKILL leaves the container behind');
    const orphan = before.find((n) => n.startsWith(`${prefix}-${dead.runId.toLowerCase()}`));
    assert.ok(orphan);

    const box = await lxdBox({ prefix });
    try {
      const { result } = await box.run(makeSpec({ command: ['true'] }));
      assert.equal(result?.exitCode, 0);
      assert.ok(box.harness.lines.some((l) => l.includes('removed containers of dead runs') && l.includes(orphan)));
    } finally {
      await box.cleanup();
    }
    const remaining = await instancesWithPrefix(prefix);
    assert.equal(remaining.length, 1, `only the live bot's container remains: ${remaining.join(', ')}`);
    assert.ok(remaining[0]!.startsWith(`${prefix}-${live.runId.toLowerCase()}`));

    live.child.kill('SIGTERM');
    assert.equal((await live.exited).code, 143);
    assert.deepEqual(await instancesWithPrefix(prefix), []);
    assert.equal(existsSync(join(live.root, 'work')), true);
  });
});
