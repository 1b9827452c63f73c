/**
 * The `brain:` section of byoci's configuration: where the brain listens, where its journal
 * lives, which webhook sources it accepts, the Jenkins it triggers, and the rules that turn
 * events into Jenkins builds. Validated here (core only reserves the key), every problem
 * reported at once with its path.
 */
import { z } from 'zod';
import { parseDuration } from '../core/index.js';

/** What a normalised event is about (see brain/events.ts). */
export const EVENT_KINDS = [
  'proposal-approved',
  'proposal-changed',
  'pr-approved',
  'pr-labelled',
  'pr-command',
  'pr-changed',
  'push',
  'remote-ci',
] as const;
export type EventKind = (typeof EVENT_KINDS)[number];

/** Events that ask for a landing: only the target's land job may be triggered by them. */
export const LANDING_KINDS: readonly EventKind[] = ['proposal-approved', 'pr-approved', 'pr-labelled', 'pr-command', 'remote-ci'];

export const SOURCES = ['github', 'launchpad'] as const;
export type SourceName = (typeof SOURCES)[number];

const millis = (fallback: string) =>
  z
    .union([z.number(), z.string()])
    .default(fallback)
    .transform((value, ctx) => {
      const seconds = parseDuration(value);
      if (seconds === undefined) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, message: `not a duration: ${JSON.stringify(value)} (use seconds or 500ms, 90s, 5m)` });
        return z.NEVER;
      }
      return Math.round(seconds * 1000);
    });

const DAY_MS = 86_400_000;

/**
 * The shortest journal retention allowed, by the sources configured: a delivery id deleted
 * from the journal is no longer a duplicate, so a redelivery of it would be decided again.
 * GitHub redelivers only when asked, and only deliveries of the past 3 days (github.com) or
 * 7 days (GitHub Enterprise Server); Launchpad retries by itself for a day and keeps a
 * finished delivery, which can be retried by hand, for 30 days. Twice GitHub's longest
 * window, and a day more than Launchpad's.
 */
export const RETENTION_MIN_MS: Record<SourceName, number> = { github: 14 * DAY_MS, launchpad: 31 * DAY_MS };

/** `brain.retention`: a duration (`90d`) or `forever` (null: the journal keeps everything). */
const retention = z
  .union([z.number(), z.string()])
  .default('90d')
  .transform((value, ctx) => {
    if (value === 'forever') return null;
    const seconds = parseDuration(value);
    if (seconds === undefined) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: `not a duration: ${JSON.stringify(value)} (use e.g. 90d, or forever to keep every delivery)` });
      return z.NEVER;
    }
    return Math.round(seconds * 1000);
  });

const JOB_NAME = /^[A-Za-z0-9][\w.-]*$/;
const PARAM_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export const ruleSchema = z
  .object({
    /** Shown on the status page and in the journal. */
    name: z.string().regex(/^[\w.-]+$/, 'rule names are letters, digits, dot, dash, underscore'),
    /** Event kinds this rule reacts to. */
    on: z.array(z.enum(EVENT_KINDS)).min(1, 'name at least one event kind'),
    source: z.enum(SOURCES).optional(),
    /** GitHub `owner/name`, Launchpad repository or branch path (`~brz/brz/+git/brz`, `/~brz/brz/trunk`). */
    repo: z.string().min(1),
    /** Target branch (without refs/heads/); omitted: any branch of the repository. */
    branch: z.string().min(1).optional(),
    /** pr-labelled: only this label. */
    label: z.string().min(1).optional(),
    /** pr-command: the comment's first line must start with this (default `@byoci land`). */
    command: z.string().min(1).default('@byoci land'),
    /** remote-ci: only these check/status names (default any). */
    checks: z.array(z.string().min(1)).optional(),
    /** The Jenkins job to build. */
    job: z.string().regex(JOB_NAME, 'not a Jenkins job name'),
    /**
     * The rule triggers the target's land job: events of one target are coalesced into one
     * build per burst. Landing events (approvals, labels, commands, remote CI) only go to
     * land rules.
     */
    land: z.boolean().default(false),
    /** Build parameters; `${field}` expands to a field of the event (see README). */
    params: z.record(z.string().regex(PARAM_NAME, 'not a Jenkins parameter name'), z.string()).default({}),
  })
  .strict();
export type Rule = z.output<typeof ruleSchema>;

