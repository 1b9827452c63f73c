/**
 * The plugin's config (`plugins.launchpad`) and the shape of a Launchpad target
 * (`projects.<p>.targets[]` with `forge: launchpad`).
 */
import { z } from 'zod';
import { CriteriaError, DEFAULT_CRITERIA, parseCriteria } from '../../core/index.js';
import { inferLaunchpadVcs } from './vcs.js';

export const SERVICE_ROOTS = Object.freeze({
  production: 'https://api.launchpad.net/',
  qastaging: 'https://api.qastaging.launchpad.net/',
  staging: 'https://api.staging.launchpad.net/',
});

const serviceRoot = z
  .string()
  .min(1)
  .transform((value, ctx) => {
    if (Object.hasOwn(SERVICE_ROOTS, value)) return SERVICE_ROOTS[value as keyof typeof SERVICE_ROOTS];
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: `not production, qastaging, staging or an http(s) URL: ${JSON.stringify(value)}` });
      return z.NEVER;
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: `service root must be http(s): ${JSON.stringify(value)}` });
      return z.NEVER;
    }
    return url.href.endsWith('/') ? url.href : `${url.href}/`;
  });

export const configSchema = z
  .object({
    /** production, qastaging, staging, or the URL of a service root (without the version). */
    serviceRoot: serviceRoot.default('production'),
    /** API version appended to the service root; git operations exist only in `devel`. */
    apiVersion: z.string().regex(/^[\w.]+$/).default('devel'),
    /** Tarmac-style voting criteria; only trusted reviewers count. */
    criteria: z
      .string()
      .default(DEFAULT_CRITERIA)
      .superRefine((text, ctx) => {
        try {
          parseCriteria(text);
        } catch (e) {
          if (!(e instanceof CriteriaError)) throw e;
          ctx.addIssue({ code: z.ZodIssueCode.custom, message: e.message });
        }
      }),
    /** Which URL of a git repository the git plugin fetches and pushes: https or git+ssh. */
    gitProtocol: z.enum(['https', 'ssh']).default('https'),
    /** Launchpad login put in git+ssh URLs (default: the landing user). */
    sshUser: z.string().regex(/^[a-z0-9][a-z0-9+.-]*$/, 'not a Launchpad login').optional(),
    /**
     * Base URL of the bzr hosting of this service root (`bzr+ssh://bazaar.example.org/`):
     * a bzr branch is `<bzrRoot><unique name>`. Not needed for production (brz's `lp:`),
     * staging and qastaging (`lp://staging/…`); any other service root with bzr targets needs it.
     */
    bzrRoot: z.string().url().optional(),
    /** Retries of a request answered 5xx or timed out. */
    retries: z.number().int().min(0).max(10).default(3),
    /** First backoff delay in ms; doubles on each retry. */
    retryDelayMs: z.number().int().min(0).max(60_000, 'must be at most 60000 ms (it doubles on each retry)').default(1000),
    /** Timeout of one request, in seconds. */
    requestTimeout: z.number().positive().max(3600, 'must be at most 3600 s').default(60),
    /** Characters of failing output quoted in a rejection comment. */
    commentTail: z.number().int().min(0).max(50_000).default(4000),
    /** Title of the revision status report byoci keeps on the proposal's revision (git); null: none. */
    statusReport: z.string().min(1).max(100).nullable().default('byoci'),
  })
  .strict();

export type LaunchpadConfig = z.output<typeof configSchema>;

/** A Launchpad target: an `lp:` URL of a git repository (plus branch) or a bzr branch. */
export const targetSchema = z
  .object({
    /** `lp:~owner/project/+git/repo`, `lp:project` (default repository), `lp:~owner/project/branch` (bzr). */
    url: z
      .string()
      .regex(/^lp:[~A-Za-z0-9][\w.+~/-]*$/, 'must be an lp: URL such as lp:~owner/project/+git/repo or lp:project'),
    /** Git branch of the target (default: the repository's default branch). Ignored for bzr. */
    branch: z.string().regex(/^(?!-)[\w./+-]+$/, 'not a git branch name').optional(),
    /** Inferred from the URL when absent: `+git` means git, `~owner/project/branch` bzr. */
    vcs: z.enum(['git', 'bzr']).optional(),
  })
  .strict();

export type LaunchpadTarget = z.output<typeof targetSchema>;

export interface ResolvedTarget {
  vcs: 'git' | 'bzr';
  /** Path without `lp:`, as getByPath / getByUrl take it. */
  path: string;
  url: string;
  branch: string | undefined;
}

export function resolveTarget(t: LaunchpadTarget): ResolvedTarget {
  const path = t.url.slice('lp:'.length);
  const vcs = t.vcs ?? inferLaunchpadVcs(t.url);
  return { vcs, path, url: t.url, branch: vcs === 'git' ? t.branch : undefined };
}
