/**
 * Configuration of the irc plugin (`plugins.irc` in the config file). Everything here
 * comes from the operator; nothing from the branches being landed.
 */
import { z } from 'zod';
import { durationProblem, parseDuration } from '../../core/index.js';
import { templateProblems } from './template.js';

export const EVENTS = ['started', 'landed', 'rejected', 'error'] as const;
export type EventName = (typeof EVENTS)[number];

/** RFC 2812 channel names: a prefix, then no space, comma, BEL, colon or control character. */
const CHANNEL = /^[#&+!][^\s,:\x00-\x1f\x7f]{1,49}$/;
const KEY = /^[^\s,:\x00-\x1f\x7f]{1,23}$/;
const NICK = /^[A-Za-z[\]\\`_^{|}][A-Za-z0-9[\]\\`_^{|}-]{0,29}$/;
const USER = /^[A-Za-z0-9._-]{1,10}$/;
/** IRC formatting codes are allowed in templates (the operator may want bold); nothing else. */
// eslint-disable-next-line no-control-regex
const TEMPLATE_FORBIDDEN = /[\x00-\x01\x04-\x0e\x10\x12-\x15\x17-\x1c\x7f\r\n]/;

export const channelName = z
  .string()
  .regex(CHANNEL, 'must be an IRC channel name such as "#breezy" (no spaces, commas or colons)');

function template(defaultText: string) {
  return z
    .string()
    .min(1)
    .superRefine((text, ctx) => {
      if (TEMPLATE_FORBIDDEN.test(text)) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'must not contain CR, LF, NUL or control characters other than IRC formatting codes' });
      }
      for (const problem of templateProblems(text)) ctx.addIssue({ code: z.ZodIssueCode.custom, message: problem });
    })
    .default(defaultText);
}

const duration = (fallback: string) =>
  z
    .union([z.number(), z.string()])
    .default(fallback)
    .transform((value, ctx) => {
      const seconds = parseDuration(value);
      if (seconds === undefined || seconds <= 0) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, message: `${JSON.stringify(value)} is not a duration (e.g. 10, "10s", "1m")` });
        return z.NEVER;
      }
      const problem = durationProblem(seconds);
      if (problem) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, message: `${JSON.stringify(value)} ${problem}` });
        return z.NEVER;
      }
      return Math.round(seconds * 1000);
    });

export const DEFAULT_TEMPLATES = Object.freeze({
  started: '{project}: testing {title} <{url}>[[ {buildUrl}]]',
  landed: '{project}: landed {title} <{url}>[[ as {revision}]][[ {buildUrl}]]',
  rejected: '{project}: rejected {title} <{url}>[[ {buildUrl}]]: {reason}',
  testsFailed: '{project}: tests failed for {title} <{url}>[[ {buildUrl}]]: {reason}[[ | {output}]]',
  error: '{project}: internal error while landing {title} <{url}>[[ {buildUrl}]]: {reason}',
});

const route = z
  .object({
    /** The channel to announce in. */
    channel: channelName,
    /** Channel key (+k), when the channel has one. */
    key: z.string().regex(KEY, 'must be a channel key without spaces, commas or colons').optional(),
    /** Only outcomes of these projects (default: all). */
    projects: z.array(z.string().min(1)).min(1).optional(),
    /** Only outcomes whose target branch name or URL is one of these (default: all). */
    targets: z.array(z.string().min(1)).min(1).optional(),
    /** Overrides the plugin-wide `events` for this channel. */
    events: z.array(z.enum(EVENTS)).optional(),
  })
  .strict();
export type Route = z.output<typeof route>;

export const ircConfig = z
  .object({
    /** Host name or address of the IRC server. */
    server: z.string().regex(/^[^\s/]+$/, 'must be a host name or address'),
    /** Default: 6697 with TLS, 6667 without. */
    port: z.number().int().min(1).max(65535).optional(),
    tls: z.boolean().default(true),
    /** Check the server's certificate (leave on outside tests). */
    tlsVerify: z.boolean().default(true),
    nick: z.string().regex(NICK, 'must be a valid IRC nick (letters, digits, -[]\\`_^{|}, at most 30)').default('byoci'),
    username: z.string().regex(USER, 'must be 1-10 letters, digits, dots, dashes or underscores').default('byoci'),
    realname: z.string().regex(/^[^\x00-\x1f\x7f]{1,100}$/, 'must be printable text').default('byoci landing bot'),
    /**
     * How the `password` secret is used: `sasl` (SASL PLAIN), `nickserv` (IDENTIFY after
     * connecting), `server` (PASS), or `none`.
     */
    auth: z.enum(['none', 'sasl', 'nickserv', 'server']).default('none'),
    /** Account for SASL/NickServ (default: the nick). */
    account: z.string().regex(/^[^\s\x00-\x1f\x7f]{1,64}$/, 'must be an account name without spaces').optional(),
    /** Where outcomes are announced; every matching route gets the message once. */
    channels: z.array(route).min(1, 'name at least one channel'),
    /** Which outcomes are announced (`started` is off by default: it doubles the noise). */
    events: z.array(z.enum(EVENTS)).default(['landed', 'rejected', 'error']),
    /**
     * `auto`: speak without joining, and join only when the channel refuses outsiders (+n,
     * the usual mode), then say it again. `true`: always join first. `false`: never join.
     */
    join: z.union([z.boolean(), z.literal('auto')]).default('auto'),
    templates: z
      .object({
        started: template(DEFAULT_TEMPLATES.started),
        landed: template(DEFAULT_TEMPLATES.landed),
        rejected: template(DEFAULT_TEMPLATES.rejected),
        testsFailed: template(DEFAULT_TEMPLATES.testsFailed),
        error: template(DEFAULT_TEMPLATES.error),
      })
      .strict()
      .default({}),
    /** Upper bound of connect + register + join + send for one report. */
    timeout: duration('15s'),
    /** At most `lines` lines per `per` (server flood limits; p-queue interval). */
    rate: z
      .object({ lines: z.number().int().min(1).max(1000).default(4), per: duration('2s') })
      .strict()
      .default({}),
    /** Lines `byoci irc say` may split a long text into (reports are always one line). */
    sayMaxLines: z.number().int().min(1).max(20).default(4),
  })
  .strict();

export type IrcConfig = z.output<typeof ircConfig>;

/** The port to use: the configured one, else the usual one for TLS or plain text. */
export function portOf(config: IrcConfig): number {
  return config.port ?? (config.tls ? 6697 : 6667);
}
