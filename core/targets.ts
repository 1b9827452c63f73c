/**
 * Typed targets: each forge declares the schema of its targets (`forge.schema`) and the
 * branch each names (`forge.branch`); core validates every configured target with its
 * forge's schema at load, with file and line, and hands plugins `Target`s.
 *
 * `targetKey()` is the canonical identity of a branch (vcs + canonical URL + branch): two
 * targets with the same key are the same branch, whatever spelling the config used; the
 * landing queue keys on it.
 */
import type { z } from 'zod';
import { canonicalRepository, targetKey as queueKey } from './queue/key.js';
import { describeIssue, didYouMean, optionNames, withReceived } from './zod-issues.js';
import type { BranchRef, Target } from '../hooks/types.js';
import type { ConfigProblem } from './errors.js';
import type { AnyPlugin } from './plugin.js';

/**
 * A repository location in canonical form (the queue's, core/queue/key.ts): network URLs
 * as scheme-independent `host/path` (user, port, trailing `/` and `.git` dropped, host
 * lower-cased; scp-like `user@host:path` likewise), local paths and `file:` URLs as
 * absolute paths, `lp:` names as given.
 */
export function canonicalUrl(location: string): string {
  return canonicalRepository(location);
}

/**
 * The canonical key of a branch, or of a target's branch: `<vcs>:<canonical url>[#<branch>]`
 * (e.g. `git:/srv/trunk.git#main`, `git:github.com/acme/calc#main`, `bzr:lp:~brz/brz/trunk`).
 * The landing queue keys on it: two branches with the same key are one queue, whatever
 * spelling or forge named them. Pure: no I/O, stable across runs and processes.
 */
export function targetKey(ref: BranchRef | Target): string {
  return queueKey('options' in ref ? ref.branch : ref);
}

/** A configured target before validation: its forge's name and the other keys as written. */
export interface RawTarget {
  forge: string;
  [key: string]: unknown;
}

/**
 * Validates every target with its forge's schema. Problems carry the dotted option path
 * (`projects.<p>.targets.<i>.<key>`) so that core can add file and line.
 */
export function resolveTargets(
  projectName: string,
  raw: readonly RawTarget[],
  forges: ReadonlyMap<string, { plugin: AnyPlugin; config: unknown }>,
  configDir: string,
): { targets: Target[]; problems: ConfigProblem[] } {
  const targets: Target[] = [];
  const problems: ConfigProblem[] = [];
  raw.forEach((entry, index) => {
    const where = ['projects', projectName, 'targets', String(index)];
    const forge = forges.get(entry.forge);
    if (!forge) return; // the loader already reported an unknown forge
    const declared = forge.plugin.forge;
    if (!declared) {
      problems.push({ path: [...where, 'forge'].join('.'), message: `plugin ${entry.forge} is not a forge (it declares no targets)` });
      return;
    }
    const { forge: _name, ...rest } = entry;
    const parsed = (declared.schema as z.ZodTypeAny).safeParse(rest);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        if (issue.code === 'unrecognized_keys') {
          for (const key of issue.keys) {
            problems.push({ path: [...where, ...issue.path.map(String), key].join('.'), message: `unknown option of a ${entry.forge} target${didYouMean(key, optionNames(declared.schema, issue.path))}` });
          }
          continue;
        }
        problems.push({ path: [...where, ...issue.path.map(String)].join('.'), message: withReceived(describeIssue(issue), issue, rest) });
      }
      return;
    }
    let branch: BranchRef;
    try {
      branch = declared.branch(parsed.data, { configDir, config: forge.config });
    } catch (error) {
      problems.push({ path: where.join('.'), message: (error as Error).message });
      return;
    }
    targets.push(Object.freeze({ forge: entry.forge, branch: Object.freeze({ ...branch }), options: Object.freeze(parsed.data) }));
  });
  return { targets, problems };
}

/** The options of a target as its forge's schema parsed them (for that forge only). */
export function targetOptions<T extends z.ZodTypeAny>(_schema: T, target: Target): z.output<T> {
  return target.options as z.output<T>;
}

