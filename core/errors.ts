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

/**
 * Operator-facing error codes: stable names (scripts and the CLI match on them, never on
 * the message text) and the hint byoci prints under the error. Documented in docs/errors.md;
 * a code is never renamed or reused. The exit code comes from the error's class, not from
 * its code (configuration and usage errors 2, the others 3).
 */
export const OPERATOR_ERRORS = Object.freeze({
  'config-not-given': 'name the configuration file with --config <file> or BYOCI_CONFIG',
  'config-missing': 'create it (README.md, "Quick start", has a complete example) or name another file with --config / BYOCI_CONFIG',
  'config-unreadable': 'the configuration must be a regular UTF-8 file readable by this user, of at most 4 MiB',
  'config-parse': 'fix the YAML at the line and column shown (quote a value holding ": ", " #", "*" or "&")',
  'config-invalid': 'fix the options named above; `byoci doctor` checks the whole configuration, README.md lists every option',
  'plugin-unknown': 'name a built-in plugin (`byoci plugins` lists the loaded ones), a path starting with . or /, or an installed npm package',
  'plugin-load': 'the plugin could not be imported: install it and its dependencies beside the config file; BYOCI_DEBUG=1 prints the stack',
  'plugin-api-version': 'use a version of the plugin written for this byoci (docs/plugins.md, "Publishing and loading")',
  'verify-failed': '`byoci doctor` lists every problem with its fix',
  'secret-missing': 'store it with `byoci secrets set <plugin>/<name>` (or set BYOCI_SECRET_<PLUGIN>_<NAME> in the environment)',
  'secret-store': 'fix the secret store named in the message (secrets.order in the config, its file modes or the Secret Service)',
  'store-unusable': "check that the store's directory exists and is writable by the slave user (store.path, else <workdir>/byoci.db)",
  'store-newer': 'the store was written by a newer byoci: upgrade this slave, or point store.path elsewhere',
  'store-locked': 'another byoci process held the store for longer than its busy timeout: check for a hung bot or brain (`byoci queue`), then rerun',
  'usage': '`byoci <command> --help` shows the options and arguments',
  'forge-answer': "the forge answered something byoci cannot use: nothing was posted; check the forge's status and rerun",
  'internal': 'a bug or an environment problem: rerun with BYOCI_DEBUG=1 for the stack trace and report it',
} as const);

export type OperatorErrorCode = keyof typeof OPERATOR_ERRORS;

export function isOperatorErrorCode(code: unknown): code is OperatorErrorCode {
  return typeof code === 'string' && Object.hasOwn(OPERATOR_ERRORS, code);
}

/** One configuration problem, located in its file when known. */
export interface ConfigProblem {
  message: string;
  file?: string;
  line?: number;
  column?: number;
  /** Dotted path of the option, e.g. `projects.demo.test.command`. */
  path?: string;
  /** What kind of problem (default `config-invalid`): the error's code when all agree. */
  code?: OperatorErrorCode;
}

export function formatProblem(p: ConfigProblem): string {
  const where = p.file ? `${p.file}${p.line ? `:${p.line}${p.column ? `:${p.column}` : ''}` : ''}: ` : '';
  const path = p.path ? `${p.path}: ` : '';
  return `${where}${path}${p.message}`;
}

export interface OperatorErrorOptions {
  code?: OperatorErrorCode;
  /** Replaces the catalogue's hint (a more precise one). */
  hint?: string;
  cause?: unknown;
}

/** Invalid configuration; every problem at once. Exit code 2. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly problems: readonly ConfigProblem[];
  /** `config-missing`, `config-parse`, `plugin-unknown`…; `config-invalid` when the problems differ. */
  readonly code: OperatorErrorCode;
  readonly hint: string;

  constructor(problems: ConfigProblem[], options: OperatorErrorOptions = {}) {
    super(
      `${problems.length} configuration problem${problems.length === 1 ? '' : 's'}:\n` +
        problems.map((p) => `  - ${formatProblem(p)}`).join('\n'),
      options.cause === undefined ? undefined : { cause: options.cause },
    );
    this.problems = problems;
    const codes = new Set(problems.map((p) => p.code ?? 'config-invalid'));
    this.code = options.code ?? (codes.size === 1 ? [...codes][0]! : 'config-invalid');
    this.hint = options.hint ?? OPERATOR_ERRORS[this.code];
  }
}

/** Wrong command-line usage. Exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  readonly code: OperatorErrorCode;
  readonly hint: string;

  constructor(message: string, options: OperatorErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = options.code ?? 'usage';
    this.hint = options.hint ?? OPERATOR_ERRORS[this.code];
  }
}

/**
 * An environment problem for the operator (a missing secret, an unusable store), with its
 * code and hint. Exit code 3, like any error that is not about configuration or usage.
 */
export class OperatorError extends Error {
  override readonly name = 'OperatorError';
  readonly hint: string;

  constructor(
    readonly code: OperatorErrorCode,
    message: string,
    options: Omit<OperatorErrorOptions, 'code'> = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.hint = options.hint ?? OPERATOR_ERRORS[code];
  }
}

/**
 * The code and hint of an error that reached the top, looking through a plugin's wrapping.
 * Errors of store/ and secrets/ (which import nothing from core) carry a catalogue code of
 * their own; SQLite's busy error is `store-locked`; anything else is `internal`.
 */
export function describeError(error: unknown): { code: OperatorErrorCode; hint: string } {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if (e instanceof ConfigError || e instanceof UsageError || e instanceof OperatorError) return { code: e.code, hint: e.hint };
    if (e instanceof ForgeAnswerError) return { code: 'forge-answer', hint: OPERATOR_ERRORS['forge-answer'] };
    const own = e as Error & { code?: unknown; hint?: unknown; fix?: unknown };
    if (own.code === 'SQLITE_BUSY' || own.code === 'SQLITE_LOCKED') return { code: 'store-locked', hint: OPERATOR_ERRORS['store-locked'] };
    if (isOperatorErrorCode(own.code)) {
      const hint = typeof own.hint === 'string' ? own.hint : typeof own.fix === 'string' ? own.fix : OPERATOR_ERRORS[own.code];
      return { code: own.code, hint };
    }
    if (!(e instanceof PluginError)) break;
  }
  return { code: 'internal', hint: OPERATOR_ERRORS.internal };
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
