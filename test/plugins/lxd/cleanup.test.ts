/**
 * Cleanup in every case: a bot process killed with SIGTERM mid-test (a Jenkins abort)
 * leaves no container (neither its test's nor its warm spare); one killed with SIGKILL
 * leaves them, and the next run removes them, while the containers of a bot that is still
 * running are left alone; also when the SIGKILL comes while a finished container is being
 * deleted in the background and a spare is being made.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, describe, test } from 'node:test';
import { suiteNeeds } from '../../support/components.js';
import { LxdClient } from '../../../plugins/lxd/client.js';
import { OWNER_KEYS } from '../../../plugins/lxd/owner.js';
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
async function startBot(prefix: string, mode: 'hang' | 'finish' = 'hang'): Promise<Bot> {
  const root = mkdtempSync(join(tmpdir(), 'byoci-lxd-bot-'));
  roots.push(root);
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, LXD_SOCKET, prefix, root, mode], { stdio: ['ignore', 'pipe', 'pipe'] });
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

/** The pid recorded as the owner of each container whose name starts with `prefix`. */
async function ownerPids(prefix: string): Promise<Map<string, string | undefined>> {
  const client = new LxdClient(LXD_SOCKET);
  try {
    const all = await client.request<Array<{ name: string; config: Record<string, string> }>>('GET', '/1.0/instances?recursion=1');
    return new Map(all.filter((i) => i.name.startsWith(prefix)).map((i) => [i.name, i.config[OWNER_KEYS.pid]]));
  } finally {
    client.close();
  }
}

/** Waits until `line` is printed by the bot. */
function printed(bot: Bot, line: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = setInterval(() => {
      if (bot.stdout.includes(line)) {
        clearInterval(check);
        resolve();
      }
    }, 20);
    void bot.exited.then(() => {
      clearInterval(check);
      if (!bot.stdout.includes(line)) reject(new Error(`the bot exited without printing ${line}`));
    });
  });
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
    assert.ok(running.length >= 1, 'the test runs in a container (beside it the warm spare may be on its way)');
    for (const name of running) assert.ok(name.startsWith(`${prefix}-${bot.runId.toLowerCase()}`), name);
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
    const orphans = before.filter((n) => n.startsWith(`${prefix}-${dead.runId.toLowerCase()}`));
    assert.ok(orphans.length >= 1, `SIGKILL leaves the container behind: ${before.join(', ')}`);

    const box = await lxdBox({ prefix });
    try {
      const { result } = await box.run(makeSpec({ command: ['true'] }));
      assert.equal(result?.exitCode, 0);
      const removed = box.harness.lines.find((l) => l.includes('removed containers of dead runs'));
      for (const orphan of orphans) assert.ok(removed?.includes(orphan), `${orphan} removed: ${removed}`);
    } finally {
      await box.cleanup();
    }
    const remaining = await ownerPids(prefix);
    assert.ok(remaining.size >= 1, 'the live bot keeps its container');
    for (const [name, pid] of remaining) assert.equal(pid, String(live.child.pid), `only the live bot's containers remain: ${name}`);

    live.child.kill('SIGTERM');
    assert.equal((await live.exited).code, 143);
    assert.deepEqual(await instancesWithPrefix(prefix), []);
    assert.equal(existsSync(join(live.root, 'work')), true);
  });

  test('SIGKILL right after a result (its container being deleted, a spare being made): the next run removes both', async (t) => {
    const prefix = testPrefix('k9');
    const bot = await startBot(prefix, 'finish');
    await printed(bot, `reported ${bot.runId}`);
    bot.child.kill('SIGKILL');
    await bot.exited;
    const left = await instancesWithPrefix(prefix);
    const finished = bot.stdout.find((l) => l.startsWith('container '))?.slice('container '.length);
    const spares = bot.stdout.find((l) => l.startsWith('spares '))?.slice('spares '.length).split(' ') ?? [];
    assert.ok(finished && spares.length === 1 && spares[0] !== finished, bot.stdout.join('\n'));
    assert.ok(left.includes(spares[0]!), `the SIGKILL left the spare ${spares[0]}: ${left.join(', ')}`);
    // The finished container's deletion was in flight: the daemon may or may not have finished it.
    t.diagnostic(`left by the SIGKILL: ${left.join(', ')} (finished: ${finished}, spare: ${spares[0]})`);
    for (const name of left) assert.ok(name === finished || name === spares[0], `nothing else of the bot: ${name}`);

    const box = await lxdBox({ prefix });
    try {
      const { result } = await box.run(makeSpec({ command: ['true'] }));
      assert.equal(result?.exitCode, 0);
      // Anything the dead bot left that the daemon had not finished deleting by then is in the sweep's line.
      const removed = box.harness.lines.find((l) => l.includes('removed containers of dead runs')) ?? '';
      const survivors = (await ownerPids(prefix));
      for (const [name, pid] of survivors) assert.equal(pid, String(process.pid), `${name} of the dead bot survived the sweep (${removed})`);
    } finally {
      await box.cleanup();
    }
    const after = await instancesWithPrefix(prefix);
    assert.deepEqual(after, [], 'nothing is left after the next run');
  });
});
