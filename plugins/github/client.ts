/**
 * The GitHub REST client: @octokit/rest with a configurable base URL (GitHub Enterprise),
 * token auth, and a request hook that honours `retry-after` and rate-limit resets, retries
 * server errors only for requests that are safe to repeat, and makes GETs conditional
 * (`If-None-Match` with the ETag of the last answer: a 304 does not count against the rate
 * limit) when given a cache.
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
  /** Answers kept by URL with their ETag, for conditional GETs (across runs when durable). */
  cache?: ConditionalCache;
}

/** Bounds of what GitHub's answers may cost. */
export const GITHUB_LIMITS = Object.freeze({ maxBytes: 16 * 1024 * 1024, maxPages: 100, listBudgetMs: 10 * 60_000 });

/** One GET answer kept for a conditional request. */
export interface CachedAnswer {
  etag: string;
  headers: Record<string, string>;
  data: unknown;
}

export interface ConditionalCache {
  get(key: string): CachedAnswer | undefined;
  set(key: string, answer: CachedAnswer): void;
}

/** A cache for one run only. */
export function memoryCache(): ConditionalCache {
  const m = new Map<string, CachedAnswer>();
  return { get: (k) => m.get(k), set: (k, v) => void m.set(k, v) };
}

/**
 * Methods repeated after a 5xx: a POST (createComment, createCommitStatus) answered 5xx may
 * have been applied, so its caller looks before writing again.
 */
const REPEATABLE = new Set(['GET', 'HEAD', 'DELETE', 'PUT']);

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

function stringHeaders(headers: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) if (v !== undefined && v !== null) out[k] = String(v);
  return out;
}

/** Whether an error is a server error (5xx) or a lost answer: a write may have been applied. */
export function maybeApplied(error: unknown): boolean {
  if (isHttpError(error)) return error.status >= 500;
  return error instanceof Error && error.name !== 'AbortError' && !(error instanceof RateLimitError);
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
  const cache = options.cache;
  octokit.hook.wrap('request', async (request, requestOptions) => {
    const method = String(requestOptions.method);
    const url = String(requestOptions.url);
    const route = `${method} ${url.split('?')[0]}`;
    const answer = answerFor(method, url);
    // A next-page link is absolute: it must stay on the API's origin (the token goes with it).
    // Octokit takes any url starting "http" as absolute, and URL parsing reads http:host/path
    // (or http:/host/path) as http://host/path: the origin checked is the one of the
    // URL the request goes to, not of how the link was spelled.
    const target = octokit.request.endpoint(requestOptions as unknown as Parameters<typeof octokit.request.endpoint>[0]).url;
    const to = URL.canParse(target) ? new URL(target).origin : undefined;
    if (to !== origin) {
      throw new ForgeAnswerError('GitHub', route, to ? `a next-page link to another origin (${to}) was refused` : `a next-page link that is not a URL (${JSON.stringify(target.slice(0, 100))}) was refused`);
    }
    const key = cache && method.toUpperCase() === 'GET' ? target : undefined;
    const cached = key ? cache!.get(key) : undefined;
    if (cached) requestOptions.headers = { ...requestOptions.headers, 'if-none-match': cached.etag };
    if (answer?.list) {
      const next = /^http/.test(url);
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
        const etag = response.headers?.etag;
        if (key && typeof etag === 'string') {
          cache!.set(key, { etag, headers: stringHeaders(response.headers as Record<string, unknown>), data: response.data });
        }
        return response;
      } catch (error) {
        if (cached && isHttpError(error) && error.status === 304) {
          // Not modified: the kept answer (checked when it came) is the answer, and it cost no rate limit.
          return { status: 200, url: key!, headers: { ...cached.headers }, data: cached.data } as Awaited<ReturnType<typeof request>>;
        }
        const junk = error instanceof ForgeAnswerError ? error : (error as { cause?: unknown }).cause instanceof ForgeAnswerError ? ((error as { cause: ForgeAnswerError }).cause) : undefined;
        if (junk) throw junk.resource === route ? junk : new ForgeAnswerError('GitHub', route, junk.problem);
        if (!isHttpError(error) || attempt >= maxRetries) throw error;
        // A server error after a write may mean it was applied: only repeatable methods retry here.
        if (error.status >= 500 && !REPEATABLE.has(method.toUpperCase())) throw error;
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
