/**
 * The `plugins.bwrap` section: where the tree appears inside the sandbox and what else of
 * the host the operator chooses to expose (read-only). Everything has a safe default.
 */
import { z } from 'zod';

const absolute = z
  .string()
  .regex(/^\/[^\0]*$/, 'must be an absolute path')
  .refine((p) => !p.split('/').includes('..'), { message: 'must not contain ..' });

const etcEntry = z
  .string()
  .min(1)
  .refine((p) => !p.startsWith('/') && !p.split('/').includes('..'), {
    message: 'must be a path relative to /etc, without ..',
  });

export const configSchema = z
  .object({
    /** The bubblewrap executable (a name on PATH or an absolute path). */
    bwrap: z.string().min(1).default('bwrap'),
    /** Where the merged tree is mounted (read-write) inside the sandbox; also the cwd. */
    treePath: absolute
      .refine((p) => !['/', '/usr', '/etc', '/proc', '/dev', '/tmp'].includes(p.replace(/\/+$/, '') || '/'), {
        message: 'must not hide a system directory',
      })
      .default('/workspace'),
    /** Extra host paths exposed read-only at the same place (e.g. `/opt/toolchain`). */
    roBind: z.array(absolute).default([]),
    /** Extra entries of the host's /etc exposed read-only, beyond the built-in allow-list. */
    etc: z.array(etcEntry).default([]),
  })
  .strict()
  .default({});

export type BwrapConfig = z.output<typeof configSchema>;
