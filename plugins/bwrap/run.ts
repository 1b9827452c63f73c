/**
 * One test run in bwrap: core's runSandboxed (setup with the ssh agent when asked, then the
 * command, each in a fresh sandbox sharing the tree; artefacts copied back) with bwrap
 * making each phase's sandbox. HOME is a tmpfs of each phase: nothing is made on the host.
 */
import { randomBytes } from 'node:crypto';
import { runSandboxed, vcsMetadata, type Logger } from '../../core/index.js';
import type { TestPayload, TestResult } from '../../hooks/index.js';
import { bwrapArgv, hostRoot, type Layout } from './argv.js';
import type { BwrapConfig } from './config.js';
import { STATUS_FD, runPhase } from './phase.js';

export interface RunContext {
  name: string;
  config: BwrapConfig;
  log: Logger;
  redact: (text: string) => string;
  /** Pids of live sandboxes (bwrap's process group ids), for the shutdown tap. */
  live: Set<number>;
}

export async function runInBwrap(payload: TestPayload, ctx: RunContext): Promise<TestResult> {
  const { spec } = payload;
  const log = ctx.log;
  payload.onSandbox?.({ backend: ctx.name, name: `bwrap-${payload.runId}-${randomBytes(3).toString('hex')}` });
  const base: Omit<Layout, 'env'> = {
    bwrap: ctx.config.bwrap,
    tree: payload.dir,
    treePath: ctx.config.treePath,
    network: spec.network,
    roBind: ctx.config.roBind,
    etc: ctx.config.etc,
    protect: await vcsMetadata(payload.dir),
    root: hostRoot(),
    statusFd: STATUS_FD,
  };
  return runSandboxed(payload, {
    name: ctx.name,
    log,
    redact: ctx.redact,
    runPhase: (p) =>
      runPhase({
        argv: bwrapArgv({ ...base, env: p.env, ...(p.agent ? { agentSocket: p.agent } : {}) }, p.command),
        totalSeconds: p.totalSeconds,
        noOutputSeconds: p.noOutputSeconds,
        onLine: p.onLine,
        signal: p.signal,
        live: ctx.live,
        onStart: (pids) => log.debug('sandbox started', { phase: p.phase, pid: pids.bwrap, childPid: pids.child }),
      }),
    startFailure(phase, exitCode, tail) {
      // bwrap's own failure (a mount, or a command that is not in the sandbox): the
      // operator's to fix, never the proposal's fault.
      const said = tail.split('\n').filter((l) => l.startsWith('bwrap:')).slice(-3).join(' | ');
      return `bwrap could not start the ${phase} command (exit ${exitCode}): ${said || tail.split('\n').slice(-3).join(' | ')}`;
    },
  });
}
