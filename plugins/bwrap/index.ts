/**
 * bwrap: runs a project's tests in a bubblewrap sandbox, the fallback container backend
 * when no LXD daemon answers. Takes `backend: bwrap`, and `backend: auto` when bwrap works
 * (its tap runs after LXD's, which takes `auto` first when its daemon answers).
 */
import { definePlugin } from '../../core/index.js';
import type { ProjectConfig } from '../../hooks/index.js';
import { configSchema } from './config.js';
import { limitProblems, limitTools } from './limits.js';
import { findExecutable, probeBwrap, type Probe } from './probe.js';
import { runInBwrap } from './run.js';

export const NAME = 'bwrap';

/** Stage of the testInContainer tap: after the default stage, so LXD gets `auto` first. */
export const TEST_STAGE = 10;

export default definePlugin({
  name: NAME,
  description: 'Runs the tests in a bubblewrap sandbox (fallback when LXD is unavailable)',
  config: configSchema,
  handles: { backends: [NAME] },
  apply(hooks, api) {
    const log = api.log;
    /** Per run, not per module: the answer of the first probe. */
    let probe: Promise<Probe> | undefined;
    const probeOnce = (signal: AbortSignal) => (probe ??= probeBwrap(api.config.bwrap, signal));
    const live = new Set<number>();

    hooks.verify.tapPromise(async ({ projects, problems, notes, signal }) => {
      const mine = projects.filter((p) => p.test.backend === NAME);
      const auto = projects.filter((p) => p.test.backend === 'auto');
      if (!mine.length && !auto.length) return;
      const result = await probeOnce(signal);
      const names = (list: readonly ProjectConfig[]) => list.map((p) => p.name).join(', ');
      if (!result.ok) {
        for (const project of mine) {
          problems.push({ source: NAME, message: `project ${project.name} uses backend bwrap, but ${result.reason}`, hint: result.hint });
        }
        if (auto.length) log.info('bwrap unavailable for backend auto', { reason: result.reason, projects: names(auto) });
      } else {
        const users = [...mine, ...auto];
        const uses = [mine.length ? `backend of ${names(mine)}` : '', auto.length ? `auto fallback for ${names(auto)}` : ''];
        notes.push({ source: NAME, message: `bwrap ${result.version} creates namespaces (${uses.filter(Boolean).join('; ')})` });
        for (const project of users) {
          const explicit = project.test.backend === NAME;
          for (const message of limitProblems(project.test.limits)) {
            if (explicit) problems.push({ source: NAME, message: `project ${project.name}: ${message}`, hint: 'use a CPU count or list, or backend lxd' });
            else log.warn('limit not applicable under bwrap', { project: project.name, problem: message });
          }
          for (const tool of limitTools(project.test.limits)) {
            if (!findExecutable(tool)) {
              problems.push({
                source: NAME,
                message: `project ${project.name} sets limits, but ${tool} is not installed`,
                hint: 'apt-get install util-linux',
              });
            }
          }
          if (project.test.limits.processes !== undefined && process.getuid?.() === 0) {
            notes.push({ source: NAME, message: `project ${project.name}: limits.processes is not enforced by bwrap when the bot runs as root` });
          }
        }
      }
    });

    hooks.testInContainer.tapPromise(
      async (payload) => {
        const backend = payload.spec.backend;
        if (backend !== NAME && backend !== 'auto') return undefined;
        const result = await probeOnce(payload.signal);
        if (!result.ok) {
          if (backend === 'auto') {
            log.debug('backend auto: bwrap unavailable', { reason: result.reason });
            return undefined;
          }
          throw new Error(`${result.reason}; ${result.hint}`);
        }
        const problems = limitProblems(payload.spec.limits);
        if (problems.length) throw new Error(`project ${payload.project.name}: ${problems.join('; ')}`);
        return runInBwrap(payload, {
          name: NAME,
          config: api.config,
          log,
          redact: (text) => api.redact(text),
          workdir: api.run.workdir,
          live,
        });
      },
      { stage: TEST_STAGE },
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
  },
});
