/**
 * `plugins.remote-ci`: the remote CI sites, and per project the results a landing needs.
 *
 *   plugins:
 *     remote-ci:
 *       sites:
 *         gh: { type: github, repo: breezy-team/breezy }            # token: secret remote-ci/github-token
 *         ci: { type: jenkins, url: 'https://ci.example.org', user: lander }   # secret remote-ci/jenkins-token
 *         lp: { type: launchpad, repository: '~brz/brz/+git/brz' }  # public: read anonymously
 *         junit: { type: junit, url: 'https://ci.example.org/{revision}/junit.xml' }
 *       require:
 *         brz:
 *           - { site: gh, name: 'ci/*' }                      # every matching context/check run
 *           - { site: ci, name: brz-py3, trigger: true, parameters: { REVISION: '{revision}' } }
 *           - { site: lp, name: 'lint*', revision: merged }
 *       timeout: 30m
 *       interval: 30s
 */
import { z } from 'zod';
import { parseDuration } from '../../core/index.js';

const duration = (max: number) =>
  z.union([z.number(), z.string()]).transform((value, ctx) => {
    const seconds = parseDuration(value);
    if (seconds === undefined) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: `not a duration: ${JSON.stringify(value)} (use seconds or 90s, 5m, 1h)` });
      return z.NEVER;
    }
    if (seconds > max) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: `at most ${max} s: a wait without a sane bound wedges the queue` });
      return z.NEVER;
    }
    return seconds;
  });

const httpUrl = z
  .string()
  .url()
  .refine((u) => /^https?:\/\//.test(u), 'must be an http(s) URL');

const REPO = /^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/;

export const githubSite = z
  .object({
    type: z.literal('github'),
    /** REST API root; GitHub Enterprise: `https://ghe.example.com/api/v3`. */
    url: httpUrl.default('https://api.github.com'),
    repo: z.string().regex(REPO, 'must be "owner/name"'),
    /** Read commit statuses, check runs, or both (default). */
    read: z.array(z.enum(['statuses', 'checks'])).min(1).default(['statuses', 'checks']),
  })
  .strict();

export const jenkinsSite = z
  .object({
    type: z.literal('jenkins'),
    url: httpUrl,
    /** User of the API token (secret remote-ci/jenkins-token); anonymous when unset. */
    user: z.string().min(1).optional(),
    /** Build parameter holding the revision; builds are also matched by git's BuildData SHA1. */
    revisionParameter: z.string().min(1).default('REVISION'),
    /** Builds looked at per job, newest first. */
    builds: z.number().int().min(1).max(200).default(30),
  })
  .strict();

export const launchpadSite = z
  .object({
    type: z.literal('launchpad'),
    /** API root (production: https://api.launchpad.net). */
    url: httpUrl.default('https://api.launchpad.net'),
    /** The git repository, e.g. `~brz/brz/+git/brz` or `brz` (its default repository). */
    repository: z.string().min(1),
  })
  .strict();

export const junitSite = z
  .object({
    type: z.literal('junit'),
    /** The report's URL; `{revision}` is replaced by the revision. 404 means "not yet". */
    url: z.string().min(1).refine((u) => /^https?:\/\//.test(u), 'must be an http(s) URL'),
  })
  .strict();

export const siteSchema = z.discriminatedUnion('type', [githubSite, jenkinsSite, launchpadSite, junitSite]);
export type Site = z.output<typeof siteSchema>;

export const requirementSchema = z
  .object({
    site: z.string().min(1),
    /**
     * Glob of the status context / check run name (github), job name (jenkins, no glob when
     * triggered), report title (launchpad); ignored for junit. Every match must be green,
     * and at least one must report.
     */
    name: z.string().min(1).default('*'),
    /** Which revision the result is for: the proposal's approved one, or the merged tree. */
    revision: z.enum(['approved', 'merged']).default('approved'),
    /** jenkins: start the job (buildWithParameters) for the revision, then wait for it. */
    trigger: z.boolean().default(false),
    /** jenkins trigger parameters; `{revision}` and `{proposal}` are filled in. */
    parameters: z.record(z.string().min(1), z.string()).default({}),
    timeout: duration(6 * 3600).optional(),
  })
  .strict();

export type Requirement = z.output<typeof requirementSchema>;

export const pluginConfigSchema = z
  .object({
    sites: z.record(z.string().regex(/^[a-z][\w-]*$/, 'site names are lower-case letters, digits, - and _'), siteSchema).default({}),
    /** Required results by project name. */
    require: z.record(z.string().min(1), z.array(requirementSchema)).default({}),
    /** Longest wait for all required results of a landing. */
    timeout: duration(6 * 3600).default(1800),
    /** Time between two polls. */
    interval: duration(3600).default(30),
    /** One HTTP request's limit (connect + answer), seconds. */
    requestTimeout: duration(300).default(30),
    /** Retries of one request on a network error, 429 or 5xx (with backoff). */
    retries: z.number().int().min(0).max(10).default(3),
    /** Largest answer read, bytes. */
    maxBytes: z.number().int().min(1024).max(256 * 1024 * 1024).default(16 * 1024 * 1024),
  })
  .strict()
  .superRefine((config, ctx) => {
    for (const [project, requirements] of Object.entries(config.require)) {
      requirements.forEach((r, i) => {
        // Own keys only: `site: constructor` (or toString) must not find Object.prototype's member.
        const site = Object.hasOwn(config.sites, r.site) ? config.sites[r.site] : undefined;
        const path = ['require', project, i];
        if (!site) {
          const known = Object.keys(config.sites);
          ctx.addIssue({ code: z.ZodIssueCode.custom, path: [...path, 'site'], message: `no site ${r.site} under plugins.remote-ci.sites (${known.length ? `known: ${known.join(', ')}` : 'none defined'})` });
          return;
        }
        if (r.trigger && site.type !== 'jenkins') {
          ctx.addIssue({ code: z.ZodIssueCode.custom, path: [...path, 'trigger'], message: `only jenkins jobs can be triggered (site ${r.site} is ${site.type})` });
        }
        if (r.trigger && /[*?]/.test(r.name)) {
          ctx.addIssue({ code: z.ZodIssueCode.custom, path: [...path, 'name'], message: 'a triggered job is named exactly, without a glob' });
        }
        if (site.type === 'jenkins' && !r.trigger && /[*?]/.test(r.name)) {
          ctx.addIssue({ code: z.ZodIssueCode.custom, path: [...path, 'name'], message: 'a jenkins job is named exactly (folders as a/b), without a glob' });
        }
      });
    }
  });

export type RemoteCiConfig = z.output<typeof pluginConfigSchema>;
