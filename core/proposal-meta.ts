/**
 * Forge-private proposal data (`Proposal.meta`), typed inside its forge. A forge declares
 * the schema of what it keeps (`forge.meta`); core never reads the value. Each proposal a
 * forge's `discover` tap returns is validated against that schema once, right after the tap
 * (a mismatch is the forge's bug: `[forge/discover] …`; a proposal listed without meta is
 * let through); the forge reads the value back,
 * typed, with `api.proposalMeta(proposal)`. A value that did not come through discovery (a
 * proposal built by a test, reloaded from a file or a journal) is validated on first read,
 * with an error naming the proposal, the forge and what is wrong.
 */
import type { z } from 'zod';
import type { Proposal } from '../hooks/index.js';
import type { AnyPlugin } from './plugin.js';
import { describeIssue } from './zod-issues.js';

/** Meta objects already validated, by forge name: what discovery returned and what was read back. */
const validated = new WeakMap<object, { forge: string; value: unknown }>();

function remember(raw: unknown, forge: string, value: unknown): void {
  if (raw !== null && typeof raw === 'object') validated.set(raw, { forge, value });
  if (value !== null && typeof value === 'object') validated.set(value, { forge, value });
}

function problems(error: z.ZodError): string {
  return error.issues.map((issue) => `${issue.path.length ? `${issue.path.join('.')}: ` : ''}${describeIssue(issue)}`).join('; ');
}

/** Validates `meta` against a forge's schema; throws naming proposal, forge and the problems. */
export function parseProposalMeta(forge: string, schema: z.ZodTypeAny, proposal: Pick<Proposal, 'id' | 'meta'>, when: string): unknown {
  const raw = proposal.meta;
  if (raw !== null && typeof raw === 'object') {
    const known = validated.get(raw);
    if (known && known.forge === forge) return known.value;
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    if (raw === undefined) throw new Error(`proposal ${proposal.id}: ${when}, it carries no ${forge} data (Proposal.meta): was it discovered by ${forge}?`);
    throw new Error(`proposal ${proposal.id}: ${when}, its ${forge} data (Proposal.meta) does not match the forge's meta schema: ${problems(parsed.error)}`);
  }
  remember(raw, forge, parsed.data);
  return parsed.data;
}

/**
 * What a forge's discover tap returned, with the meta of its own proposals validated (and
 * replaced by the parsed value, defaults applied). Proposals of other forges pass as they are.
 */
export function checkDiscovered(plugin: AnyPlugin, proposals: unknown): unknown {
  const schema = plugin.forge?.meta as z.ZodTypeAny | undefined;
  if (!schema || !Array.isArray(proposals)) return proposals;
  return proposals.map((p: Proposal) => {
    // No meta at all: a proposal the forge lists without being able to report on it (one
    // waiting on an internal error); reading it back says so.
    if (!p || p.forge !== plugin.name || p.meta === undefined) return p;
    const meta = parseProposalMeta(plugin.name, schema, p, 'as discovered');
    return meta === p.meta ? p : { ...p, meta };
  });
}

/** `api.proposalMeta` of one plugin. */
export function proposalMetaReader(plugin: AnyPlugin): (proposal: Proposal) => unknown {
  return (proposal) => {
    const schema = plugin.forge?.meta as z.ZodTypeAny | undefined;
    if (!schema) throw new Error(`plugin ${plugin.name} declares no forge.meta schema: it has no proposal data to read`);
    if (proposal.forge !== plugin.name) {
      throw new Error(`proposal ${proposal.id} was discovered by ${proposal.forge}, not ${plugin.name}: its data is not ${plugin.name}'s to read`);
    }
    return parseProposalMeta(plugin.name, schema, proposal, 'read back');
  };
}
