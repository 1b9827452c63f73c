/**
 * The GitHub REST client: @octokit/rest with a configurable base URL (GitHub Enterprise),
 * token auth, and a request hook that honours `retry-after` and rate-limit resets.
 */
import { Octokit } from '@octokit/rest';
import { ForgeAnswerError, boundedFetch, type Logger } from '../../core/index.js';
import { answerFor, answerProblem } from './answers.js';

export interface ClientOptions {
  baseUrl: string;
  token: string | undefined;
  log: Logger;
  /** Longest wait accepted for a rate limit, seconds; beyond it the request fails. */
  maxWaitSeconds: number;
  signal?: AbortSignal;
  /** Retries of one request after a rate limit or a server error. */
  maxRetries?: number;
  /** Most bytes of one answer (after decompression). */
  maxBytes?: number;
  /** Most pages read of one list. */
  maxPages?: number;
  /** Longest time spent reading one list, ms. */
  listBudgetMs?: number;
}

/** Bounds of what GitHub's answers may cost. */
export const GITHUB_LIMITS = Object.freeze({ maxBytes: 16 * 1024 * 1024, maxPages: 100, listBudgetMs: 10 * 60_000 });

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
    request: { fetch: boundedFetch('GitHub', { maxBytes: options.maxBytes ?? GITHUB_LIMITS.maxBytes }), ...(options.signal ? { signal: options.signal } : {}) },
    log: {
      debug: (message: string) => log.debug('octokit', { message }),
      info: (message: string) => log.debug('octokit', { message }),
      warn: (message: string) => log.warn('octokit', { message }),
      error: (message: string) => log.error('octokit', { message }),
    },
  });
  const origin = new URL(options.baseUrl).origin;
  const maxPages = options.maxPages ?? GITHUB_LIMITS.maxPages;
  const listBudgetMs = options.listBudgetMs ?? GITHUB_LIMITS.listBudgetMs;
  /** Pages read and start time of the list being read, per kind of list (pagination is sequential per list). */
  const lists = new Map<string, { pages: number; started: number }>();
  octokit.hook.wrap('request', async (request, requestOptions) => {
    const method = String(requestOptions.method);
    const url = String(requestOptions.url);
    const route = `${method} ${url.split('?')[0]}`;
    const answer = answerFor(method, url);
    // A next-page link is absolute: it must stay on the API's origin (the token goes with it).
    if (/^https?:\/\//.test(url) && new URL(url).origin !== origin) {
      throw new ForgeAnswerError('GitHub', route, `a next-page link to another origin (${new URL(url).origin}) was refused`);
    }
    if (answer?.list) {
      const next = /^https?:\/\//.test(url);
      const state = next ? lists.get(answer.what) : undefined;
      if (!state) lists.set(answer.what, { pages: 1, started: Date.now() });
      else {
        state.pages += 1;
        if (state.pages > maxPages) throw new ForgeAnswerError('GitHub', route, `${answer.what} has more than ${maxPages} pages`);
        if (Date.now() - state.started > listBudgetMs) throw new ForgeAnswerError('GitHub', route, `reading ${answer.what} took longer than ${listBudgetMs / 1000} s`);
      }
    }
    for (let attempt = 0; ; attempt += 1) {
      try {
        const response = await request(requestOptions);
        if (answer) {
          const checked = answer.schema.safeParse(response.data);
          if (!checked.success) {
            const got = typeof response.data === 'string' ? `: got text starting ${JSON.stringify(response.data.slice(0, 60))}` : '';
            throw new ForgeAnswerError('GitHub', route, `expected ${answer.what}${got || `; ${answerProblem(checked.error)}`}`);
          }
        }
        return response;
      } catch (error) {
        const junk = error instanceof ForgeAnswerError ? error : (error as { cause?: unknown }).cause instanceof ForgeAnswerError ? ((error as { cause: ForgeAnswerError }).cause) : undefined;
        if (junk) throw junk.resource === route ? junk : new ForgeAnswerError('GitHub', route, junk.problem);
        if (!isHttpError(error) || attempt >= maxRetries) throw error;
        const wait = retryDelay(error, attempt);
        if (wait === undefined) throw error;
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
