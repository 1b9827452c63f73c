/** The `plugins.unshare` section. Everything has a safe default. */
import { z } from 'zod';

const absolute = z
  .string()
  .regex(/^\/[^\0]*$/, 'must be an absolute path')
  .refine((p) => !p.split('/').includes('..'), { message: 'must not contain ..' });

export const configSchema = z
  .object({
    /** The util-linux unshare executable (a name on PATH or an absolute path). */
    unshare: z.string().min(1).default('unshare'),
    /** Where the merged tree is mounted (read-write) inside the sandbox; also the cwd. */
    treePath: absolute
      .refine((p) => !['/', '/usr', '/etc', '/proc', '/dev', '/tmp', '/home', '/home/byoci'].includes(p.replace(/\/+$/, '') || '/'), {
        message: 'must not hide a system directory',
      })
      .default('/workspace'),
    /** Extra entries of the host's /etc exposed read-only, beyond the built-in allow-list. */
    etc: z
      .array(z.string().min(1).refine((p) => !p.startsWith('/') && !p.split('/').includes('..') && p !== '--', { message: 'must be a path relative to /etc, without ..' }))
      .default([]),
  })
  .strict()
  .default({});

export type UnshareConfig = z.output<typeof configSchema>;
