/**
 * Configuration of the github plugin: defaults in `plugins.github`, the repository and base
 * branch in each target (`forge: github`). Targets may override the landing rules.
 */
import { z } from 'zod';

const REPO = /^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/;

/** What starts a landing and what it needs; the plugin default, overridable per target. */
export const rulesSchema = z
  .object({
    /** Labels that trigger a landing when added by a writer. */
    labels: z.array(z.string().min(1)).default(['byoci:land']),
    /** Comment commands (a whole line of a comment, case-insensitive) from a writer. */
    commands: z.array(z.string().min(1)).default(['@byoci land']),
    /** APPROVED reviews from writers needed at the current head commit. */
    approvals: z.number().int().min(0).max(100).default(1),
    /** Whether an outstanding CHANGES_REQUESTED from a writer blocks the landing. */
    blockOnChangesRequested: z.boolean().default(true),
  })
  .strict();

export type Rules = z.output<typeof rulesSchema>;

export const pluginConfigSchema = z
  .object({
    /** REST API root; GitHub Enterprise: `https://ghe.example.com/api/v3`. */
    baseUrl: z.string().url().default('https://api.github.com'),
    /** Context of the commit status byoci sets. */
    statusContext: z.string().min(1).default('byoci'),
    /** Default clone URL kind when a target gives no `url`: the repository's ssh or https URL. */
    cloneWith: z.enum(['ssh', 'https']).default('ssh'),
    /** Longest wait for a rate limit reset or `retry-after` before giving up, seconds. */
    maxRateLimitWait: z.number().int().min(0).max(86_400, 'must be at most 86400 s (a day)').default(900),
    /** Characters of test output quoted in a rejection comment. */
    maxCommentDetails: z.number().int().min(0).max(60_000, 'must be at most 60000 (GitHub refuses comments over 65536 characters)').default(6000),
    /**
     * Login of the token's owner, whose comments are the bot's (default: `GET /user`;
     * needed for GitHub App tokens, whose comments are by `<app>[bot]`).
     */
    botLogin: z.string().regex(/^[A-Za-z0-9-]+(\[bot\])?$/, 'not a GitHub login').optional(),
    /**
     * The store file keeping ETags of GET answers between runs (conditional requests: a 304
     * does not count against the rate limit). Default: the slave's store (`store.path`);
     * `false`: within one run only.
     */
    etagStore: z.union([z.string().min(1), z.literal(false)]).optional(),
    rules: rulesSchema.default({}),
  })
  .strict();

export type GithubConfig = z.output<typeof pluginConfigSchema>;

export const targetSchema = z
  .object({
    /** `owner/name` of the base repository. */
    repo: z.string().regex(REPO, 'must be "owner/name"'),
    /** Base branch the pull requests target and byoci pushes to. */
    branch: z.string().min(1).default('main'),
    /** Clone/push URL of the base repository (ssh, https or a local path); default from the API. */
    url: z.string().min(1).optional(),
    rules: rulesSchema.partial().optional(),
  })
  .strict();

export type GithubTarget = z.output<typeof targetSchema> & { owner: string; name: string; rules: Rules };

/** A target as core validated it (with targetSchema), with the plugin's default rules applied. */
export function parseTarget(options: z.output<typeof targetSchema>, defaults: Rules): GithubTarget {
  const [owner, name] = options.repo.split('/') as [string, string];
  return { ...options, owner, name, rules: { ...defaults, ...(options.rules ?? {}) } };
}

/** Web root of a GitHub API root: api.github.com → github.com, `<host>/api/v3` → `<host>`. */
export function webRoot(baseUrl: string): string {
  const url = new URL(baseUrl);
  if (url.hostname === 'api.github.com') return 'https://github.com';
  return `${url.protocol}//${url.host}${url.pathname.replace(/\/api\/v3\/?$/, '').replace(/\/+$/, '')}`;
}

/**
 * The branch a target names, from the config alone: its `url` when set, else the
 * repository's web URL (the clone URL kind, ssh or https, is chosen at discover).
 */
export function targetBranch(options: z.output<typeof targetSchema>, config: GithubConfig): { vcs: 'git'; url: string; branch: string } {
  return { vcs: 'git', url: options.url ?? `${webRoot(config.baseUrl)}/${options.repo}`, branch: options.branch };
}
