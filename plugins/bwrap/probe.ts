/**
 * Whether bwrap is installed and can create the namespaces the sandbox needs. Run once per
 * bot run (the plugin caches the answer) by `verify` and by `auto` backend selection.
 */
import { findExecutable, run } from '../../core/index.js';

export type Probe = { ok: true; version: string } | { ok: false; reason: string; hint: string };

export const INSTALL_HINT = 'install it: apt-get install bubblewrap';
const USERNS_HINT =
  'allow unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1; on Ubuntu 24.04+ ' +
  'kernel.apparmor_restrict_unprivileged_userns=0 or an AppArmor profile for bwrap), or run LXD';

export async function probeBwrap(bwrap: string, signal?: AbortSignal): Promise<Probe> {
  if (!findExecutable(bwrap)) return { ok: false, reason: `${bwrap} is not installed (not found on PATH)`, hint: INSTALL_HINT };
  let version: string;
  try {
    const result = await run([bwrap, '--version'], { reject: false, signal, timeoutMs: 10_000 });
    if (result.exitCode !== 0) {
      return { ok: false, reason: `${bwrap} --version failed: ${result.stderr.trim() || `exit ${result.exitCode}`}`, hint: INSTALL_HINT };
    }
    version = result.stdout.trim().replace(/^bubblewrap\s+/, '');
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return { ok: false, reason: `${bwrap} is not installed (${message.split('\n')[0]})`, hint: INSTALL_HINT };
  }
  const tried = [bwrap, '--unshare-all', '--die-with-parent', '--new-session', '--cap-drop', 'ALL', '--ro-bind', '/', '/', 'true'];
  const result = await run(tried, { reject: false, signal, timeoutMs: 10_000 }).catch((error: unknown) => ({
    exitCode: -1,
    stdout: '',
    stderr: error instanceof Error ? error.message : String(error),
  }));
  if (result.exitCode !== 0) {
    return {
      ok: false,
      reason: `bwrap ${version} cannot create namespaces (${tried.join(' ')}: ${result.stderr.trim() || `exit ${result.exitCode}`})`,
      hint: USERNS_HINT,
    };
  }
  return { ok: true, version };
}
