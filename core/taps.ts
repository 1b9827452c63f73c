/**
 * Applying plugins to a run's hooks, and the interceptor that wraps every tap:
 * timing, start/complete/fail logging, a timeout, cancellation, and `{plugin, hook}`
 * stamped on errors.
 *
 * Cancellation: every tap gets its own `AbortSignal` (as `payload.signal` where the
 * payload has one, and always as `context.signal`, the argument after the hook's). It
 * fires when the run is aborted (SIGINT/SIGTERM; not for `shutdown`, which runs after an
 * abort to clean up) and when the tap's own timeout passes. Core then waits for the tap
 * to settle, at most `settleMs`: a tap that never settles fails with a `TimeoutError`
 * saying so, and its work is known to be abandoned (see `TapStatus.abandoned`).
 */
import type { TapContext, TapHooks, TapOptions, HookName, Hooks } from '../hooks/index.js';
import { HOOK_NAMES } from '../hooks/index.js';
import { PluginError, TimeoutError } from './errors.js';
import type { Logger } from './logger.js';
import type { AnyPlugin, PluginApi } from './plugin.js';
import { checkDiscovered } from './proposal-meta.js';
import { recordSpan } from './timings.js';

/** Default time a tap of each hook may take before core aborts it (ms; 0 = none). */
export const DEFAULT_TAP_TIMEOUTS: Readonly<Record<HookName, number>> = Object.freeze({
  verify: 60_000,
  sweep: 120_000,
  discover: 120_000,
  // A tap only starts its preparation (see the hook's doc); core awaits it before shutdown.
  prepare: 60_000,
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

/**
 * Default time core waits for an aborted tap to settle before giving up on it (ms):
 * backends get longer, since they delete their container on the way out.
 */
export const DEFAULT_SETTLE_MS: Readonly<Record<HookName, number>> = Object.freeze({
  verify: 10_000,
  sweep: 60_000,
  discover: 10_000,
  prepare: 10_000,
  fetch: 10_000,
  merge: 10_000,
  gate: 10_000,
  testInContainer: 120_000,
  push: 10_000,
  report: 10_000,
  queueChanged: 10_000,
  shutdown: 10_000,
});

/** Hooks whose failing taps are logged and swallowed: hints, reporting and cleanup. */
const ISOLATED: ReadonlySet<HookName> = new Set<HookName>(['prepare', 'report', 'queueChanged', 'sweep', 'shutdown']);

/** Hooks whose taps are not aborted with the run (they run after an abort, to clean up). */
const NOT_ABORTED_WITH_RUN: ReadonlySet<HookName> = new Set<HookName>(['shutdown']);

/** Index of the payload argument that carries `signal`, per hook (undefined: none). */
const SIGNAL_ARG: Readonly<Record<HookName, number | undefined>> = Object.freeze({
  verify: 0,
  sweep: 0,
  discover: 1,
  prepare: 0,
  fetch: 0,
  merge: 0,
  gate: 0,
  testInContainer: 0,
  push: 0,
  report: undefined,
  queueChanged: undefined,
  shutdown: 0,
});

interface TapInfo {
  name: string;
  type: string;
  fn: (...args: unknown[]) => unknown;
  timeoutMs?: number;
}

export interface InterceptOptions {
  /** Overrides DEFAULT_TAP_TIMEOUTS per hook. */
  timeouts?: Partial<Record<HookName, number>>;
  /** How long an aborted tap may take to settle, for every hook (default DEFAULT_SETTLE_MS). */
  settleMs?: number;
  /** The run's signal: aborting it aborts every running tap (except shutdown's). */
  signal?: AbortSignal;
}

/** What the interceptor knows about taps still running, for core's bookkeeping. */
export interface TapStatus {
  /** Taps running now. */
  readonly running: ReadonlySet<string>;
  /** Taps that were aborted and never settled within the grace time: their work may go on. */
  readonly abandoned: readonly string[];
}

type Settled = { ok: true; value: unknown } | { ok: false; error: unknown };

function settle(promise: Promise<unknown>): Promise<Settled> {
  return promise.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
}

/** Resolves after `ms` (never when ms is 0), or when `signal` aborts; `stop()` clears it. */
function deadline(ms: number, signal?: AbortSignal): { promise: Promise<'timeout' | 'aborted'>; stop(): void } {
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const promise = new Promise<'timeout' | 'aborted'>((resolve) => {
    if (ms > 0) timer = setTimeout(() => resolve('timeout'), ms);
    if (signal) {
      if (signal.aborted) resolve('aborted');
      onAbort = () => resolve('aborted');
      signal.addEventListener('abort', onAbort, { once: true });
    }
  });
  return {
    promise,
    stop() {
      clearTimeout(timer);
      if (onAbort) signal?.removeEventListener('abort', onAbort);
    },
  };
}

/** The signal a caller put in the hook's payload, if any (core puts the run's there). */
function payloadSignal(hookName: HookName, args: unknown[]): AbortSignal | undefined {
  const index = SIGNAL_ARG[hookName];
  const payload = index === undefined ? undefined : args[index];
  const signal = payload && typeof payload === 'object' ? (payload as { signal?: unknown }).signal : undefined;
  return signal instanceof AbortSignal ? signal : undefined;
}

/** The hook's arguments with the tap's own signal in the payload, plus the tap context. */
function withSignal(hookName: HookName, args: unknown[], signal: AbortSignal): unknown[] {
  const index = SIGNAL_ARG[hookName];
  const out = [...args];
  if (index !== undefined) {
    const payload = out[index];
    if (payload && typeof payload === 'object') out[index] = { ...(payload as object), signal };
  }
  const context: TapContext = { signal };
  return [...out, context];
}

/**
 * Installs the interceptor on every hook. Taps registered later are wrapped too.
 * Returns the live status of the taps (running, abandoned).
 */
export function interceptHooks(hooks: Hooks, log: Logger, options: InterceptOptions = {}): TapStatus {
  const timeouts = options.timeouts ?? {};
  const running = new Set<string>();
  const abandoned: string[] = [];
  let serial = 0;
  for (const hookName of HOOK_NAMES) {
    const hook = hooks[hookName] as unknown as { intercept(i: { register(tap: TapInfo): TapInfo }): void };
    hook.intercept({
      register(tap: TapInfo): TapInfo {
        const original = tap.fn;
        const plugin = tap.name;
        const limit = tap.timeoutMs ?? timeouts[hookName] ?? DEFAULT_TAP_TIMEOUTS[hookName];
        const scoped = log.child(plugin);
        const what = `${plugin} on ${hookName}`;
        const settleMs = options.settleMs ?? DEFAULT_SETTLE_MS[hookName];
        const wrapped = async (...args: unknown[]): Promise<unknown> => {
          const started = performance.now();
          const id = `${what} #${++serial}`;
          const controller = new AbortController();
          // What aborts the tap besides its timeout: the run, and the signal the caller passed.
          const upstreams = [NOT_ABORTED_WITH_RUN.has(hookName) ? undefined : options.signal, payloadSignal(hookName, args)].filter(
            (s): s is AbortSignal => s !== undefined,
          );
          const runSignal = upstreams.length === 0 ? undefined : upstreams.length === 1 ? upstreams[0] : AbortSignal.any(upstreams);
          const signal = runSignal ? AbortSignal.any([runSignal, controller.signal]) : controller.signal;
          scoped.debug('tap start', { hook: hookName });
          running.add(id);
          const task = settle(Promise.resolve().then(() => original(...withSignal(hookName, args, signal))));
          try {
            const until = deadline(limit, runSignal);
            const first = await Promise.race([task, until.promise]);
            until.stop();
            let result: Settled;
            if (typeof first === 'object') {
              result = first;
            } else {
              // Timed out, or the run was aborted: tell the tap, then wait for it to settle.
              const timedOut = first === 'timeout';
              if (timedOut) controller.abort(new TimeoutError(`${what} did not finish within ${limit} ms`));
              const grace = deadline(settleMs);
              const late = await Promise.race([task, grace.promise]);
              grace.stop();
              if (typeof late !== 'object') {
                abandoned.push(id);
                scoped.error('tap did not stop after being aborted; its work is abandoned', { hook: hookName, settleMs });
                result = {
                  ok: false,
                  error: new TimeoutError(
                    `${what} ${timedOut ? `did not finish within ${limit} ms` : 'was aborted'} and did not stop within ${settleMs} ms of being aborted`,
                  ),
                };
              } else if (timedOut) {
                result = { ok: false, error: new TimeoutError(`${what} did not finish within ${limit} ms (aborted)`) };
              } else {
                result = late;
              }
            }
            if (result.ok) {
              scoped.debug('tap done', { hook: hookName, ms: Math.round(performance.now() - started) });
              return result.value;
            }
            throw result.error;
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
          } finally {
            running.delete(id);
            recordSpan('hook', `${hookName} (${plugin})`, started);
          }
        };
        return { ...tap, fn: wrapped };
      },
    });
  }
  return { running, abandoned };
}

/** The taps-only facade a plugin's apply() receives: every tap is named after the plugin. */
export function tapFacade(hooks: Hooks, plugin: string, tapped?: Set<HookName>, definition?: AnyPlugin): TapHooks {
  const facade = {} as Record<HookName, { tapPromise(fn: unknown, options?: TapOptions): void }>;
  for (const hookName of HOOK_NAMES) {
    const hook = hooks[hookName] as unknown as {
      tapPromise(options: { name: string; stage?: number; timeoutMs?: number }, fn: unknown): void;
    };
    facade[hookName] = Object.freeze({
      tapPromise(fn: unknown, options: TapOptions = {}) {
        if (typeof fn !== 'function') throw new TypeError(`${plugin}: ${hookName}.tapPromise needs an async function`);
        // A forge's own proposals leave its discover tap with their meta validated (once).
        const tap = hookName === 'discover' && definition?.forge?.meta
          ? async (...args: unknown[]) => checkDiscovered(definition, await (fn as (...a: unknown[]) => unknown)(...args))
          : fn;
        hook.tapPromise({ name: plugin, ...options }, tap);
        tapped?.add(hookName);
      },
    });
  }
  return Object.freeze(facade) as TapHooks;
}

/** Runs a plugin's apply() against the run's hooks with its API; returns the hooks it tapped. */
export function applyPlugin(hooks: Hooks, plugin: AnyPlugin, api: PluginApi): HookName[] {
  const tapped = new Set<HookName>();
  try {
    plugin.apply(tapFacade(hooks, plugin.name, tapped, plugin), api);
  } catch (error) {
    throw new PluginError(plugin.name, 'apply', error);
  }
  return HOOK_NAMES.filter((h) => tapped.has(h));
}
