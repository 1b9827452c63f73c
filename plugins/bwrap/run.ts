/**
 * One test run in bwrap: `spec.setup` (with the ssh agent when asked), then `spec.command`,
 * each in a fresh sandbox sharing the tree (HOME is a tmpfs of each phase); artefacts copied back;
 * the run's scratch directory removed in every case.
 */
import { lstat, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join, basename } from 'node:path';
import { TailBuffer, type Logger } from '../../core/index.js';
import type { TestPayload, TestResult } from '../../hooks/index.js';
import { copyArtefacts } from './artefacts.js';
import { INSIDE, VCS_METADATA, bwrapArgv, hostRoot, sandboxEnv, type Layout } from './argv.js';
import type { BwrapConfig } from './config.js';
import { limitPrefix } from './limits.js';
import { STATUS_FD, runPhase, type PhaseResult } from './phase.js';

export interface RunContext {
  name: string;
  config: BwrapConfig;
  log: Logger;
  redact: (text: string) => string;
  /** Directory owned by the bot run; the scratch directory is made under it. */
  workdir: string;
  /** Pids of live sandboxes (bwrap's process group ids), for the shutdown tap. */
  live: Set<number>;
}

/** The ssh agent socket to forward, or undefined (with the reason logged). */
async function agentSocket(wanted: boolean, log: Logger): Promise<string | undefined> {
  if (!wanted) return undefined;
  const socket = process.env.SSH_AUTH_SOCK;
  if (!socket) {
    log.warn('setupAgent is on but SSH_AUTH_SOCK is not set: setup runs without an agent');
    return undefined;
  }
  const st = await lstat(socket).catch(() => undefined);
  if (!st?.isSocket()) {
    log.warn('setupAgent is on but SSH_AUTH_SOCK is not a socket: setup runs without an agent', { socket });
    return undefined;
  }
  return socket;
}

/** The VCS metadata entries present in the tree (directories or gitlink files, not symlinks). */
async function vcsMetadata(tree: string): Promise<string[]> {
  const found: string[] = [];
  for (const name of VCS_METADATA) {
    const st = await lstat(join(tree, name)).catch(() => undefined);
    if (st && (st.isDirectory() || st.isFile())) found.push(name);
  }
  return found;
}

/** Removes a directory the sandbox wrote into, also where it dropped its own permissions. */
async function removeScratch(dir: string, log: Logger): Promise<void> {
  try {
    await rm(dir, { recursive: true, force: true, maxRetries: 2 });
  } catch (error) {
    log.warn('could not remove the sandbox scratch directory', { dir, error });
  }
}

export async function runInBwrap(payload: TestPayload, ctx: RunContext): Promise<TestResult> {
  const { spec, signal } = payload;
  const log = ctx.log;
  const started = performance.now();
  await mkdir(ctx.workdir, { recursive: true });
  const scratch = await mkdtemp(join(ctx.workdir, `bwrap-${payload.runId}-`));
  payload.onSandbox?.({ backend: ctx.name, name: basename(scratch) });

  const tail = new TailBuffer();
  let listenerFailed = false;
  const onLine = (stream: 'stdout' | 'stderr', raw: string) => {
    const line = ctx.redact(raw);
    tail.push(line);
    try {
      payload.onLine(stream, line);
    } catch (error) {
      // A failing listener must not crash the run nor lose the output tail.
      if (!listenerFailed) log.warn('output listener failed', { error });
      listenerFailed = true;
    }
  };
  const limits = limitPrefix(spec.limits);
  if (spec.image) log.info('image is ignored by bwrap: the sandbox uses the host /usr', { image: spec.image });
  if (spec.limits.processes !== undefined && process.getuid?.() === 0) {
    log.warn('limits.processes is not enforced: RLIMIT_NPROC does not apply to root (run the bot as a normal user)');
  }
  const protect = await vcsMetadata(payload.dir);
  const base: Omit<Layout, 'env'> = {
    bwrap: ctx.config.bwrap,
    tree: payload.dir,
    treePath: ctx.config.treePath,
    network: spec.network,
    roBind: ctx.config.roBind,
    etc: ctx.config.etc,
    protect,
    root: hostRoot(),
    statusFd: STATUS_FD,
  };
  const deadline = spec.timeout > 0 ? started + spec.timeout * 1000 : undefined;

  async function phase(name: 'setup' | 'test', command: readonly string[], layout: Layout): Promise<PhaseResult> {
    log.info('sandbox phase start', { phase: name, network: layout.network, agent: Boolean(layout.agentSocket) });
    let group: number | undefined;
    const result = await runPhase({
      argv: bwrapArgv(layout, [...limits, ...command]),
      totalSeconds: deadline === undefined ? undefined : (deadline - performance.now()) / 1000,
      noOutputSeconds: spec.noOutputTimeout,
      onLine,
      signal,
      onStart(pids) {
        group = pids.bwrap;
        ctx.live.add(pids.bwrap);
        log.debug('sandbox started', { phase: name, pid: pids.bwrap, childPid: pids.child });
      },
    }).finally(() => {
      if (group !== undefined) ctx.live.delete(group);
    });
    log.info('sandbox phase end', { phase: name, exitCode: result.exitCode, timedOut: result.timedOut ?? 'no' });
    return result;
  }

  try {
    let phaseName: 'setup' | 'test' = 'setup';
    let result: PhaseResult | undefined;
    if (spec.setup?.length) {
      const agent = await agentSocket(spec.setupAgent, log);
      const env = { ...sandboxEnv(spec.env, spec.setEnv), ...(agent ? { SSH_AUTH_SOCK: INSIDE.agent } : {}) };
      result = await phase('setup', spec.setup, { ...base, env, ...(agent ? { agentSocket: agent } : {}) });
    }
    if (!result || (result.exitCode === 0 && !result.timedOut && !result.aborted && result.ran)) {
      phaseName = 'test';
      result = await phase('test', spec.command, { ...base, env: sandboxEnv(spec.env, spec.setEnv) });
    }
    if (result.aborted) throw signal.reason instanceof Error ? signal.reason : new Error('the test run was interrupted');
    if (!result.ran && !result.timedOut) {
      // bwrap's own failure (a mount, or a command that is not in the sandbox): the
      // operator's to fix, never the proposal's fault.
      const said = tail.text().split('\n').filter((l) => l.startsWith('bwrap:')).slice(-3).join(' | ');
      throw new Error(`bwrap could not start the ${phaseName} command (exit ${result.exitCode}): ${said || tail.text().split('\n').slice(-3).join(' | ')}`);
    }
    const artefacts = spec.artefacts.length
      ? await copyArtefacts(payload.dir, spec.artefacts, payload.artefactsDir, log)
      : [];
    return {
      backend: ctx.name,
      exitCode: result.exitCode,
      phase: phaseName,
      ...(result.timedOut ? { timedOut: result.timedOut } : {}),
      outputTail: ctx.redact(tail.text()),
      artefacts,
      durationMs: Math.round(performance.now() - started),
    };
  } finally {
    await removeScratch(scratch, log);
  }
}
