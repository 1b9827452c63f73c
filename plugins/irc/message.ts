/**
 * From an Outcome to the channels it goes to and the one line said there.
 */
import type { Outcome } from '../../hooks/index.js';
import type { EventName, IrcConfig, Route } from './config.js';
import { MAX_LINE_BYTES } from './session.js';
import { byteLength } from './sanitize.js';
import { renderLine, type Fields } from './template.js';

/** Rejection codes announced with the `testsFailed` template. */
const TEST_FAILURES = new Set(['setup-failed', 'tests-failed', 'tests-timeout', 'tests-silent', 'tests-oom']);

export function routesFor(config: IrcConfig, outcome: Outcome): Route[] {
  const seen = new Set<string>();
  const out: Route[] = [];
  const { proposal, project } = outcome;
  for (const route of config.channels) {
    const events: readonly EventName[] = route.events ?? config.events;
    if (!events.includes(outcome.kind)) continue;
    if (route.projects && !route.projects.includes(project.name)) continue;
    if (route.targets && !route.targets.some((t) => t === proposal.target.branch || t === proposal.target.url)) continue;
    const folded = route.channel.toLowerCase();
    if (seen.has(folded)) continue;
    seen.add(folded);
    out.push(route);
  }
  return out;
}

/** Last non-empty line of test output: usually the summary ("FAILED (failures=2)"). */
function lastLine(text: string | undefined): string | undefined {
  if (!text) return undefined;
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
  return lines[lines.length - 1];
}

export function templateFor(config: IrcConfig, outcome: Outcome): string {
  switch (outcome.kind) {
    case 'started':
      return config.templates.started;
    case 'landed':
      return config.templates.landed;
    case 'rejected':
      return TEST_FAILURES.has(outcome.rejection.code) ? config.templates.testsFailed : config.templates.rejected;
    case 'error':
      return config.templates.error;
  }
}

export function fieldsOf(outcome: Outcome, buildUrl: string | undefined): Fields {
  const { proposal, project } = outcome;
  const fields: Fields = {
    project: project.name,
    proposal: proposal.id,
    title: proposal.title,
    url: proposal.url,
  };
  const build = outcome.buildUrl ?? buildUrl;
  if (build) fields.buildUrl = build;
  if (outcome.kind === 'landed') fields.revision = outcome.revision;
  if (outcome.kind === 'rejected') {
    fields.reason = outcome.rejection.reason;
    fields.code = outcome.rejection.code;
    const output = lastLine(outcome.rejection.details) ?? lastLine(outcome.test?.outputTail);
    if (output) fields.output = output;
  }
  if (outcome.kind === 'error') fields.reason = outcome.message;
  return fields;
}

/**
 * Bytes left for the text of `PRIVMSG <channel> :<text>`: 512 minus CRLF, the command
 * and, so that other clients receive it whole, the `:nick!user@host ` prefix the server
 * adds when relaying (host names are at most 63 bytes).
 */
export function textBudget(channel: string, nick: string, username: string): number {
  const command = byteLength(`PRIVMSG ${channel} :`);
  const relayPrefix = byteLength(`:${nick}!~${username}@ `) + 63;
  return MAX_LINE_BYTES - 2 - command - relayPrefix;
}

/** The line announcing `outcome` in `channel`. */
export function lineFor(
  config: IrcConfig,
  outcome: Outcome,
  channel: string,
  nick: string,
  buildUrl: string | undefined,
  redact: (text: string) => string,
): string {
  return renderLine(templateFor(config, outcome), fieldsOf(outcome, buildUrl), textBudget(channel, nick, config.username), redact);
}
