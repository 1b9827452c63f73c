/**
 * Text byoci posts on pull requests and the hidden markers that make posting idempotent.
 * A marker names the trigger it answers: a rerun finds it and posts nothing, and the
 * trigger counts as handled until a writer triggers again.
 */

const MARKER = /<!-- byoci:answer trigger=([\w-]+) code=([\w-]+) -->/g;

export function marker(triggerId: string, code: string): string {
  return `<!-- byoci:answer trigger=${triggerId} code=${code} -->`;
}

/**
 * Trigger ids answered by a comment body: the marker byoci writes as the comment's first
 * line. A marker anywhere else (inside quoted test output, in a quote of the comment) is
 * text, not an answer. Only comments the bot authored count (see `botAnswers`).
 */
export function answeredTriggers(body: string): string[] {
  const first = body.split(/\r?\n/, 1)[0]!.trim();
  return [...first.matchAll(MARKER)].filter((m) => m.index === 0 && m[0].length === first.length).map((m) => m[1] as string);
}

/** The trigger ids the bot answered, from the comments it authored. */
export function botAnswers(comments: readonly { user?: { login: string } | null; body?: string | null }[], botLogin: string): Set<string> {
  const out = new Set<string>();
  for (const c of comments) {
    if (c.user?.login !== botLogin || !c.body) continue;
    for (const id of answeredTriggers(c.body)) out.add(id);
  }
  return out;
}

/** Whether the bot already posted the answer `wanted` (its marker) in one of its comments. */
export function botAnswered(comments: readonly { user?: { login: string } | null; body?: string | null }[], botLogin: string, wanted: string): boolean {
  return comments.some((c) => c.user?.login === botLogin && !!c.body && c.body.split(/\r?\n/, 1)[0]!.trim() === wanted);
}

/** Whether one line of `body` is `command` (surrounding blanks and case ignored). */
export function hasCommand(body: string, command: string): boolean {
  const wanted = command.trim().toLowerCase();
  return body.split(/\r?\n/).some((line) => line.trim().toLowerCase() === wanted);
}

/**
 * Untrusted text for Markdown prose: no mentions, no HTML (so no forged markers), no links or
 * images in disguise (`[release notes](https://…)`, `![](…)`): brackets are backslash-escaped,
 * which CommonMark shows as the characters themselves, and so is the backslash (a test name
 * `a\[b]` must not unescape our escape). Bare URLs still show as what they are.
 */
export function inertText(text: string): string {
  return text
    .replace(/[\\[\]]/g, '\\$&')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/@(?=[\w-])/g, '@\u200b')
    .replace(/#(?=\d)/g, '#\u200b');
}

/** A fenced block that the text cannot close, whatever backticks it holds. */
export function codeBlock(text: string): string {
  const longest = Math.max(0, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = '`'.repeat(Math.max(3, longest + 1));
  return `${fence}\n${text}\n${fence}`;
}

/** The last `max` characters of `text`, cut at a line start, with a note when cut. */
export function tail(text: string, max: number): string {
  if (text.length <= max) return text;
  const cut = text.slice(text.length - max);
  const nl = cut.indexOf('\n');
  const body = nl >= 0 && nl < cut.length - 1 ? cut.slice(nl + 1) : cut;
  return `[... ${text.length - body.length} characters cut ...]\n${body}`;
}

export interface RejectionComment {
  triggerId: string;
  code: string;
  reason: string;
  /** A batched proposal: which runs it was in and why it was judged the culprit (untrusted ids inside). */
  batch?: string;
  details?: string;
  buildUrl?: string;
  headSha: string;
  maxDetails: number;
  /** Masks secrets; applied to everything that came from outside. */
  redact: (text: string) => string;
}

export function rejectionComment(c: RejectionComment): string {
  const lines = [
    marker(c.triggerId, c.code),
    `byoci did not land this pull request (head ${c.headSha.slice(0, 12)}).`,
    '',
    inertText(c.redact(c.reason)),
  ];
  if (c.batch) lines.push('', inertText(c.redact(c.batch)));
  if (c.buildUrl) lines.push('', `Build: ${inertText(c.redact(c.buildUrl))}`);
  const details = c.details ? tail(c.redact(c.details), c.maxDetails) : '';
  if (details.trim()) lines.push('', codeBlock(details));
  return lines.join('\n');
}

export interface LandedComment {
  triggerId: string;
  revision: string;
  headSha: string;
  /** Which batch run it landed in, with whom, and the runs it was in. */
  batch: string;
  buildUrl?: string;
  redact: (text: string) => string;
}

/** The comment of a landing made in a batch (a landing alone says nothing but its status). */
export function landedComment(c: LandedComment): string {
  const lines = [
    marker(c.triggerId, 'landed'),
    `byoci landed this pull request (head ${c.headSha.slice(0, 12)}) as ${c.revision.slice(0, 12)}.`,
    '',
    inertText(c.redact(c.batch)),
  ];
  if (c.buildUrl) lines.push('', `Build: ${inertText(c.redact(c.buildUrl))}`);
  return lines.join('\n');
}
