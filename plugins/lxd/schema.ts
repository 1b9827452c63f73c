/**
 * Config of the lxd plugin (`plugins.lxd` in the config file). The project's `test:`
 * section (TestSpec) says what runs; this says how containers are made on this slave.
 */
import { z } from 'zod';
import { defaultSocketPath } from './client.js';

const memory = z
  .string()
  .regex(/^\d+(\.\d+)?(B|kB|MB|GB|TB|KiB|MiB|GiB|TiB|%)$/, 'a size such as 512MiB, 2GiB or 50%');

export const lxdConfigSchema = z
  .object({
    /** The daemon's unix socket. */
    socket: z.string().min(1).default(defaultSocketPath()),
    /** Containers are named `<prefix>-<run id>`; leftovers with this prefix of dead runs are removed. */
    prefix: z
      .string()
      .regex(/^[a-z][a-z0-9]*(-[a-z0-9]+)*$/, 'lower-case letters, digits and single dashes, starting with a letter')
      .max(20)
      .default('byoci'),
    /** Image alias (or base container) when the project's `test.image` is not set. */
    image: z.string().min(1).default('hostusr'),
    /** uid/gid inside the container that runs the phases and owns the workspace. */
    user: z.number().int().min(0).default(1000),
    group: z.number().int().min(0).default(1000),
    /** Run the setup phase as another uid/gid (e.g. 0 to install packages). */
    setupUser: z.number().int().min(0).optional(),
    setupGroup: z.number().int().min(0).optional(),
    /** Where the merged tree appears inside the container (and the phases' cwd). */
    workdir: z.string().regex(/^\/[\w./-]*$/, 'an absolute path').default('/src'),
    home: z.string().regex(/^\/[\w./-]*$/, 'an absolute path').default('/tmp'),
    /** Managed network attached when a project sets `test.network: true` (else the profile's nics are kept). */
    network: z.string().min(1).optional(),
    /** Limits used when the project sets none. */
    limits: z
      .object({
        memory: memory.default('2GiB'),
        processes: z.number().int().positive().max(1_000_000).default(2000),
        cpu: z.string().regex(/^\d+(-\d+)?(,\d+(-\d+)?)*$/, 'a CPU count such as 2, or a set such as 0-1').default('2'),
      })
      .strict()
      .default({}),
    /**
     * Containers kept created and started ahead of the next test (warm spares), each used by
     * exactly one test. At most: no more are made than core says tests follow (none after the
     * last test of a run); the first test's is made while its landing fetches and merges (core's
     * `prepare` hint). 0: none of that, every test waits for its container to be made. With a
     * speculative window of K, K - 1 lets a whole new round start warm.
     */
    spares: z.number().int().min(0).max(8).default(1),
    /** Total bytes of artefacts copied back per run. */
    maxArtefactBytes: z.number().int().positive().default(200 * 1024 * 1024),
  })
  .strict();

export type LxdConfig = z.output<typeof lxdConfigSchema>;
