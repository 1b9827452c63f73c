/**
 * The taps a namespace sandbox backend (bwrap, unshare) adds, the same for both: `verify`
 * (the probe's answer as a problem for projects naming the backend, a note otherwise, and
 * the limits it cannot enforce), `testInContainer` (its backend, and `auto` when its probe
 * succeeds, at its stage after LXD's) and `shutdown` (kills sandboxes an interrupted run left).
 */
import type { ProjectConfig, TapHooks, TestPayload, TestResult } from '../hooks/index.js';
import type { Logger } from './logger.js';
import { findExecutable } from './sandbox-env.js';
import { limitProblems, limitTools } from './sandbox-limits.js';

export type SandboxProbe = { ok: true; note: string } | { ok: false; reason: string; hint: string };

export interface SandboxBackendTaps {
  name: string;
  /** Stage of the testInContainer tap (after LXD's default stage 0). */
  stage: number;
  /** How the note names the `auto` projects' use of it ("auto fallback", "last auto fallback"). */
  autoUse: string;
  /** Whether the sandbox can be made here (called once per run, cached). */
  probe(signal: AbortSignal): Promise<SandboxProbe>;
  /** One test run; `live` holds the process group ids of running sandboxes. */
  run(payload: TestPayload, live: Set<number>): Promise<TestResult>;
}

export function tapSandboxBackend(hooks: TapHooks, log: Logger, backend: SandboxBackendTaps): void {
  const { name } = backend;
  let probe: Promise<SandboxProbe> | undefined;
  const probeOnce = (signal: AbortSignal) => (probe ??= backend.probe(signal));
  const live = new Set<number>();

  hooks.verify.tapPromise(async ({ projects, problems, notes, signal }) => {
    const mine = projects.filter((p) => p.test.backend === name);
    const auto = projects.filter((p) => p.test.backend === 'auto');
    if (!mine.length && !auto.length) return;
    const result = await probeOnce(signal);
    const names = (list: readonly ProjectConfig[]) => list.map((p) => p.name).join(', ');
    if (!result.ok) {
      for (const project of mine) {
        problems.push({ source: name, message: `project ${project.name} uses backend ${name}, but ${result.reason}`, hint: result.hint });
      }
      if (auto.length) log.info(`${name} unavailable for backend auto`, { reason: result.reason, projects: names(auto) });
      return;
    }
    const uses = [mine.length ? `backend of ${names(mine)}` : '', auto.length ? `${backend.autoUse} for ${names(auto)}` : ''];
    notes.push({ source: name, message: `${result.note} (${uses.filter(Boolean).join('; ')})` });
    for (const project of [...mine, ...auto]) {
      const explicit = project.test.backend === name;
      for (const message of limitProblems(project.test.limits)) {
        if (explicit) problems.push({ source: name, message: `project ${project.name}: ${message}`, hint: 'use a CPU count or list, or backend lxd' });
        else log.warn(`limit not applicable under ${name}`, { project: project.name, problem: message });
      }
      for (const tool of limitTools(project.test.limits)) {
        if (!findExecutable(tool)) {
          problems.push({ source: name, message: `project ${project.name} sets limits, but ${tool} is not installed`, hint: 'apt-get install util-linux' });
        }
      }
      if (project.test.limits.processes !== undefined && process.getuid?.() === 0) {
        notes.push({ source: name, message: `project ${project.name}: limits.processes is not enforced by ${name} when the bot runs as root` });
      }
    }
  });

  hooks.testInContainer.tapPromise(
    async (payload) => {
      const wanted = payload.spec.backend;
      if (wanted !== name && wanted !== 'auto') return undefined;
      const result = await probeOnce(payload.signal);
      if (!result.ok) {
        if (wanted === 'auto') {
          log.debug(`backend auto: ${name} unavailable`, { reason: result.reason });
          return undefined;
        }
        throw new Error(`${result.reason}; ${result.hint}`);
      }
      const problems = limitProblems(payload.spec.limits);
      if (problems.length) throw new Error(`project ${payload.project.name}: ${problems.join('; ')}`);
      return backend.run(payload, live);
    },
    { stage: backend.stage },
  );

  hooks.shutdown.tapPromise(async () => {
    // A sandbox still running here was left by an interrupted run: kill its group.
    for (const pid of live) {
      try {
        process.kill(-pid, 'SIGKILL');
        log.warn('killed a leftover sandbox', { pid });
      } catch {
        // already gone
      }
    }
    live.clear();
  });
}
