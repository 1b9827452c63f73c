/**
 * The GitHub REST client: @octokit/rest with a configurable base URL (GitHub Enterprise),
 * token auth, and a request hook that honours `retry-after` and rate-limit resets.
 */
import { Octokit } from '@octokit/rest';
import type { Logger } from '../../core/index.js';

export interface ClientOptions {
  baseUrl: string;
  token: string | undefined;
  log: Logger;
  /** Longest wait accepted for a rate limit, seconds; beyond it the request fails. */
  maxWaitSeconds: number;
  signal?: AbortSignal;
  /** Retries of one request after a rate limit or a server error. */
  maxRetries?: number;
}

export type GithubClient = Octokit;

/** Thrown when GitHub asks to wait longer than the configured maximum. */
export class RateLimitError extends Error {
  override readonly name = 'RateLimitError';
}

interface HttpError {
  status: number;
  response?: { headers?: Record<string, string | number | undefined> };
}

function isHttpError(error: unknown): error is HttpError {
  return typeof error === 'object' && error !== null && typeof (error as HttpError).status === 'number';
}

function header(error: HttpError, name: string): string | undefined {
  const v = error.response?.headers?.[name];
  return v === undefined ? undefined : String(v);
}

/**
 * Seconds to wait before retrying, or undefined when the error is not worth a retry.
 * Secondary limits send `retry-after`; primary limits `x-ratelimit-remaining: 0` and the
 * reset time (epoch seconds); 5xx answers are retried after a short backoff.
 */
export function retryDelay(error: HttpError, attempt: number, nowMs = Date.now()): number | undefined {
  const retryAfter = header(error, 'retry-after');
  if ((error.status === 403 || error.status === 429 || error.status >= 500) && retryAfter !== undefined) {
    const seconds = Number(retryAfter);
    if (Number.isFinite(seconds)) return Math.max(0, seconds);
    const date = Date.parse(retryAfter);
    if (Number.isFinite(date)) return Math.max(0, Math.ceil((date - nowMs) / 1000));
  }
  if ((error.status === 403 || error.status === 429) && header(error, 'x-ratelimit-remaining') === '0') {
    const reset = Number(header(error, 'x-ratelimit-reset'));
    if (Number.isFinite(reset)) return Math.max(0, Math.ceil(reset - nowMs / 1000) + 1);
  }
  if (error.status >= 500 && error.status <= 599) return 2 ** attempt;
  return undefined;
}

function sleep(seconds: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, seconds * 1000);
    function onAbort() {
      clearTimeout(timer);
      reject(signal?.reason);
    }
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export function createClient(options: ClientOptions): GithubClient {
  const { log } = options;
  const maxRetries = options.maxRetries ?? 3;
  const octokit = new Octokit({
    baseUrl: options.baseUrl.replace(/\/+$/, ''),
    ...(options.token ? { auth: options.token } : {}),
    userAgent: 'byoci',
    request: options.signal ? { signal: options.signal } : {},
    log: {
      debug: (message: string) => log.debug('octokit', { message }),
      info: (message: string) => log.debug('octokit', { message }),
      warn: (message: string) => log.warn('octokit', { message }),
      error: (message: string) => log.error('octokit', { message }),
    },
  });
  octokit.hook.wrap('request', async (request, requestOptions) => {
    for (let attempt = 0; ; attempt += 1) {
      try {
        return await request(requestOptions);
      } catch (error) {
        if (!isHttpError(error) || attempt >= maxRetries) throw error;
        const wait = retryDelay(error, attempt);
        if (wait === undefined) throw error;
        const route = `${requestOptions.method} ${requestOptions.url}`;
        if (wait > options.maxWaitSeconds) {
          throw new RateLimitError(
            `GitHub asks to wait ${wait} s before retrying ${route}, more than maxRateLimitWait (${options.maxWaitSeconds} s)`,
          );
        }
        log.warn('rate limited or server error, retrying', { route, status: error.status, waitSeconds: wait, attempt: attempt + 1 });
        await sleep(wait, options.signal);
      }
    }
  });
  return octokit;
}
