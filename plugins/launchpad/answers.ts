/**
 * What byoci reads from Launchpad's answers, as zod schemas: every answer is checked
 * against the fields the code uses before anything is decided from it, so that a junk
 * answer (`null` for an entry, `entries: [null]`, a trust check answering `null`, a vote
 * without its comment) is a ForgeAnswerError naming the resource, never a rejection of the
 * proposal or a raw JavaScript message. Fields not listed pass through untouched.
 */
import { z } from 'zod';
import { describeIssue } from '../../core/index.js';

const text = z.string();
const optionalText = z.string().nullish();

/** Any entry: an object with its `self_link`. */
export const entrySchema = z.object({ self_link: text, web_link: optionalText }).passthrough();

/** A collection page. */
export const pageSchema = z
  .object({
    entries: z.array(entrySchema),
    next_collection_link: optionalText,
    total_size: z.number().int().nonnegative().nullish(),
  })
  .passthrough();

/** A git repository (`+git` getByPath) or the entry of a link. */
export const repositorySchema = entrySchema.extend({
  git_https_url: optionalText,
  git_ssh_url: optionalText,
  git_identity: optionalText,
  unique_name: optionalText,
  default_branch: optionalText,
});

/** A git ref (getRefByPath). */
export const refSchema = entrySchema.extend({
  path: optionalText,
  landing_candidates_collection_link: optionalText,
  landing_targets_collection_link: optionalText,
});

/** A bzr branch (branches getByUrl). */
export const branchSchema = entrySchema.extend({
  bzr_identity: optionalText,
  unique_name: optionalText,
  landing_candidates_collection_link: optionalText,
  landing_targets_collection_link: optionalText,
});

/** A merge proposal, as listed in landing candidates or read by its link. */
export const mergeProposalSchema = entrySchema.extend({
  queue_status: text,
  commit_message: optionalText,
  description: optionalText,
  reviewed_revid: optionalText,
  date_reviewed: optionalText,
  votes_collection_link: optionalText,
  all_comments_collection_link: optionalText,
  source_git_repository_link: optionalText,
  source_git_path: optionalText,
  target_git_repository_link: optionalText,
  target_git_path: optionalText,
  source_branch_link: optionalText,
  target_branch_link: optionalText,
  prerequisite_git_repository_link: optionalText,
  prerequisite_git_path: optionalText,
  prerequisite_branch_link: optionalText,
});

/** A vote reference: a pending review request, or a review whose vote is in its comment. */
export const voteSchema = entrySchema
  .extend({ reviewer_link: optionalText, is_pending: z.boolean(), comment_link: optionalText })
  .superRefine((v, ctx) => {
    if (!v.is_pending && !v.comment_link) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['comment_link'], message: 'a vote that is not pending must link its comment' });
    }
  });

/** A code review comment: the vote it carries. */
export const voteCommentSchema = entrySchema.extend({ vote: optionalText });

/** A comment of a proposal, as the reporter reads it to find its own. */
export const commentSchema = entrySchema.extend({
  author_link: optionalText,
  content: optionalText,
  title: optionalText,
  date_created: optionalText,
});

/** `isPersonTrustedReviewer`. */
export const trustSchema = z.boolean();

/** The service root: who the token belongs to. */
export const rootSchema = z.object({ me_link: optionalText }).passthrough();

/** What a schema expects, worded for an error ("expected true or false, got null"). */
export function answerProblem(error: z.ZodError): string {
  const issue = error.issues[0]!;
  const path = issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${p}`)).join('').replace(/^\./, '');
  return `${path ? `${path}: ` : ''}${describeIssue(issue)}`;
}
