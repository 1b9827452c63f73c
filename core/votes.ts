/**
 * Voting criteria in Tarmac's style, shared by every forge:
 *
 *   "Approve >= 1, Disapprove == 0, Needs Fixing == 0"
 *
 * A criterion is `<vote> <operator> <count>`; criteria are separated by commas (or
 * semicolons) and must all hold. Only votes of trusted reviewers are counted.
 * Vote names are matched case-insensitively against `Vote['vote']`.
 */
import type { Vote } from '../hooks/types.js';

export type VoteValue = Vote['vote'];

export const VOTE_VALUES: readonly VoteValue[] = Object.freeze([
  'Approve',
  'Needs Fixing',
  'Disapprove',
  'Abstain',
  'Needs Information',
  'Needs Resubmitting',
  'Pending',
]);

export type Operator = '>=' | '<=' | '==' | '!=' | '>' | '<';

export interface Criterion {
  vote: VoteValue;
  op: Operator;
  count: number;
}

export interface Criteria {
  /** The normalised text, e.g. for messages: `Approve >= 1, Disapprove == 0`. */
  readonly text: string;
  readonly items: readonly Criterion[];
}

/** The landing rule of the original byoci: one approval, nothing pending or negative. */
export const DEFAULT_CRITERIA =
  'Approve >= 1, Disapprove == 0, Needs Fixing == 0, Needs Information == 0, Needs Resubmitting == 0, Pending == 0';

/** A criteria text that does not parse; the message names the clause and what is allowed. */
export class CriteriaError extends Error {
  override readonly name = 'CriteriaError';
}

const CLAUSE = /^(.+?)\s*(>=|<=|==|!=|=|>|<)\s*(\d+)$/;

function voteNamed(name: string): VoteValue | undefined {
  const wanted = name.trim().replace(/\s+/g, ' ').toLowerCase();
  return VOTE_VALUES.find((v) => v.toLowerCase() === wanted);
}

/** Parses a criteria text; throws CriteriaError naming the faulty clause. */
export function parseCriteria(text: string): Criteria {
  const clauses = text
    .split(/[,;]/)
    .map((c) => c.trim())
    .filter((c) => c.length > 0);
  if (clauses.length === 0) throw new CriteriaError('voting criteria are empty: expected e.g. "Approve >= 1, Disapprove == 0"');
  const items: Criterion[] = [];
  for (const clause of clauses) {
    const m = CLAUSE.exec(clause);
    if (!m) {
      throw new CriteriaError(
        `voting criterion ${JSON.stringify(clause)} is not "<vote> <op> <count>" (op: >=, <=, ==, !=, >, <)`,
      );
    }
    const vote = voteNamed(m[1]!);
    if (!vote) {
      throw new CriteriaError(
        `voting criterion ${JSON.stringify(clause)}: unknown vote ${JSON.stringify(m[1]!.trim())} (known: ${VOTE_VALUES.join(', ')})`,
      );
    }
    const op = (m[2] === '=' ? '==' : m[2]) as Operator;
    items.push({ vote, op, count: Number(m[3]) });
  }
  return Object.freeze({ text: items.map(formatCriterion).join(', '), items: Object.freeze(items) });
}

export function formatCriterion(c: Criterion): string {
  return `${c.vote} ${c.op} ${c.count}`;
}

function holds(actual: number, op: Operator, expected: number): boolean {
  switch (op) {
    case '>=':
      return actual >= expected;
    case '<=':
      return actual <= expected;
    case '==':
      return actual === expected;
    case '!=':
      return actual !== expected;
    case '>':
      return actual > expected;
    case '<':
      return actual < expected;
  }
}

export interface VoteEvaluation {
  ok: boolean;
  /** Human-readable: what failed (`Approve: 0 (needs >= 1); Needs Fixing: 1 (needs == 0)`) or the counts. */
  detail: string;
  /** Trusted votes counted per value. */
  counts: Record<VoteValue, number>;
  /** The criteria that failed. */
  failed: Criterion[];
  /** Reviewers whose votes were ignored because they are not trusted. */
  ignored: string[];
}

/** Counts the trusted votes and checks every criterion. */
export function evaluateVotes(votes: readonly Vote[], criteria: Criteria | string): VoteEvaluation {
  const parsed = typeof criteria === 'string' ? parseCriteria(criteria) : criteria;
  const counts = Object.fromEntries(VOTE_VALUES.map((v) => [v, 0])) as Record<VoteValue, number>;
  const ignored: string[] = [];
  for (const v of votes) {
    if (!v.trusted) {
      if (!ignored.includes(v.reviewer)) ignored.push(v.reviewer);
      continue;
    }
    counts[v.vote] += 1;
  }
  const failed = parsed.items.filter((c) => !holds(counts[c.vote], c.op, c.count));
  const detail = failed.length
    ? failed.map((c) => `${c.vote}: ${counts[c.vote]} (needs ${c.op} ${c.count})`).join('; ')
    : parsed.items.map((c) => `${c.vote}: ${counts[c.vote]}`).join(', ');
  return { ok: failed.length === 0, detail, counts, failed, ignored };
}
