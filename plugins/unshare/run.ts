/**
 * One test run under unshare: `spec.setup`, then `spec.command`, each in a fresh sandbox
 * sharing the tree and a throw-away HOME; the scratch directory removed in every case.
 * Output is streamed line by line; the total and no-output timeouts and an interrupted run
 * kill unshare's process group, and `--kill-child` plus the pid namespace take every
 * process inside with it.
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join, basename } from 'node:path';
import { LineSplitter, TailBuffer, Watchdog, closeInheritedFds, copyArtefacts, limitPrefix, type Logger, type TimeoutKind } from '../../core/index.js';
import type { TestPayload, TestResult } from '../../hooks/index.js';
import type { UnshareConfig } from './config.js';
import { sandboxEnv, unshareArgv, type Layout } from './setup.js';

export interface RunContext {
  name: string;
  config: UnshareConfig;
  log: Logger;
  redact: (text: string) => string;
  workdir: string;
  /** Process group ids of live sandboxes, for the shutdown tap. */
  live: Set<number>;
}

interface PhaseResult {
  exitCode: number;
  timedOut?: TimeoutKind;
  aborted: boolean;
  /** The sandbox was set up and the command started (`ready` on fd 3). */
  ran: boolean;
}

function runPhase(argv: readonly string[], o: {
  totalSeconds: number | undefined;
  noOutputSeconds: number;
  onLine: (stream: 'stdout' | 'stderr', line: string) => void;
  signal: AbortSignal;
  live: Set<number>;
}): Promise<PhaseResult> {
  const [file, ...args] = argv;
  return new Promise((resolve, reject) => {
    let timedOut: TimeoutKind | undefined;
    let aborted = false;
    let ran = false;
    let exited = false;
    closeInheritedFds();
    const child = spawn(file!, args, {
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
      env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' },
      shell: false,
    });
    const pid = child.pid;
    if (pid) o.live.add(pid);
    const killAll = () => {
      if (!exited && pid) {
        try {
          process.kill(-pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    };
    const watchdog = new Watchdog({
      totalSeconds: o.totalSeconds === undefined ? 0 : Math.max(o.totalSeconds, 0.001),
      noOutputSeconds: o.noOutputSeconds,
      onTimeout(kind) {
        timedOut = kind;
        killAll();
      },
    });
    const onAbort = () => {
      aborted = true;
      killAll();
    };
    if (o.signal.aborted) onAbort();
    else o.signal.addEventListener('abort', onAbort, { once: true });
    const splitters = (['stdout', 'stderr'] as const).map((stream) => {
      const splitter = new LineSplitter((line) => {
        watchdog.touch();
        o.onLine(stream, line);
      });
      child[stream]?.on('data', (chunk: Buffer) => splitter.push(chunk));
      return splitter;
    });
    const status = new LineSplitter((line) => {
      if (line === 'ready') ran = true;
    });
    (child.stdio[3] as NodeJS.ReadableStream | null)?.on('data', (chunk: Buffer) => status.push(chunk));
    const done = () => {
      watchdog.stop();
      o.signal.removeEventListener('abort', onAbort);
      if (pid) o.live.delete(pid);
    };
    child.on('error', (error) => {
      done();
      reject(new Error(`cannot run ${file}: ${error.message}`));
    });
    let grace: NodeJS.Timeout | undefined;
    child.on('exit', () => {
      exited = true;
      // --kill-child ends the sandbox with unshare; a pipe still held after that is let go.
      grace = setTimeout(() => child.stdio.forEach((s) => s?.destroy()), 5000);
    });
    child.on('close', (code, sig) => {
      clearTimeout(grace);
      done();
      for (const s of splitters) s.end();
      status.end();
      resolve({ exitCode: code ?? (sig === 'SIGKILL' ? 137 : 128), ...(timedOut ? { timedOut } : {}), aborted, ran });
    });
  });
}

export async function runInUnshare(payload: TestPayload, ctx: RunContext): Promise<TestResult> {
  const { spec, signal } = payload;
  const log = ctx.log;
  const started = performance.now();
  await mkdir(ctx.workdir, { recursive: true });
  const scratch = await mkdtemp(join(ctx.workdir, `unshare-${payload.runId}-`));
  payload.onSandbox?.({ backend: ctx.name, name: basename(scratch) });
  const home = join(scratch, 'home');
  const root = join(scratch, 'root');
  await mkdir(home, { mode: 0o700 });
  await mkdir(root, { mode: 0o700 });
  const tail = new TailBuffer();
  let listenerFailed = false;
  const onLine = (stream: 'stdout' | 'stderr', raw: string) => {
    const line = ctx.redact(raw);
    tail.push(line);
    try {
      payload.onLine(stream, line);
    } catch (error) {
      if (!listenerFailed) log.warn('output listener failed', { error });
      listenerFailed = true;
    }
  };
  if (spec.image) log.info('image is ignored by unshare: the sandbox uses the host /usr', { image: spec.image });
  if (spec.setupAgent) log.warn('setupAgent is not supported by the unshare backend: setup runs without an agent');
  const limits = limitPrefix(spec.limits);
  const userns = process.getuid?.() !== 0;
  const base: Layout = {
    unshare: ctx.config.unshare,
    root,
    tree: payload.dir,
    treePath: ctx.config.treePath,
    home,
    network: spec.network,
    etc: ctx.config.etc,
    env: sandboxEnv(spec.env, spec.setEnv),
    userns,
  };
  const deadline = spec.timeout > 0 ? started + spec.timeout * 1000 : undefined;
  const phase = async (name: 'setup' | 'test', command: readonly string[]) => {
    log.info('sandbox phase start', { phase: name, network: spec.network, userns });
    const result = await runPhase(unshareArgv(base, [...limits, ...command]), {
      totalSeconds: deadline === undefined ? undefined : (deadline - performance.now()) / 1000,
      noOutputSeconds: spec.noOutputTimeout,
      onLine,
      signal,
      live: ctx.live,
    });
    log.info('sandbox phase end', { phase: name, exitCode: result.exitCode, timedOut: result.timedOut ?? 'no' });
    return result;
  };
  try {
    let phaseName: 'setup' | 'test' = 'setup';
    let result: PhaseResult | undefined;
    if (spec.setup?.length) result = await phase('setup', spec.setup);
    if (!result || (result.exitCode === 0 && !result.timedOut && !result.aborted && result.ran)) {
      phaseName = 'test';
      result = await phase('test', spec.command);
    }
    if (result.aborted) throw signal.reason instanceof Error ? signal.reason : new Error('the test run was interrupted');
    if (!result.ran && !result.timedOut) {
      // The sandbox set-up failed (a mount, a namespace): the operator's to fix, not the proposal's.
      throw new Error(`unshare could not set up the ${phaseName} sandbox (exit ${result.exitCode}): ${tail.text().split('\n').slice(-3).join(' | ')}`);
    }
    return {
      backend: ctx.name,
      exitCode: result.exitCode,
      phase: phaseName,
      ...(result.timedOut ? { timedOut: result.timedOut } : {}),
      outputTail: ctx.redact(tail.text()),
      artefacts: spec.artefacts.length ? await copyArtefacts(payload.dir, spec.artefacts, payload.artefactsDir, log) : [],
      durationMs: Math.round(performance.now() - started),
    };
  } finally {
    await rm(scratch, { recursive: true, force: true, maxRetries: 2 }).catch((error: unknown) => log.warn('could not remove the sandbox scratch directory', { dir: scratch, error }));
  }
}
