/**
 * Applying plugins to a run's hooks, and the interceptor that wraps every tap:
 * timing, start/complete/fail logging, a timeout, and `{plugin, hook}` stamped on errors.
 */
import type { TapHooks, TapOptions, HookName, Hooks } from '../hooks/index.js';
import { HOOK_NAMES } from '../hooks/index.js';
import { PluginError, TimeoutError } from './errors.js';
import type { Logger } from './logger.js';
import type { AnyPlugin, PluginApi } from './plugin.js';

/** Default time a tap of each hook may take before core gives up on it (ms; 0 = none). */
export const DEFAULT_TAP_TIMEOUTS: Readonly<Record<HookName, number>> = Object.freeze({
  verify: 60_000,
  sweep: 120_000,
  discover: 120_000,
  fetch: 30 * 60_000,
  merge: 10 * 60_000,
  // Gate taps bound their own waits (remote-ci: `timeout`, at most 6 h); this is the backstop.
  gate: 6 * 3600_000 + 5 * 60_000,
  // Backends enforce the project's own timeouts and say which one fired.
  testInContainer: 0,
  push: 10 * 60_000,
  report: 60_000,
  queueChanged: 30_000,
  shutdown: 60_000,
});

/** Hooks whose failing taps are logged and swallowed: reporting and cleanup. */
const ISOLATED: ReadonlySet<HookName> = new Set<HookName>(['report', 'queueChanged', 'sweep', 'shutdown']);

interface TapInfo {
  name: string;
  type: string;
  fn: (...args: unknown[]) => unknown;
  timeoutMs?: number;
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  if (!ms) return promise;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(`${what} did not finish within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Installs the interceptor on every hook. Taps registered later are wrapped too.
 * `timeouts` overrides DEFAULT_TAP_TIMEOUTS per hook.
 */
export function interceptHooks(hooks: Hooks, log: Logger, timeouts: Partial<Record<HookName, number>> = {}): void {
  for (const hookName of HOOK_NAMES) {
    const hook = hooks[hookName] as unknown as { intercept(i: { register(tap: TapInfo): TapInfo }): void };
    hook.intercept({
      register(tap: TapInfo): TapInfo {
        const original = tap.fn;
        const plugin = tap.name;
        const limit = tap.timeoutMs ?? timeouts[hookName] ?? DEFAULT_TAP_TIMEOUTS[hookName];
        const scoped = log.child(plugin);
        const wrapped = async (...args: unknown[]): Promise<unknown> => {
          const started = performance.now();
          scoped.debug('tap start', { hook: hookName });
          try {
            const result = await withTimeout(
              Promise.resolve().then(() => original(...args)),
              limit,
              `${plugin} on ${hookName}`,
            );
            scoped.debug('tap done', { hook: hookName, ms: Math.round(performance.now() - started) });
            return result;
          } catch (error) {
            const ms = Math.round(performance.now() - started);
            const stamped = error instanceof PluginError ? error : new PluginError(plugin, hookName, error);
            if (ISOLATED.has(hookName)) {
              // A reporter (or a cleanup) that fails is logged; it never changes the outcome.
              scoped.error('tap failed; outcome unchanged', { hook: hookName, ms, error: stamped.message });
              return undefined;
            }
            scoped.debug('tap failed', { hook: hookName, ms, error: stamped.message });
            throw stamped;
          }
        };
        return { ...tap, fn: wrapped };
      },
    });
  }
}

/** The taps-only facade a plugin's apply() receives: every tap is named after the plugin. */
export function tapFacade(hooks: Hooks, plugin: string): TapHooks {
  const facade = {} as Record<HookName, { tapPromise(fn: unknown, options?: TapOptions): void }>;
  for (const hookName of HOOK_NAMES) {
    const hook = hooks[hookName] as unknown as {
      tapPromise(options: { name: string; stage?: number; timeoutMs?: number }, fn: unknown): void;
    };
    facade[hookName] = Object.freeze({
      tapPromise(fn: unknown, options: TapOptions = {}) {
        if (typeof fn !== 'function') throw new TypeError(`${plugin}: ${hookName}.tapPromise needs an async function`);
        hook.tapPromise({ name: plugin, ...options }, fn);
      },
    });
  }
  return Object.freeze(facade) as TapHooks;
}

/** Runs a plugin's apply() against the run's hooks with its API. */
export function applyPlugin(hooks: Hooks, plugin: AnyPlugin, api: PluginApi): void {
  try {
    plugin.apply(tapFacade(hooks, plugin.name), api);
  } catch (error) {
    throw new PluginError(plugin.name, 'apply', error);
  }
}
