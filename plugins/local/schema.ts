/**
 * The proposal file format of the local forge (`<dir>/<id>.yaml`) and the plugin's config.
 * Field names follow Launchpad's merge proposals; see README.md for an example.
 */
import { z } from 'zod';
import { DEFAULT_CRITERIA, parseCriteria, VOTE_VALUES, type VoteValue } from '../../core/index.js';

/** Launchpad's `queue_status` vocabulary. */
export const STATUSES = [
  'Work in progress',
  'Needs review',
  'Approved',
  'Rejected',
  'Merged',
  'Code failed to merge',
  'Queued',
  'Superseded',
] as const;
export type Status = (typeof STATUSES)[number];

/** Closed proposals: not landing candidates, not listed (Launchpad's landing_candidates). */
export const CLOSED_STATUSES: readonly Status[] = ['Merged', 'Rejected', 'Superseded'];

const text = z.string();
const optionalText = z.string().nullish().transform((v) => v ?? undefined);

const branchSchema = z
  .object({
    repo: z.string().min(1, 'is empty: give a repository path or URL'),
    branch: z.string().default(''),
  })
  .passthrough();

export const voteSchema = z
  .object({
    reviewer: z.string().min(1, 'is empty'),
    vote: z.enum(VOTE_VALUES as [VoteValue, ...VoteValue[]], {
      errorMap: () => ({ message: `must be one of: ${VOTE_VALUES.join(', ')}` }),
    }),
    revision: optionalText,
  })
  .passthrough();

export const commentSchema = z
  .object({
    author: text,
    subject: text.default(''),
    body: text.default(''),
    date: optionalText,
  })
  .passthrough();

/** One proposal file, as read with YAML's failsafe schema (every scalar is a string). */
export const proposalFileSchema = z
  .object({
    id: optionalText,
    title: text.default(''),
    /** Web URL of the proposal (used in `Merged from <url>`); default: the file's URL. */
    url: optionalText,
    vcs: z.enum(['git', 'bzr'], { errorMap: () => ({ message: 'must be git or bzr' }) }).default('git'),
    source: branchSchema,
    target: branchSchema,
    approved_revision: optionalText,
    /** bzr: sha1 of `brz testament --strict` of the approved revision, as reviewed (pins content). */
    approved_testament: optionalText,
    status: z.enum(STATUSES, { errorMap: () => ({ message: `must be one of: ${STATUSES.join(', ')}` }) }),
    commit_message: optionalText,
    description: optionalText,
    votes: z.array(voteSchema).nullish().transform((v) => v ?? []),
    comments: z.array(commentSchema).nullish().transform((v) => v ?? []),
    merged_revision: optionalText,
    /** When the proposal was approved (Launchpad's `date_reviewed`): the queue's order. ISO 8601. */
    date_reviewed: optionalText.refine((v) => v === undefined || !Number.isNaN(Date.parse(v)), 'not a date and time (use ISO 8601, e.g. 2026-11-24T06:42:38Z)'),
    /** A priority name of queue.priorities (the local forge's priority label). */
    priority: optionalText,
  })
  .passthrough();

export type ProposalFile = z.output<typeof proposalFileSchema>;

/** Default landing rule: the shared one of core/votes (same as the Launchpad flow). */
export const LOCAL_DEFAULT_CRITERIA = DEFAULT_CRITERIA;

export const configSchema = z
  .object({
    /** Directory of the proposal files; relative to the config file. */
    dir: z.string().min(1, 'must be a directory path').optional(),
    /** Reviewers whose votes count; absent: everyone's. */
    trusted: z.array(z.string().min(1)).optional(),
    /** Voting criteria, e.g. "Approve >= 2, Disapprove == 0". */
    criteria: z
      .string()
      .default(LOCAL_DEFAULT_CRITERIA)
      .superRefine((value, ctx) => {
        try {
          parseCriteria(value);
        } catch (error) {
          ctx.addIssue({ code: z.ZodIssueCode.custom, message: (error as Error).message });
        }
      }),
    /** Name written as the author of the bot's comments (default: the landing user). */
    commentAuthor: z.string().min(1).optional(),
  })
  .strict()
  .default({});

export type LocalConfig = z.output<typeof configSchema>;

/** `<transport>::<address>`: git hands it to git-remote-<transport> (ext:: runs commands). */
const REMOTE_HELPER = /^[A-Za-z0-9][A-Za-z0-9+.-]*::/;

/** How a local target is configured: `{forge: local, repo: <path or URL>, branch: <name>, vcs?}`. */
export const targetSchema = z
  .object({
    repo: z
      .string()
      .min(1, 'names the target repository (path or URL)')
      .refine((repo) => !REMOTE_HELPER.test(repo), {
        message: 'names a git remote helper (<transport>::), which is not allowed: use a path or a URL',
      }),
    branch: z.string().default(''),
    vcs: z.enum(['git', 'bzr'], { errorMap: () => ({ message: 'must be git or bzr' }) }).default('git'),
  })
  .strict();

export type LocalTarget = z.output<typeof targetSchema>;

/**
 * What the local forge keeps in `Proposal.meta` (validated by core at discovery, read back
 * with `api.proposalMeta`): the proposal file, and the branch labels of its comment subject.
 * A file that could not be read is listed with `invalid: true` and never written to.
 */
const readableMetaSchema = z
  .object({
    invalid: z.literal(false).default(false),
    file: z.string().min(1),
    localId: z.string(),
    sourceLabel: z.string(),
    targetLabel: z.string(),
  })
  .strict();

const brokenMetaSchema = z.object({ invalid: z.literal(true), file: z.string().min(1), localId: z.string() }).strict();

export const metaSchema = z.union([readableMetaSchema, brokenMetaSchema]);

export type LocalMeta = z.output<typeof metaSchema>;
/** The meta of a proposal file that was read (one the forge reports on). */
export type ReadableLocalMeta = z.output<typeof readableMetaSchema>;
