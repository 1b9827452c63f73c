/**
 * Builds what each plugin receives: its validated config, the secrets it declared (and
 * only those), a logger scoped to it, run facts and the redactor.
 */
import { isAbsolute, resolve } from 'node:path';
import type { z } from 'zod';
import { envVarName } from '../secrets/env.js';
import type { Redactor } from '../secrets/redact.js';
import { describeIssue, didYouMean, optionNames, withReceived } from './zod-issues.js';
import { proposalMetaReader } from './proposal-meta.js';
import { OperatorError, type ConfigProblem } from './errors.js';
import type { Logger } from './logger.js';
import type { AnyPlugin, PluginApi, PluginSecrets, RunInfo } from './plugin.js';

/** Validates a plugin's config section; problems carry the dotted path under `plugins.<name>`. */
export function validatePluginConfig(
  plugin: AnyPlugin,
  raw: unknown,
): { config: unknown; problems: ConfigProblem[] } {
  const schema = plugin.config as z.ZodTypeAny | undefined;
  if (!schema) return { config: raw ?? {}, problems: [] };
  const parsed = schema.safeParse(raw ?? {});
  if (parsed.success) return { config: parsed.data, problems: [] };
  return {
    config: undefined,
    problems: parsed.error.issues.flatMap((issue) =>
      issue.code === 'unrecognized_keys'
        ? issue.keys.map((key) => ({ path: ['plugins', plugin.name, ...issue.path, key].join('.'), message: `unknown option${didYouMean(key, optionNames(schema, issue.path))}` }))
        : [{ path: ['plugins', plugin.name, ...issue.path].join('.'), message: withReceived(describeIssue(issue), issue, raw ?? {}) }],
    ),
  };
}

/** The secrets accessor of one plugin; `values` holds only what it declared. */
export function pluginSecrets(plugin: string, values: ReadonlyMap<string, string>, stores: readonly string[]): PluginSecrets {
  return Object.freeze({
    get(name: string) {
      return values.get(name);
    },
    require(name: string) {
      const value = values.get(name);
      if (value === undefined) {
        throw new OperatorError(
          'secret-missing',
          `secret ${plugin}/${name} is not set (stores tried: ${stores.join(', ') || 'none'}); ` +
            `set it with: byoci secrets set ${plugin}/${name}`,
          { hint: `byoci secrets set ${plugin}/${name} (or ${envVarName(`${plugin}/${name}`)} in the environment)` },
        );
      }
      return value;
    },
  });
}

export interface PluginApiParts {
  plugin: AnyPlugin;
  config: unknown;
  secrets: ReadonlyMap<string, string>;
  storeNames?: readonly string[];
  log: Logger;
  run: RunInfo;
  redactor: Redactor;
}

export function createPluginApi(parts: PluginApiParts): PluginApi {
  for (const value of parts.secrets.values()) parts.redactor.add(value);
  return Object.freeze({
    name: parts.plugin.name,
    config: parts.config,
    secrets: pluginSecrets(parts.plugin.name, parts.secrets, parts.storeNames ?? []),
    log: parts.log.child(parts.plugin.name),
    run: parts.run,
    redact: (text: string) => parts.redactor.redact(text),
    resolvePath: (path: string) => (isAbsolute(path) ? path : resolve(parts.run.configDir, path)),
    proposalMeta: proposalMetaReader(parts.plugin),
  });
}
