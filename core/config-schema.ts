/**
 * The schema of byoci's configuration (after namespace selection and interpolation).
 * Plugin sections (`plugins.<name>`) are validated by each plugin's own schema.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { durationSchema as duration } from './duration.js';
import { queueSchema, storeSchema } from './queue/config.js';

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * A command: an argv array, or a string run by `sh -c` inside the container. Commands come
 * from the operator's config only, never from a proposal.
 */
const command = z.union([
  z.string().min(1, 'empty command').transform((s) => ['sh', '-c', s]),
  z.array(z.string()).min(1, 'empty command'),
]);

const relativePath = z
  .string()
  .min(1)
  .refine((p) => !p.startsWith('/') && !p.split('/').includes('..'), {
    message: 'must be a path inside the tree (relative, without ..)',
  });

/**
 * `test.retry`: how to rerun only some test ids. The argument equal to `ids` (default
 * `{ids}`) is replaced by the failed ids, one argument each; a string command (run by
 * `sh -c`) receives them as its positional parameters (`"$@"`) instead.
 */
const retrySchema = z
  .object({
    command,
    ids: z.string().min(1).default('{ids}'),
    attempts: z.number().int().min(1).max(3).default(1),
    /** More failures than this are not rerun: that many at once is no flake. */
    maxIds: z.number().int().positive().max(1000).default(50),
  })
  .strict()
  .superRefine((retry, ctx) => {
    const isShell = retry.command.length === 3 && retry.command[0] === 'sh' && retry.command[1] === '-c';
    if (isShell && retry.command[2]!.includes(retry.ids)) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['command'], message: `a string command gets the ids as "$@", not as ${retry.ids} (ids are untrusted text)` });
    } else if (!isShell && !retry.command.includes(retry.ids)) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['command'], message: `needs an argument ${retry.ids} where the failed test ids go` });
    }
  });

export const testSchema = z
  .object({
    /**
     * `auto`, or a backend name a loaded plugin declares (`handles.backends`): core checks
     * it against the loaded plugins when it builds the bot (no closed list here).
     */
    backend: z.string().regex(/^[a-z][a-z0-9-]*$/, 'not a backend name (auto, lxd, bwrap, unsafe-host...)').default('auto'),
    image: z.string().min(1).optional(),
    setup: command.optional(),
    command,
    env: z
      .array(
        z
          .string()
          .regex(ENV_NAME, 'not an environment variable name')
          .refine((n) => !n.toUpperCase().startsWith('BYOCI_SECRET_'), 'BYOCI_SECRET_* variables hold credentials and are never passed into the container'),
      )
      .default([]),
    setEnv: z.record(z.string().regex(ENV_NAME, 'not an environment variable name'), z.string()).default({}),
    timeout: duration.default(3600),
    noOutputTimeout: duration.default(600),
    artefacts: z.array(relativePath).default([]),
    network: z.boolean().default(false),
    setupAgent: z.boolean().default(false),
    retry: retrySchema.optional(),
    quarantine: z.array(z.string().min(1)).default([]),
    limits: z
      .object({
        memory: z.string().regex(/^\d+(\.\d+)?(B|kB|KB|MB|GB|TB|KiB|MiB|GiB|TiB)?$/, 'not a size such as 2GiB').optional(),
        processes: z.number().int().positive().max(1_000_000).optional(),
        cpu: z.union([z.number().int().positive(), z.string().min(1)]).transform(String).optional(),
      })
      .strict()
      .default({}),
  })
  .strict();

export const targetSchema = z.object({ forge: z.string().min(1, 'names the forge plugin, e.g. local') }).passthrough();

export const projectSchema = z
  .object({
    targets: z.array(targetSchema).min(1, 'a project needs at least one target'),
    test: testSchema,
  })
  .strict();

export const landingSchema = z
  .object({
    user: z.string().min(1).regex(/^[^\0\n\r]*$/, 'must not contain NUL or line breaks').default('byoci'),
    /** Committer name of landed merges: git refuses NUL, and a line break would forge commit headers. */
    fullname: z
      .string()
      .min(1)
      .regex(/^[^\0\n\r<>]*$/, 'must not contain NUL, line breaks or < > (git puts it in the commit header)')
      .refine((s) => s.trim() !== '', 'must not be blank')
      .default('byoci lander'),
    email: z
      .string()
      .regex(/^[^\s@<>\0]+@[^\s@<>\0]+$/, 'not an e-mail address (one @, no spaces, NUL, line breaks or < >)')
      .default('byoci@localhost'),
  })
  .strict();

export const settingsSchema = z
  .object({
    /** The active namespace (removed before validation, kept for the record). */
    byoci: z.string().optional(),
    /** Free-form values for `{vars.name}` interpolation. */
    vars: z.record(z.unknown()).default({}),
    landing: landingSchema.default({}),
    workdir: z.string().min(1).default(join(tmpdir(), 'byoci')),
    artefacts: z.string().min(1).default('.byoci/artefacts'),
    secrets: z.record(z.unknown()).default({}),
    /** The slave's durable store (core/queue/config.ts). */
    store: storeSchema,
    /** The landing queue: attempts, priorities, freezes (core/queue/config.ts). */
    queue: queueSchema,
    plugins: z.record(z.union([z.record(z.unknown()), z.null()])).default({}),
    /** The brain's section (`byoci brain`), validated by brain/config.ts. */
    brain: z.record(z.unknown()).optional(),
    projects: z
      .record(z.string().regex(/^[A-Za-z0-9][\w.-]*$/, 'project names are letters, digits, dot, dash, underscore'), projectSchema)
      .default({}),
  })
  .strict();

export type Settings = z.output<typeof settingsSchema>;
