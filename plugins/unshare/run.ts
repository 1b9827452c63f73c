/**
 * One test run under unshare: core's runSandboxed (setup with the ssh agent when asked, then
 * the command, each in a fresh sandbox sharing the tree; artefacts copied back) with
 * util-linux unshare and SETUP_SCRIPT making each phase's sandbox. The only thing made on
 * the host is the empty directory the sandbox's root tmpfs is mounted on, removed in every
 * case. `--kill-child` and the pid namespace take every process inside with unshare.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { runSandboxPhase, runSandboxed, vcsMetadata, type Logger } from '../../core/index.js';
import type { TestPayload, TestResult } from '../../hooks/index.js';
import type { UnshareConfig } from './config.js';
import { unshareArgv, type Layout } from './setup.js';

export interface RunContext {
  name: string;
  config: UnshareConfig;
  log: Logger;
  redact: (text: string) => string;
  workdir: string;
  /** Process group ids of live sandboxes, for the shutdown tap. */
  live: Set<number>;
}

export async function runInUnshare(payload: TestPayload, ctx: RunContext): Promise<TestResult> {
  const { spec } = payload;
  const log = ctx.log;
  await mkdir(ctx.workdir, { recursive: true });
  const root = await mkdtemp(join(ctx.workdir, `unshare-${payload.runId}-`));
  payload.onSandbox?.({ backend: ctx.name, name: basename(root) });
  try {
    const userns = process.getuid?.() !== 0;
    const base: Omit<Layout, 'env'> = {
      unshare: ctx.config.unshare,
      root,
      tree: payload.dir,
      treePath: ctx.config.treePath,
      protect: await vcsMetadata(payload.dir),
      network: spec.network,
      etc: ctx.config.etc,
      userns,
    };
    return await runSandboxed(payload, {
      name: ctx.name,
      log,
      redact: ctx.redact,
      async runPhase(p) {
        let ran = false;
        const end = await runSandboxPhase({
          argv: unshareArgv({ ...base, env: p.env, ...(p.agent ? { agentSocket: p.agent } : {}) }, p.command),
          totalSeconds: p.totalSeconds,
          noOutputSeconds: p.noOutputSeconds,
          onLine: p.onLine,
          signal: p.signal,
          live: ctx.live,
          onStatus: (line) => (ran ||= line === 'ready'),
        });
        return { ...end, ran };
      },
      startFailure: (phase, exitCode, tail) =>
        // A mount or a namespace that failed: the operator's to fix, not the proposal's.
        `unshare could not set up the ${phase} sandbox (exit ${exitCode}): ${tail.split('\n').slice(-3).join(' | ')}`,
    });
  } finally {
    await rm(root, { recursive: true, force: true, maxRetries: 2 }).catch((error: unknown) => log.warn('could not remove the sandbox scratch directory', { dir: root, error }));
  }
}
