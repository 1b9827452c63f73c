/**
 * A bot that is stopped while a sandbox runs leaves no process behind: SIGTERM (the run
 * is aborted and the plugin kills the sandbox's process group) and SIGKILL (bwrap's
 * --die-with-parent and its pid namespace take everything down). Checked by host PID.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, test } from 'node:test';
import { suiteNeeds } from '../../support/components.js';
import { alive, BWRAP_MISSING, descendants, procStat } from './support.js';

const BOT = join(import.meta.dirname, '../../fixtures/bwrap/bot.ts');
/** Two background sleepers and a foreground one. */
const COMMAND = ['sh', '-c', 'sleep 1000 & sleep 1001 & echo ready; sleep 1002'];

interface Bot {
  child: ChildProcess;
  records: Record<string, unknown>[];
  /** Resolves when a record matching `predicate` arrives. */
  waitFor(predicate: (r: Record<string, unknown>) => boolean): Promise<Record<string, unknown>>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function startBot(dir: string): Bot {
  const child = spawn(process.execPath, ['--import', 'tsx', BOT, dir, JSON.stringify(COMMAND)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const records: Record<string, unknown>[] = [];
  const waiters: { predicate: (r: Record<string, unknown>) => boolean; resolve: (r: Record<string, unknown>) => void }[] = [];
  createInterface({ input: child.stdout! }).on('line', (text) => {
    const record = JSON.parse(text) as Record<string, unknown>;
    records.push(record);
    for (const w of waiters.filter((w) => w.predicate(record))) w.resolve(record);
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  return {
    child,
    records,
    exited,
    waitFor(predicate) {
      const found = records.find(predicate);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        waiters.push({ predicate, resolve });
        void exited.then(() => reject(new Error(`bot exited before: ${JSON.stringify(records)}`)));
      });
    },
  };
}

/** The sandbox's processes as seen from the host, with their command names. */
function sandboxProcesses(bot: Bot): { pid: number; comm: string }[] {
  return descendants(bot.child.pid!).map((pid) => ({ pid, comm: procStat(pid)?.comm ?? '?' }));
}

async function gone(pids: number[]): Promise<number[]> {
  // The kernel tears a pid namespace down asynchronously: wait (bounded) for it.
  for (let i = 0; i < 100 && pids.some(alive); i++) await new Promise((r) => setTimeout(r, 50));
  return pids.filter(alive);
}

describe('bwrap backend: stopping the bot', suiteNeeds('bwrap', BWRAP_MISSING), () => {
  let root: string;
  before(() => {
    root = mkdtempSync(join(tmpdir(), 'byoci-bwrap-kill-'));
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
    test(`${signal} to the bot leaves no sandbox process behind`, async () => {
      const dir = mkdtempSync(join(root, 'tree-'));
      const bot = startBot(dir);
      try {
        await bot.waitFor((r) => r.line === 'ready');
        // `ready` comes before the last fork/exec: wait (bounded) until all three run.
        let processes = sandboxProcesses(bot);
        for (let i = 0; i < 100 && processes.filter((p) => p.comm === 'sleep').length < 3; i++) {
          await new Promise((r) => setTimeout(r, 50));
          processes = sandboxProcesses(bot);
        }
        const sleepers = processes.filter((p) => p.comm === 'sleep');
        assert.equal(sleepers.length, 3, `three sleepers run in the sandbox: ${JSON.stringify(processes)}`);
        assert.ok(processes.some((p) => p.comm === 'bwrap'), 'bwrap is a child of the bot');
        for (const p of sleepers) {
          assert.match(readFileSync(`/proc/${p.pid}/cmdline`, 'utf8'), /^sleep\x00100[012]\x00$/);
        }

        bot.child.kill(signal);
        const exit = await bot.exited;
        if (signal === 'SIGTERM') {
          assert.equal(exit.code, 143, 'the bot ends its run and exits');
          assert.ok(
            bot.records.some((r) => typeof r.error === 'string' && /interrupted/.test(r.error)),
            `the tap reports the interruption: ${JSON.stringify(bot.records)}`,
          );
        } else {
          assert.equal(exit.signal, 'SIGKILL');
        }
        const left = await gone(processes.map((p) => p.pid));
        assert.deepEqual(left, [], `still alive: ${JSON.stringify(processes.filter((p) => left.includes(p.pid)))}`);
      } finally {
        if (bot.child.exitCode === null && bot.child.signalCode === null) bot.child.kill('SIGKILL');
      }
    });
  }
});
