/**
 * Real components for tests. A test that needs one (LXD, sshd, ngircd, Secret Service,
 * JJB, brz...) asks `needs()`; when the component is absent the test is skipped with the
 * reason, and under `BYOCI_REQUIRE_ALL=1` (set by `.ci/run`) that skip is a failure.
 */
import { spawnSync } from 'node:child_process';
import type { TestContext } from 'node:test';

export const REQUIRE_ALL = process.env.BYOCI_REQUIRE_ALL === '1';

/** True when `command` is found on PATH (or is an executable path). */
export function hasCommand(command: string): boolean {
  return spawnSync('sh', ['-c', 'command -v "$1"', 'sh', command], { stdio: 'ignore' }).status === 0;
}

/**
 * Returns the reason a component is unavailable, or undefined when it is there.
 * Use with `needs()`.
 */
export function missingCommands(...commands: string[]): string | undefined {
  const missing = commands.filter((c) => !hasCommand(c));
  return missing.length ? `not installed: ${missing.join(', ')} (bash .ci/run installs them)` : undefined;
}

/**
 * Skips the test (or fails it under BYOCI_REQUIRE_ALL=1) when `missing` is a reason.
 * Returns true when the test may go on.
 *
 *   if (!needs(t, 'ngircd', missingCommands('ngircd'))) return;
 */
export function needs(t: TestContext, component: string, missing: string | undefined): boolean {
  if (!missing) return true;
  const reason = `${component} unavailable: ${missing}`;
  if (REQUIRE_ALL) throw new Error(`${reason} (BYOCI_REQUIRE_ALL=1 turns this skip into a failure)`);
  t.skip(reason);
  return false;
}

/**
 * Options for `describe`/`test` that skip a whole suite when a component is missing.
 * Under BYOCI_REQUIRE_ALL=1 it throws instead, failing the file.
 *
 *   describe('irc', suiteNeeds('ngircd', missingCommands('ngircd')), () => { ... });
 */
export function suiteNeeds(component: string, missing: string | undefined): { skip?: string } {
  if (!missing) return {};
  const reason = `${component} unavailable: ${missing}`;
  if (REQUIRE_ALL) throw new Error(`${reason} (BYOCI_REQUIRE_ALL=1 turns this skip into a failure)`);
  return { skip: reason };
}
