/**
 * The brz runner of the plugin: core's `run()` with an argument array and a minimal
 * environment: PATH, LANG, a private HOME inside the run's workdir (so the slave's
 * breezy.conf, plugins and aliases never apply), BRZ_EMAIL for commits and BRZ_SSH (our
 * ssh wrapper) when a location is reached over ssh. Never the whole `process.env`. No
 * plugin of the slave's (site, user or entry-point plugins) is loaded: only brz's own core
 * plugins (launchpad resolves `lp:`), minus those that hook commits and merges.
 *
 * brz answers several questions by its exit status or by structured output; the helpers
 * below read those (revision ids, revnos, exit codes), not its prose.
 */
import { run, type RunResult } from '../../core/index.js';

export interface BrzEnv {
  /** Private HOME directory (created by the caller). */
  home: string;
  /** `BRZ_SSH`: path of the ssh wrapper, when ssh is needed. */
  ssh?: string;
  /** `SSH_AUTH_SOCK` of the slave's own agent (no key secret configured). */
  authSock?: string;
  signal?: AbortSignal;
}

export interface Identity {
  name: string;
  email: string;
}

/** Only brz's core plugins: none from site-packages, the user's config dir or entry points. */
export const BRZ_PLUGIN_PATH = '-site:-user:-entrypoints';
/** Core plugins that act on commits or merges when configured: never wanted here. */
export const BRZ_DISABLE_PLUGINS = 'changelog_merge:news_merge:po_merge:commitfromnews:email:flake8:upload';

/** Runs `brz <args>` in `cwd`; never throws for a non-zero exit (read `exitCode`). */
export async function brz(env: BrzEnv, cwd: string, args: readonly string[], committer?: Identity): Promise<RunResult> {
  return run(['brz', ...args], {
    cwd,
    reject: false,
    signal: env.signal,
    env: {
      HOME: env.home,
      LANG: 'C.UTF-8',
      LC_ALL: 'C.UTF-8',
      BRZ_PROGRESS_BAR: 'none',
      BRZ_EMAIL: committer ? `${committer.name} <${committer.email}>` : 'byoci <byoci@localhost.invalid>',
      BRZ_SSH: env.ssh,
      SSH_AUTH_SOCK: env.authSock,
      BRZ_PLUGIN_PATH: BRZ_PLUGIN_PATH,
      BRZ_DISABLE_PLUGINS: BRZ_DISABLE_PLUGINS,
    },
  });
}

/** Like `brz()` but throws with brz's last error line when the exit code is not 0. */
export async function brzOk(env: BrzEnv, cwd: string, args: readonly string[], what: string, committer?: Identity): Promise<string> {
  const result = await brz(env, cwd, args, committer);
  if (result.exitCode !== 0) throw new Error(`${what} failed (brz exit code ${result.exitCode}): ${lastLine(result)}`);
  return result.stdout;
}

/** Lines ssh prints on a failed login or host key check (they reach brz's stderr as they are). */
const SSH_REASON = /^(\S+: )?(Permission denied|Host key verification failed|No \S+ host key is known|ssh: |kex_exchange_identification|Connection (closed|refused|timed out)|@+ WARNING)/;

/**
 * The last meaningful line brz printed on stderr (its `brz: ERROR: ...`), after ssh's own
 * reason when ssh printed one (`Permission denied (publickey).`): brz's own line alone only
 * says the connection closed.
 */
export function lastLine(result: Pick<RunResult, 'stderr' | 'stdout'>): string {
  const lines = `${result.stderr}\n${result.stdout}`.split('\n').map((l) => l.trim()).filter(Boolean);
  const error = lines.filter((l) => l.startsWith('brz: ERROR:'));
  const last = error[error.length - 1] ?? lines[lines.length - 1] ?? '(no output)';
  const ssh = [...new Set(lines.filter((l) => SSH_REASON.test(l)))].slice(-3);
  return ssh.length ? `${ssh.join(' | ')} | ${last}` : last;
}

/** A dotted revno (`12`, `3.1.4`) as `revision-info` prints it for a revision in the branch's ancestry. */
const REVNO = /^\d+(\.\d+)*$/;

/**
 * `brz revision-info` of `revision` (default: the tip) in the branch at `location`.
 * Answers `{revno, revid}`; `revno` is undefined when the revision is not in the branch's
 * ancestry (brz prints `???`). Throws when brz cannot open the branch.
 */
export async function revisionInfo(
  env: BrzEnv,
  cwd: string,
  location: string,
  revid?: string,
): Promise<{ revno: string | undefined; revid: string } | undefined> {
  const args = ['revision-info', `--directory=${location}`];
  if (revid !== undefined) args.push(`--revision=revid:${revid}`);
  const result = await brz(env, cwd, args);
  if (result.exitCode !== 0) throw new BranchError(location, lastLine(result));
  const line = result.stdout.split('\n').find((l) => l.trim().length > 0);
  if (!line) return undefined;
  const space = line.indexOf(' ');
  const revno = line.slice(0, space);
  return { revno: REVNO.test(revno) ? revno : undefined, revid: line.slice(space + 1).trim() };
}

/** The tip revision id of a branch (`null:` for an empty one). */
export async function tipOf(env: BrzEnv, cwd: string, location: string): Promise<string> {
  const info = await revisionInfo(env, cwd, location);
  if (!info) throw new BranchError(location, 'revision-info printed nothing');
  return info.revid;
}

/** True when `revid` is the tip of the branch at `location` or in its ancestry. */
export async function inAncestry(env: BrzEnv, cwd: string, location: string, revid: string): Promise<boolean> {
  const info = await revisionInfo(env, cwd, location, revid);
  return info?.revno !== undefined;
}

/** brz could not open or read a branch. */
export class BranchError extends Error {
  override readonly name = 'BranchError';
  constructor(
    readonly location: string,
    readonly detail: string,
  ) {
    super(`cannot read the bzr branch ${location}: ${detail}`);
  }
}

/**
 * The sha1 of the strict testament of `revid` in the branch at `location`: a digest of the
 * revision's metadata and of every file's content, kind and executable bit
 * (`brz testament --strict`, "sha1:" line of the short form). Throws when brz cannot say.
 */
export async function testamentSha(env: BrzEnv, cwd: string, location: string, revid: string): Promise<string> {
  const result = await brz(env, cwd, ['testament', '--strict', `--revision=revid:${revid}`, '--', location]);
  if (result.exitCode !== 0) throw new BranchError(location, lastLine(result));
  const sha = /^sha1: ([0-9a-f]{40})$/m.exec(result.stdout)?.[1];
  if (!sha) throw new BranchError(location, 'brz testament printed no sha1');
  return sha;
}
