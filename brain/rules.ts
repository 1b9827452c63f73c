/**
 * Rules: which Jenkins job an event builds, with which parameters. A rule matches on the
 * event kind, the source, the repository, the branch and (per kind) the label, the command
 * or the check name. Land rules (`land: true`) coalesce: every event of a burst on one
 * target joins the same pending trigger (see journal.ts).
 */
import type { Rule } from './config.js';
import { normaliseRepo, type BrainEvent } from './events.js';

export interface Decision {
  rule: string;
  job: string;
  /** Parameters, already expanded from the event (the brain adds BYOCI_DECISION when sending). */
  params: Record<string, string>;
  /** Set for land rules: events with the same key join one pending trigger. */
  coalesceKey?: string;
}

/** The parameter every build the brain starts carries: the decision's id. */
export const DECISION_PARAM = 'BYOCI_DECISION';

function sameRepo(event: BrainEvent, rule: Rule): boolean {
  const wanted = normaliseRepo(rule.repo);
  // GitHub owner and repository names are case-insensitive; Launchpad paths are not.
  return event.source === 'github' ? wanted.toLowerCase() === event.repo.toLowerCase() : wanted === event.repo;
}

function isCommand(comment: string | undefined, command: string): boolean {
  if (comment === undefined) return false;
  const text = comment.trim();
  return text.toLowerCase() === command.toLowerCase() || text.toLowerCase().startsWith(command.toLowerCase() + ' ');
}

export function matches(rule: Rule, event: BrainEvent): boolean {
  if (event.kind === 'ping' || event.kind === 'ignored') return false;
  if (!rule.on.includes(event.kind)) return false;
  if (rule.source && rule.source !== event.source) return false;
  if (!sameRepo(event, rule)) return false;
  // An event that does not say its branch (a PR comment) matches every branch of the repo.
  if (rule.branch && event.branches.length && !event.branches.includes(rule.branch)) return false;
  if (event.kind === 'pr-labelled' && rule.label && event.label !== rule.label) return false;
  if (event.kind === 'pr-command' && !isCommand(event.comment, rule.command)) return false;
  if (event.kind === 'remote-ci' && rule.checks && !(event.check && rule.checks.includes(event.check))) return false;
  return true;
}

/** The value of `${field}` for an event under a rule. */
function field(name: string, event: BrainEvent, rule: Rule): string | undefined {
  switch (name) {
    case 'branch':
      return rule.branch && (event.branches.length === 0 || event.branches.includes(rule.branch)) ? rule.branch : event.branches[0] ?? '';
    case 'rule':
      return rule.name;
    case 'source':
    case 'delivery':
    case 'name':
    case 'kind':
    case 'repo':
    case 'proposal':
    case 'revision':
    case 'label':
    case 'check':
    case 'conclusion':
    case 'sender':
    case 'summary':
      return (event[name] as string | undefined) ?? '';
    default:
      return undefined;
  }
}

export const PARAM_FIELDS = ['source', 'delivery', 'name', 'kind', 'repo', 'branch', 'proposal', 'revision', 'label', 'check', 'conclusion', 'sender', 'summary', 'rule'];

/** `${field}` references a rule's params use that no event has (config problems). */
export function unknownFields(rule: Rule): string[] {
  const out: string[] = [];
  for (const value of Object.values(rule.params)) {
    for (const m of value.matchAll(/\$\{([^}]*)\}/g)) if (!PARAM_FIELDS.includes(m[1] as string)) out.push(m[1] as string);
  }
  return out;
}

export function expand(template: string, event: BrainEvent, rule: Rule): string {
  return template.replace(/\$\{([^}]*)\}/g, (whole, name: string) => field(name, event, rule) ?? whole);
}

/** Every decision an event leads to, in rule order. */
export function decide(rules: readonly Rule[], event: BrainEvent): Decision[] {
  const out: Decision[] = [];
  for (const rule of rules) {
    if (!matches(rule, event)) continue;
    const params: Record<string, string> = {};
    for (const [k, v] of Object.entries(rule.params)) params[k] = expand(v, event, rule);
    out.push({ rule: rule.name, job: rule.job, params, ...(rule.land ? { coalesceKey: `land:${rule.name}` } : {}) });
  }
  return out;
}
