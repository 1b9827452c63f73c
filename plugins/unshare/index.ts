/**
 * unshare: runs a project's tests in namespaces made by util-linux `unshare`, the last
 * container fallback (`backend: auto` tries lxd, then bwrap, then unshare), so that tests
 * are isolated on a bare machine too. Takes `backend: unshare` explicitly.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { definePlugin, limitProblems, limitTools } from '../../core/index.js';
import type { ProjectConfig } from '../../hooks/index.js';
import { configSchema } from './config.js';
import { runInUnshare } from './run.js';

export const NAME = 'unshare';

/** Stage of the testInContainer tap: after bwrap's (10), so lxd and bwrap get `auto` first. */
export const TEST_STAGE = 20;

const INSTALL_HINT = 'apt-get install util-linux iproute2 (and, when the bot is not root, a kernel allowing unprivileged user namespaces)';

function onPath(command: string): boolean {
  const candidates = command.includes('/') ? [command] : (process.env.PATH ?? '').split(delimiter).filter(Boolean).map((d) => join(d, command));
  return candidates.some((c) => {
    try {
      accessSync(c, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

export type Probe = { ok: true; userns: boolean } | { ok: false; reason: string; hint: string };

/** Whether the namespaces can be made here: one `unshare ... true`. */
export async function probeUnshare(unshare: string, signal: AbortSignal): Promise<Probe> {
  if (!onPath(unshare)) return { ok: false, reason: `${unshare} is not installed (not found on PATH)`, hint: INSTALL_HINT };
  for (const tool of ['ip', 'chroot', 'setpriv']) {
    if (!onPath(tool) && !existsSync(`/usr/sbin/${tool}`)) return { ok: false, reason: `${tool} is not installed`, hint: INSTALL_HINT };
  }
  const userns = process.getuid?.() !== 0;
  const argv = [...(userns ? ['--user', '--map-root-user'] : []), '--net', '--pid', '--fork', '--mount', '--ipc', '--uts', '--', 'true'];
  const said = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
    const child = spawn(unshare, argv, { stdio: ['ignore', 'ignore', 'pipe'], signal, timeout: 10_000, env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' } });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', (e) => resolve({ code: null, stderr: e.message }));
    child.on('close', (code) => resolve({ code, stderr }));
  });
  if (said.code !== 0) {
    return { ok: false, reason: `unshare cannot create the namespaces: ${said.stderr.trim() || `exit ${said.code}`}`, hint: INSTALL_HINT };
  }
  return { ok: true, userns };
}

/** What this backend gives and lacks compared to LXD, for `doctor`. */
export function comparedToLxd(userns: boolean): string {
  return (
    `unshare creates network (only lo), pid, mount, ipc and uts namespaces${userns ? ' in an unprivileged user namespace' : ' (as root: capabilities dropped, no user namespace)'}; ` +
    'compared with LXD it lacks a cgroup memory/CPU limit (limits are rlimits and CPU pinning), a separate kernel view (/sys, the host kernel and its /usr are shared) and an image of its own'
  );
}

export default definePlugin({
  name: NAME,
  description: 'Runs the tests in namespaces made by util-linux unshare (fallback when neither LXD nor bwrap is available)',
  config: configSchema,
  handles: { backends: [NAME] },
  apply(hooks, api) {
    const log = api.log;
    let probe: Promise<Probe> | undefined;
    const probeOnce = (signal: AbortSignal) => (probe ??= probeUnshare(api.config.unshare, signal));
    const live = new Set<number>();

    hooks.verify.tapPromise(async ({ projects, problems, notes, signal }) => {
      const mine = projects.filter((p) => p.test.backend === NAME);
      const auto = projects.filter((p) => p.test.backend === 'auto');
      if (!mine.length && !auto.length) return;
      const result = await probeOnce(signal);
      const names = (list: readonly ProjectConfig[]) => list.map((p) => p.name).join(', ');
      if (!result.ok) {
        for (const project of mine) {
          problems.push({ source: NAME, message: `project ${project.name} uses backend unshare, but ${result.reason}`, hint: result.hint });
        }
        if (auto.length) log.info('unshare unavailable for backend auto', { reason: result.reason, projects: names(auto) });
        return;
      }
      const uses = [mine.length ? `backend of ${names(mine)}` : '', auto.length ? `last auto fallback for ${names(auto)}` : ''];
      notes.push({ source: NAME, message: `${comparedToLxd(result.userns)} (${uses.filter(Boolean).join('; ')})` });
      for (const project of [...mine, ...auto]) {
        const explicit = project.test.backend === NAME;
        for (const message of limitProblems(project.test.limits)) {
          if (explicit) problems.push({ source: NAME, message: `project ${project.name}: ${message}`, hint: 'use a CPU count or list, or backend lxd' });
          else log.warn('limit not applicable under unshare', { project: project.name, problem: message });
        }
        for (const tool of limitTools(project.test.limits)) {
          if (!onPath(tool)) problems.push({ source: NAME, message: `project ${project.name} sets limits, but ${tool} is not installed`, hint: 'apt-get install util-linux' });
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
            log.debug('backend auto: unshare unavailable', { reason: result.reason });
            return undefined;
          }
          throw new Error(`${result.reason}; ${result.hint}`);
        }
        const problems = limitProblems(payload.spec.limits);
        if (problems.length) throw new Error(`project ${payload.project.name}: ${problems.join('; ')}`);
        return runInUnshare(payload, { name: NAME, config: api.config, log, redact: (text) => api.redact(text), workdir: api.run.workdir, live });
      },
      { stage: TEST_STAGE },
    );

    hooks.shutdown.tapPromise(async () => {
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