export const brainConfigSchema = z
  .object({
    listen: z
      .object({
        host: z.string().min(1).default('127.0.0.1'),
        port: z.number().int().min(0).max(65535).default(8089),
      })
      .strict()
      .default({}),
    /** Largest delivery accepted (bytes); GitHub's own cap is 25 MB. */
    maxBodyBytes: z.number().int().positive().default(25 * 1024 * 1024),
    /** A burst: land events on one target within this window give one trigger. */
    coalesce: millis('5s'),
    /** Webhook sources; each needs its secret `brain/<source>-webhook-secret`. */
    sources: z.array(z.enum(SOURCES)).min(1, 'name github and/or launchpad').default(['github', 'launchpad']),
    jenkins: z
      .object({
        url: z.string().url('not a URL'),
        user: z.string().min(1),
        /** One request's bound. */
        timeout: millis('30s'),
        /** Backoff between attempts of one trigger: first, then doubled up to max. */
        retryMin: millis('1s'),
        retryMax: millis('5m'),
        /** Triggers in flight at once. */
        concurrency: z.number().int().min(1).max(64).default(4),
        /**
         * A cap on the builds of a job searched (newest first) for a decision's id before
         * re-sending. The search itself stops at the first build older than the decision (less
         * clockSkew); the cap only bounds a pathological scan. A low cap re-sends decisions whose
         * build scrolled past it while the decision waited in a backlog (seen: 198 doubles of
         * 10,000 at 1,000), so the default is the most allowed.
         */
        lookback: z.number().int().min(1).max(100_000).default(100_000),
        /** How far Jenkins' clock may be behind the brain's, for that search. */
        clockSkew: millis('1m'),
      })
      .strict(),
    rules: z.array(ruleSchema).default([]),
    /**
     * How long the journal keeps a delivery and its finished decisions (queued or started in
     * Jenkins); `forever` keeps them all. Pending decisions and their deliveries are never
     * deleted. At least RETENTION_MIN_MS of every configured source.
     */
    retention,
    /**
     * The user the brain runs as. Started as root, it binds `listen`, then drops to this user
     * (and `group`, default the user's primary group) before opening the store or reading any
     * webhook; started as this user, nothing changes; as anyone else, a startup error.
     */
    user: z.string().regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/, 'not a user name or uid').optional(),
    group: z.string().regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/, 'not a group name or gid').optional(),
  })
  .strict()
  .superRefine((config, ctx) => {
    config.rules.forEach((rule, i) => {
      const landing = rule.on.filter((kind) => LANDING_KINDS.includes(kind));
      if (!rule.land && landing.length) {
        ctx.addIssue({
          code: z.ZodIssueCode.custom,
          path: ['rules', i, 'on'],
          message: `${landing.join(', ')} ${landing.length === 1 ? 'is a landing event' : 'are landing events'}: only a land rule (land: true) may react to ${landing.length === 1 ? 'it' : 'them'}`,
        });
      }
    });
    if (config.retention !== null) {
      const floor = Math.max(...config.sources.map((source) => RETENTION_MIN_MS[source]));
      if (config.retention < floor) {
        const source = config.sources.find((s) => RETENTION_MIN_MS[s] === floor) as SourceName;
        ctx.addIssue({
          code: z.ZodIssueCode.custom,
          path: ['retention'],
          message:
            `must be at least ${floor / DAY_MS}d with source ${source} (got ${formatDays(config.retention)}): ` +
            (source === 'launchpad'
              ? 'Launchpad keeps a finished delivery for 30 days, and a retry of it by hand would be accepted again once the journal forgot its id'
              : 'GitHub redelivers deliveries of the past 3 days (7 on GitHub Enterprise Server), and a redelivery would be accepted again once the journal forgot its id'),
        });
      }
    }
    if (config.group !== undefined && config.user === undefined) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['group'], message: 'brain.group needs brain.user' });
    }
    const names = new Set<string>();
    config.rules.forEach((rule, i) => {
      if (names.has(rule.name)) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['rules', i, 'name'], message: `rule ${rule.name} is defined twice` });
      names.add(rule.name);
    });
  });
export type BrainConfig = z.output<typeof brainConfigSchema>;

function formatDays(ms: number): string {
  const days = ms / DAY_MS;
  return Number.isInteger(days) ? `${days}d` : `${Math.round(days * 100) / 100}d`;
}

/** Secret keys the brain reads (and the only ones it may hold: no forge write token). */
export const BRAIN_SECRETS = {
  github: 'brain/github-webhook-secret',
  launchpad: 'brain/launchpad-webhook-secret',
  jenkins: 'brain/jenkins-token',
} as const;
