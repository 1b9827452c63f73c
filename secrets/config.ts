/**
 * The `secrets:` section of the configuration.
 *
 * ```yaml
 * secrets:
 *   order: [env, file, keyring]     # lookup order; the first store holding a key wins
 *   dir: ~/.config/byoci/secrets    # the file store's directory (relative: to the config file)
 *   service: byoci                  # the Secret Service "service" attribute of keyring items
 *   aliases:                        # file store: key -> path under dir, tried after <plugin>/<name>
 *     git/ssh-key: slaves/ssh/keys/jenkins@brz-slave-testing
 * ```
 */
import { homedir } from 'node:os';
import { isAbsolute, join, normalize, resolve } from 'node:path';
import { z } from 'zod';
import { isValidKey } from './keys.js';

export const STORE_NAMES = ['env', 'file', 'keyring'] as const;
export type StoreName = (typeof STORE_NAMES)[number];

/** Aliases every file store knows: the layout of the seed's `{byoci}.secrets` branch. */
export const DEFAULT_ALIASES: Readonly<Record<string, string>> = Object.freeze({
  'launchpad/oauth': 'launchpad/credentials',
});

const relativePath = z
  .string()
  .min(1)
  .refine((p) => !isAbsolute(p) && !normalize(p).split(/[\\/]/).includes('..'), {
    message: 'must be a path relative to secrets.dir, without ".."',
  });

export const secretsConfigSchema = z
  .object({
    order: z
      .array(z.enum(STORE_NAMES))
      .min(1, 'name at least one store (env, file, keyring)')
      .refine((a) => new Set(a).size === a.length, { message: 'lists a store twice' })
      .default(['env', 'file', 'keyring']),
    dir: z.string().min(1).optional(),
    service: z.string().min(1).default('byoci'),
    aliases: z
      .record(relativePath)
      .superRefine((rec, ctx) => {
        for (const key of Object.keys(rec)) {
          if (!isValidKey(key)) {
            ctx.addIssue({ code: z.ZodIssueCode.custom, path: [key], message: `${JSON.stringify(key)} is not a <plugin>/<secret> key` });
          }
        }
      })
      .default({}),
  })
  .strict()
  .default({});

export type SecretsConfig = z.output<typeof secretsConfigSchema>;
export type SecretsConfigInput = z.input<typeof secretsConfigSchema>;

/** Default directory of the file store: `$XDG_CONFIG_HOME/byoci/secrets` or `~/.config/byoci/secrets`. */
export function defaultSecretsDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CONFIG_HOME && isAbsolute(env.XDG_CONFIG_HOME) ? env.XDG_CONFIG_HOME : join(env.HOME || homedir(), '.config');
  return join(base, 'byoci', 'secrets');
}

/** The absolute file store directory: `~` expanded, relative paths resolved against `baseDir`. */
export function resolveSecretsDir(dir: string | undefined, opts: { baseDir?: string; env?: NodeJS.ProcessEnv } = {}): string {
  const env = opts.env ?? process.env;
  if (!dir) return defaultSecretsDir(env);
  if (dir === '~' || dir.startsWith('~/')) return join(env.HOME || homedir(), dir.slice(1));
  return resolve(opts.baseDir ?? process.cwd(), dir);
}
