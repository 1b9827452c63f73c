/**
 * The `store` and `queue` sections of the configuration.
 *
 *   store:
 *     path: /srv/byoci/byoci.db     # default: <workdir>/byoci.db; relative: from the config file
 *   queue:
 *     attempts: 3                   # merge + test rounds per approval when trunk moves meanwhile
 *     priorities: [low, normal, high, urgent]   # lowest first
 *     defaultPriority: normal
 *     proposals: { 'local:7': urgent }           # priority by proposal id (ids of byoci list)
 *     freeze: { calc: { reason: release 3.3, below: urgent } }   # project name or target key
 *     leaseWait: 0s                 # how long a second bot waits for a target's lease
 *     heartbeat: 60s                # a console line this often during a test
 *     history: 10                   # landings listed by byoci queue
 *     batch: 1                      # git: the first N ready entries merged and tested together (bisected when red)
 *     window: 1                     # git: up to K trees under test at once (speculative), at most `slots`
 *     optimistic: false             # a green tree lands the entries ahead of it that it contains, without waiting
 *     slots: 1                      # test containers this slave runs at once (the bound of window)
 *     memory: 16GiB                 # optional: memory for test containers at once; window x test.limits.memory fits in it
 */
import { isAbsolute, join, resolve } from 'node:path';
import { z } from 'zod';
import { durationSchema as duration } from '../duration.js';
import { parseSize } from '../size.js';

const priorityName = z.string().regex(/^[a-z][a-z0-9-]*$/, 'priority names are lower-case letters, digits and dashes');

export const storeSchema = z
  .object({
    /** The SQLite file; default `<workdir>/byoci.db`. */
    path: z.string().min(1).optional(),
  })
  .strict()
  .default({});

export const freezeSchema = z
  .object({
    reason: z.string().min(1, 'say why the target is frozen'),
    below: priorityName.optional(),
  })
  .strict();

export const DEFAULT_PRIORITIES = ['low', 'normal', 'high', 'urgent'] as const;

export const queueSchema = z
  .object({
    attempts: z.number().int().min(1).max(20).default(3),
    priorities: z.array(priorityName).min(1).default([...DEFAULT_PRIORITIES]),
    defaultPriority: priorityName.default('normal'),
    proposals: z.record(z.string().min(1), priorityName).default({}),
    freeze: z.record(z.string().min(1), freezeSchema).default({}),
    leaseWait: duration.default(0),
    heartbeat: duration.default(60),
    history: z.number().int().min(0).max(1000).default(10),
    /** Up to this many ready entries merged together and tested once (git targets); 1: one at a time. */
    batch: z.number().int().min(1).max(64).default(1),
    /** Up to this many trees under test at once (speculative: each on trunk plus what is ahead of it). */
    window: z.number().int().min(1).max(64).default(1),
    /** A green tree lands together with the entries ahead of it that it contains, not waiting for their own runs. */
    optimistic: z.boolean().default(false),
    /** How many test containers this slave runs at once: the bound of `window`. */
    slots: z.number().int().min(1).max(64).default(1),
    /** Memory this slave gives to test containers at once; `window` x a project's `test.limits.memory` must fit. */
    memory: z.string().regex(/^\d+(\.\d+)?(B|kB|KB|MB|GB|TB|KiB|MiB|GiB|TiB)?$/, 'not a size such as 16GiB').optional(),
  })
  .strict()
  .superRefine((queue, ctx) => {
    const known = new Set(queue.priorities);
    const unknown = (name: string, path: (string | number)[]) => {
      // an empty queue.priorities is its own problem: no name would be known
      if (known.size && !known.has(name)) {
        ctx.addIssue({
          code: z.ZodIssueCode.custom,
          path,
          message: `unknown priority ${JSON.stringify(name)} (queue.priorities: ${queue.priorities.join(', ')})`,
        });
      }
    };
    const seen = new Set<string>();
    queue.priorities.forEach((name, i) => {
      if (seen.has(name)) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['priorities', i], message: `priority ${name} is listed twice` });
      seen.add(name);
    });
    unknown(queue.defaultPriority, ['defaultPriority']);
    for (const [id, name] of Object.entries(queue.proposals)) unknown(name, ['proposals', id]);
    for (const [key, freeze] of Object.entries(queue.freeze)) if (freeze.below) unknown(freeze.below, ['freeze', key, 'below']);
    if (queue.window > queue.slots) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ['window'],
        message: `queue.window ${queue.window} is above queue.slots ${queue.slots} (the test containers this slave runs at once): lower the window or raise slots`,
      });
    }
  })
  .default({});

export type QueueSettings = z.output<typeof queueSchema>;
export type StoreSettings = z.output<typeof storeSchema>;

/** Where the store lives: `store.path` (relative to the config file), else `<workdir>/byoci.db`. */
export function storePath(settings: { store: StoreSettings; workdir: string }, configDir: string): string {
  const path = settings.store.path;
  if (!path) return join(settings.workdir, 'byoci.db');
  if (path === ':memory:') return path;
  return isAbsolute(path) ? path : resolve(configDir, path);
}

/** Rank of a priority name (0 = lowest), or undefined when the config does not know it. */
export function priorityRank(queue: QueueSettings, name: string): number | undefined {
  const i = queue.priorities.indexOf(name);
  return i < 0 ? undefined : i;
}

/**
 * The window a land run may use for a project: `--window K` (or `queue.window`) checked against
 * the slave's `queue.slots` and, when `queue.memory` is set, against K containers of the
 * project's `test.limits.memory`. Answers the problem as a sentence naming both numbers.
 */
export function windowProblem(queue: QueueSettings, window: number, project: { name: string; test: { limits?: { memory?: string } } }, from = 'queue.window'): string | undefined {
  if (window > queue.slots) {
    return `${from} ${window} is above queue.slots ${queue.slots} (the test containers this slave runs at once): lower the window or raise queue.slots`;
  }
  if (window > 1 && queue.memory !== undefined) {
    const total = parseSize(queue.memory);
    const each = project.test.limits?.memory;
    if (each === undefined) {
      return `${from} ${window} with queue.memory ${queue.memory}: project ${project.name} sets no test.limits.memory, so ${window} containers may not fit (set it)`;
    }
    const one = parseSize(each);
    if (total !== undefined && one !== undefined && one * window > total) {
      return `${from} ${window} x test.limits.memory ${each} of project ${project.name} is more than queue.memory ${queue.memory}: at most ${Math.max(1, Math.floor(total / one))} fit`;
    }
  }
  return undefined;
}
