/**
 * The host-process test runner: NOT ISOLATED. It runs the test commands directly on the
 * slave, as the bot's user, with the bot's file system and network. Only for trusted code
 * (the demo, byoci's own tests) and only with the explicit `backend: unsafe-host` opt-in.
 */
import { cp, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { hostname } from 'node:os';
import { execa } from 'execa';
import type { TestPayload, TestResult } from '../../hooks/index.js';
import { LineSplitter, TailBuffer, Watchdog, definePlugin, hostVariables, spawnEnv, trackGroup, untrackGroup } from '../../core/index.js';

export const NAME = 'host';
export const BACKEND = 'unsafe-host';

/** Environment of the commands: PATH and HOME-like basics, the listed names, fixed values. */
export function testEnvironment(payload: Pick<TestPayload, 'spec' | 'dir'>, source = process.env): Record<string, string> {
  return { PATH: '/usr/local/bin:/usr/bin:/bin', HOME: payload.dir, LANG: 'C.UTF-8', ...hostVariables(payload.spec.env, source), ...payload.spec.setEnv };
}

async function runPhase(
  phase: 'setup' | 'test',
  argv: readonly string[],
  payload: TestPayload,
  tail: TailBuffer,
  watchdog: { touch(): void; onKill(kill: () => void): void },
): Promise<number> {
  const [file, ...args] = argv;
  if (!file) throw new Error(`empty ${phase} command`);
  const child = execa(file, args, {
    cwd: payload.dir,
    // Plus the reaper's mark (core/children.ts): a kill -9 of the bot during this spawn still finds it.
    env: spawnEnv(testEnvironment(payload)),
    extendEnv: false,
    stdin: 'ignore',
    buffer: false,
    reject: false,
    detached: true, // own process group, so a timeout kills the whole tree
    cancelSignal: payload.signal,
    forceKillAfterDelay: 2000,
  });
  const killGroup = () => {
    if (child.pid) {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  };
  trackGroup(child.pid); // and dies with the bot, kill -9 included
  watchdog.onKill(killGroup);
  const onAbort = () => killGroup();
  payload.signal.addEventListener('abort', onAbort, { once: true });
  const splitters = (['stdout', 'stderr'] as const).map((stream) => {
    const splitter = new LineSplitter((line) => {
      watchdog.touch();
      tail.push(line);
      payload.onLine(stream, line);
    });
    child[stream]?.on('data', (chunk: Buffer) => splitter.push(chunk));
    return splitter;
  });
  const result = await child;
  payload.signal.removeEventListener('abort', onAbort);
  for (const s of splitters) s.end();
  killGroup(); // leftovers of the group (daemonised children) go too
  untrackGroup(child.pid);
  if (typeof result.exitCode === 'number') return result.exitCode;
  return result.signal === 'SIGKILL' ? 137 : 128 + 15;
}

export async function runOnHost(payload: TestPayload): Promise<TestResult> {
  const started = performance.now();
  const tail = new TailBuffer();
  let kill: (() => void) | undefined;
  const watchdog = new Watchdog({
    totalSeconds: payload.spec.timeout,
    noOutputSeconds: payload.spec.noOutputTimeout,
    onTimeout: () => kill?.(),
  });
  const control = { touch: () => watchdog.touch(), onKill: (k: () => void) => (kill = k) };
  payload.onSandbox?.({ backend: BACKEND, name: `host ${hostname()} (not isolated)` });
  let phase: 'setup' | 'test' = 'setup';
  let exitCode = 0;
  try {
    if (payload.spec.setup) exitCode = await runPhase('setup', payload.spec.setup, payload, tail, control);
    if (exitCode === 0 && !watchdog.fired) {
      phase = 'test';
      exitCode = await runPhase('test', payload.spec.command, payload, tail, control);
    }
  } finally {
    watchdog.stop();
  }
  const artefacts: string[] = [];
  for (const path of payload.spec.artefacts) {
    const target = join(payload.artefactsDir, path);
    try {
      await mkdir(dirname(target), { recursive: true });
      await cp(join(payload.dir, path), target, { recursive: true });
      artefacts.push(target);
    } catch {
      // a missing artefact is not an error: the test run may have failed before writing it
    }
  }
  return {
    backend: BACKEND,
    exitCode: watchdog.fired && exitCode === 0 ? 137 : exitCode,
    phase,
    ...(watchdog.fired ? { timedOut: watchdog.fired } : {}),
    outputTail: tail.text(),
    artefacts,
    durationMs: Math.round(performance.now() - started),
  };
}

export default definePlugin({
  name: NAME,
  description: 'Runs the tests directly on the slave: NOT ISOLATED, opt-in with backend: unsafe-host',
  handles: { backends: [BACKEND] },
  apply(hooks, api) {
    hooks.verify.tapPromise(async (payload) => {
      for (const project of payload.projects) {
        if (project.test.backend === BACKEND) {
          payload.notes.push({
            source: NAME,
            message: `project ${project.name}: tests run on the host, NOT ISOLATED (backend: unsafe-host)`,
          });
        }
      }
    });
    hooks.testInContainer.tapPromise(
      async (payload) => {
        if (payload.spec.backend !== BACKEND) return undefined;
        api.log.warn('NOT ISOLATED: running the tests directly on this host (backend: unsafe-host)', {
          project: payload.project.name,
        });
        return runOnHost(payload);
      },
      { stage: 100 },
    );
  },
});
