/**
 * unshare: runs a project's tests in namespaces made by util-linux `unshare`, the last
 * container fallback (`backend: auto` tries lxd, then bwrap, then unshare), so that tests
 * are isolated on a bare machine too. Takes `backend: unshare` explicitly.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { definePlugin, findExecutable, tapSandboxBackend } from '../../core/index.js';
import { configSchema } from './config.js';
import { runInUnshare } from './run.js';

export const NAME = 'unshare';

/** Stage of the testInContainer tap: after bwrap's (10), so lxd and bwrap get `auto` first. */
export const TEST_STAGE = 20;

const INSTALL_HINT = 'apt-get install util-linux iproute2 (and, when the bot is not root, a kernel allowing unprivileged user namespaces)';

const onPath = (command: string): boolean => findExecutable(command) !== undefined;

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
    tapSandboxBackend(hooks, api.log, {
      name: NAME,
      stage: TEST_STAGE,
      autoUse: 'last auto fallback',
      async probe(signal) {
        const result = await probeUnshare(api.config.unshare, signal);
        return result.ok ? { ok: true, note: comparedToLxd(result.userns) } : result;
      },
      run: (payload, live) =>
        runInUnshare(payload, { name: NAME, config: api.config, log: api.log, redact: (text) => api.redact(text), workdir: api.run.workdir, live }),
    });
  },
});
