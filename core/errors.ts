/**
 * The error catalogue. Two families that must never be confused:
 * - `Rejection`: an expected end for a proposal (tests failed, conflict...). Its `reason`
 *   is written for the proposal's author and goes into the comment. Exit code 1.
 * - everything else: a bug or an environment problem for the operator. Exit code 3,
 *   except `ConfigError` / `UsageError` (exit 2).
 */

/** Rejection codes and the text posted for each; `{field}` placeholders are filled in. */
export const REJECTIONS = Object.freeze({
  'no-commit-message': 'The proposal has no commit message. Set one (or a description) and approve again.',
  'invalid-commit-message': 'The commit message cannot be stored by git: {detail}. Edit it and approve again.',
  'votes': 'The votes do not meet the landing criteria ({criteria}): {detail}.',
  'untrusted-approval': 'Approved only by reviewers who are not trusted for {target}: {reviewers}.',
  'no-approved-revision': 'The proposal has no reviewed revision: approve it again so the approved revision is recorded.',
  'changes-after-approval': 'Unapproved changes were made after approval: the source is at {tip}, the approved revision is {approved}. Review and approve again.',
  'approved-revision-missing': 'The approved revision {approved} is not on the source branch {branch}.',
  'approved-revision-abbreviated': 'The approved revision {approved} is not a full commit id (40 or 64 hexadecimal digits): an abbreviated id can match a later commit with other content. Record the full id of the reviewed commit and approve again.',
  'approved-content-changed': 'The approved revision {approved} on {branch} no longer has the reviewed content: its strict testament is sha1 {actual}, the reviewed one was {expected}. Review the branch again and approve it again.',
  'nothing-to-merge': 'There is nothing to merge: {target} already contains the approved revision {approved}.',
  'merge-conflict': 'The proposal does not merge cleanly into {target}. Conflicts in: {files}.',
  'setup-failed': 'The setup command failed (exit code {exitCode}).',
  'tests-failed': 'The tests failed (exit code {exitCode}){tests}.',
  'tests-timeout': 'The tests were killed after {seconds} s in total (timeout).',
  'tests-silent': 'The tests were killed after printing nothing for {seconds} s (no-output timeout).',
  'tests-oom': 'The tests were killed for exceeding the memory limit ({limit}).',
  'remote-failed': 'The required result {name} from {site} is {result} for revision {revision}{link}.{detail}',
  'remote-timeout': 'Taken out of the landing queue: the required result {name} from {site} was still {state} for revision {revision} after {seconds} s. Approve again once it has reported (or ask the operators to check that the remote job runs).',
  'push-rejected': 'The push to {target} was rejected as not a fast-forward: the target moved while the proposal was being tested. It will be tried again on the next run.',
  'trunk-kept-moving': 'The target {target} moved during each of {rounds} test runs of this proposal, so the tested merge could never be pushed as tested. Approve it again to put it back in the queue.',
  'source-unavailable': 'The source branch {branch} could not be fetched: {detail}.',
} as const);

export type RejectionCode = keyof typeof REJECTIONS;

function fill(template: string, fields: Record<string, unknown>): string {
  return template.replace(/\{(\w+)\}/g, (whole, key: string) =>
    key in fields ? String(fields[key]) : whole,
  );
}

/** An expected end of a proposal's landing; `reason` is posted on the proposal. */
export class Rejection extends Error {
  override readonly name = 'Rejection';
  readonly code: RejectionCode;
  readonly reason: string;
  readonly details: string | undefined;

  constructor(code: RejectionCode, fields: Record<string, unknown> = {}, details?: string) {
    const reason = fill(REJECTIONS[code], fields);
    super(reason);
    this.code = code;
    this.reason = reason;
    this.details = details;
  }
}

/** One configuration problem, located in its file when known. */
export interface ConfigProblem {
  message: string;
  file?: string;
  line?: number;
  column?: number;
  /** Dotted path of the option, e.g. `projects.demo.test.command`. */
  path?: string;
}

export function formatProblem(p: ConfigProblem): string {
  const where = p.file ? `${p.file}${p.line ? `:${p.line}${p.column ? `:${p.column}` : ''}` : ''}: ` : '';
  const path = p.path ? `${p.path}: ` : '';
  return `${where}${path}${p.message}`;
}

/** Invalid configuration; every problem at once. Exit code 2. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly problems: readonly ConfigProblem[];

  constructor(problems: ConfigProblem[]) {
    super(
      `${problems.length} configuration problem${problems.length === 1 ? '' : 's'}:\n` +
        problems.map((p) => `  - ${formatProblem(p)}`).join('\n'),
    );
    this.problems = problems;
  }
}

/** Wrong command-line usage. Exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** An error thrown inside a plugin's tap, stamped with where it happened. Exit code 3. */
export class PluginError extends Error {
  override readonly name = 'PluginError';
  readonly plugin: string;
  readonly hook: string;

  constructor(plugin: string, hook: string, cause: unknown) {
    const message = cause instanceof Error ? cause.message : String(cause);
    super(`[${plugin}/${hook}] ${message}`, { cause });
    this.plugin = plugin;
    this.hook = hook;
  }
}

/**
 * A forge answered something byoci cannot use: the wrong shape (`null` where an entry is
 * due, an HTML page, a vote without its comment), too large, too many pages, a redirect to
 * another origin. The forge's fault, never the proposal's: the proposal keeps its status,
 * nothing is posted on it, and the run ends as an internal error (exit 3).
 */
export class ForgeAnswerError extends Error {
  override readonly name = 'ForgeAnswerError';
  constructor(
    /** `Launchpad`, `GitHub`. */
    readonly forge: string,
    /** What was asked, e.g. `GET ~owner/project/+git/repo (ws.op=getRefByPath)`. */
    readonly resource: string,
    /** What was expected and what came, e.g. `expected true or false, got null`. */
    readonly problem: string,
  ) {
    super(`${forge} answered ${resource} with something byoci cannot use: ${problem}`);
  }
}

/** Whether `error` (or the error a plugin error wraps) is a bad forge answer. */
export function asForgeAnswerError(error: unknown): ForgeAnswerError | undefined {
  if (error instanceof ForgeAnswerError) return error;
  if (error instanceof Error && error.cause instanceof ForgeAnswerError) return error.cause;
  return undefined;
}

/** A tap that did not finish in time. */
export class TimeoutError extends Error {
  override readonly name = 'TimeoutError';
}

/** Documented exit codes of the CLI. */
export const EXIT = Object.freeze({
  ok: 0,
  rejected: 1,
  usage: 2,
  internal: 3,
});

/** Exit code for an error that escaped to the top. */
export function exitCodeFor(error: unknown): number {
  if (error instanceof ConfigError || error instanceof UsageError) return EXIT.usage;
  if (error instanceof Rejection) return EXIT.rejected;
  return EXIT.internal;
}

/** The Rejection carried by an error, looking through PluginError wrapping. */
export function asRejection(error: unknown): Rejection | undefined {
  if (error instanceof Rejection) return error;
  if (error instanceof PluginError && error.cause instanceof Rejection) return error.cause;
  return undefined;
}
