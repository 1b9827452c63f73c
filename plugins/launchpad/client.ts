/**
 * A small typed client of Launchpad's REST API (launchpadlib's protocol, no library):
 * OAuth PLAINTEXT on every request, `*_link` following, collection paging through
 * `next_collection_link`, named operations (`ws.op`: GET for reads, form-encoded POST for
 * writes), retries with backoff on 5xx and timeouts, errors naming the resource.
 */
import type { z } from 'zod';
import { ForgeAnswerError, boundedFetch, type Logger } from '../../core/index.js';
import { answerProblem, entrySchema, pageSchema } from './answers.js';
import { authorizationHeader, type OAuthCredentials } from './credentials.js';

/** A Launchpad entry: JSON with `self_link`, `web_link`, `*_link` and plain fields. */
export type LpEntry = { self_link: string; web_link?: string | null; resource_type_link?: string | null } & Record<string, unknown>;

export interface LpCollectionPage {
  entries: LpEntry[];
  start?: number;
  total_size?: number;
  total_size_link?: string;
  next_collection_link?: string;
  prev_collection_link?: string;
}

export type Params = Record<string, string | number | boolean | undefined>;

export interface ClientOptions {
  /** Service root without version, e.g. `https://api.launchpad.net/`. */
  serviceRoot: string;
  version?: string;
  /** Absent: anonymous (read-only) access. */
  credentials?: OAuthCredentials;
  retries?: number;
  retryDelayMs?: number;
  timeoutMs?: number;
  log?: Logger;
  signal?: AbortSignal;
  /** Most bytes of one answer (after decompression). */
  maxBytes?: number;
  /** Most pages read of one collection. */
  maxPages?: number;
  /** Longest time spent reading one collection, ms. */
  collectionBudgetMs?: number;
}

/** Bounds of what Launchpad's answers may cost. */
export const LAUNCHPAD_LIMITS = Object.freeze({ maxBytes: 16 * 1024 * 1024, maxPages: 200, collectionBudgetMs: 10 * 60_000 });

/** An answer Launchpad gave that we cannot go on with; names the request and the resource. */
export class LaunchpadApiError extends Error {
  override readonly name = 'LaunchpadApiError';
  constructor(
    message: string,
    readonly status: number | undefined,
    readonly method: string,
    readonly url: string,
    readonly body: string,
    /** `X-Lazr-OopsId` of the answer: the id Launchpad's admins find the error by. */
    readonly oopsId?: string,
  ) {
    super(message);
  }
}

/** Statuses that a front end answers while the application server may still have done the work. */
export const MAYBE_APPLIED: ReadonlySet<number> = new Set([502, 503, 504]);

const RETRY_GET = new Set([500, 502, 503, 504]);
const RETRY_POST = new Set([502, 503, 504]);

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function snippet(body: string): string {
  const one = body.replace(/\s+/g, ' ').trim();
  return one.length > 300 ? `${one.slice(0, 300)}…` : one;
}

export class LaunchpadClient {
  readonly root: string;
  readonly base: string;
  readonly #origin: string;
  readonly #opts: Required<Pick<ClientOptions, 'retries' | 'retryDelayMs' | 'timeoutMs' | 'maxBytes' | 'maxPages' | 'collectionBudgetMs'>> & ClientOptions;
  readonly #fetch: typeof fetch;

  constructor(options: ClientOptions) {
    this.root = options.serviceRoot.endsWith('/') ? options.serviceRoot : `${options.serviceRoot}/`;
    this.base = `${this.root}${options.version ?? 'devel'}/`;
    this.#origin = new URL(this.root).origin;
    this.#opts = { retries: 3, retryDelayMs: 1000, timeoutMs: 60_000, ...LAUNCHPAD_LIMITS, ...options };
    this.#fetch = boundedFetch('Launchpad', { maxBytes: this.#opts.maxBytes });
  }

  /** Absolute URL of a link or of a path relative to the versioned root. */
  url(linkOrPath: string, params?: Params): string {
    const url = /^https?:\/\//.test(linkOrPath) ? new URL(linkOrPath) : new URL(linkOrPath.replace(/^\/+/, ''), this.base);
    if (url.origin !== this.#origin) {
      throw new LaunchpadApiError(
        `refusing to follow ${url.href}: it is outside the service root ${this.root} (credentials are only sent there)`,
        undefined,
        'GET',
        url.href,
        '',
      );
    }
    for (const [k, v] of Object.entries(params ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    return url.href;
  }

  /** The resource a URL names, for messages: `~owner/project/+git/repo/+merge/1`. */
  resourceOf(url: string): string {
    const u = new URL(url);
    const path = u.href.startsWith(this.base) ? u.href.slice(this.base.length).split('?')[0]! : u.pathname;
    const op = u.searchParams.get('ws.op');
    return `${path || '(service root)'}${op ? ` (ws.op=${op})` : ''}`;
  }

  /**
   * GET an entry, a collection page or a named read, checked against `schema` (default: an
   * entry with its self_link). A body that is not JSON or not of the schema's shape is a
   * ForgeAnswerError naming the resource.
   */
  async get<T = LpEntry>(link: string, params?: Params, schema: z.ZodType<T, z.ZodTypeDef, unknown> = entrySchema as never): Promise<T> {
    const url = this.url(link, params);
    const res = await this.#request('GET', url);
    return this.#check(`GET ${this.resourceOf(url)}`, res.body, res.type, schema);
  }

  /** A named read operation: `GET <link>?ws.op=<op>&...`, its answer checked against `schema`. */
  named<T>(link: string, op: string, params: Params, schema: z.ZodType<T, z.ZodTypeDef, unknown>): Promise<T> {
    return this.get<T>(link, { 'ws.op': op, ...params }, schema);
  }

  #check<T>(resource: string, body: string, type: string | undefined, schema: z.ZodType<T, z.ZodTypeDef, unknown>): T {
    let value: unknown;
    try {
      value = body === '' ? null : JSON.parse(body);
    } catch {
      throw new ForgeAnswerError('Launchpad', resource, `expected JSON, got ${type ? `${type.split(';')[0]} ` : ''}text starting ${JSON.stringify(snippet(body).slice(0, 60))}`);
    }
    const parsed = schema.safeParse(value);
    if (!parsed.success) throw new ForgeAnswerError('Launchpad', resource, answerProblem(parsed.error));
    return parsed.data;
  }

  /**
   * A named write operation: form-encoded `POST ws.op=<op>&...`. Returns the body (parsed)
   * and Location. Retried on 502/503/504 and connection errors only when `idempotent` (doing
   * it twice is doing it once, e.g. setStatus): a 502/503/504 or a lost answer may come
   * after Launchpad applied the write, so the caller of a non-idempotent operation
   * (createComment) looks before trying again.
   */
  async post<T = unknown>(
    link: string,
    op: string,
    params: Params = {},
    options: { idempotent?: boolean } = {},
  ): Promise<{ status: number; location?: string; body: T | null }> {
    const form = new URLSearchParams();
    form.set('ws.op', op);
    for (const [k, v] of Object.entries(params)) if (v !== undefined) form.set(k, String(v));
    const url = this.url(link);
    const res = await this.#request('POST', url, form.toString(), options.idempotent === true);
    let body: T | null = null;
    try {
      body = res.body === '' ? null : (JSON.parse(res.body) as T);
    } catch {
      // The write was done (2xx); an answer that is not JSON carries nothing byoci reads.
      this.#opts.log?.warn('launchpad answered a write with text that is not JSON', { resource: this.resourceOf(url), op });
    }
    return { status: res.status, location: res.location, body };
  }

  /**
   * Every entry of a collection, following `next_collection_link` page after page, at most
   * `maxPages` pages and `collectionBudgetMs` in all; entries checked against `schema`.
   */
  async *collection<T extends LpEntry = LpEntry>(link: string, params?: Params, schema?: z.ZodType<T, z.ZodTypeDef, unknown>): AsyncGenerator<T> {
    let next: string | undefined = this.url(link, params);
    const first = next;
    const seen = new Set<string>();
    const started = Date.now();
    const { maxPages, collectionBudgetMs } = this.#opts;
    while (next) {
      if (seen.has(next)) throw new LaunchpadApiError(`collection ${this.resourceOf(next)} pages in a loop`, undefined, 'GET', next, '');
      if (seen.size >= maxPages) throw new ForgeAnswerError('Launchpad', `GET ${this.resourceOf(first)}`, `the collection has more than ${maxPages} pages`);
      if (Date.now() - started > collectionBudgetMs) {
        throw new ForgeAnswerError('Launchpad', `GET ${this.resourceOf(first)}`, `reading the collection took longer than ${collectionBudgetMs / 1000} s (${seen.size} pages)`);
      }
      seen.add(next);
      const page: z.output<typeof pageSchema> = await this.get(next, undefined, pageSchema);
      const entries = page.entries as LpEntry[];
      if (schema) {
        for (const [i, entry] of entries.entries()) {
          const parsed = schema.safeParse(entry);
          if (!parsed.success) throw new ForgeAnswerError('Launchpad', `GET ${this.resourceOf(next)}`, `entries[${i}].${answerProblem(parsed.error)}`);
          yield parsed.data;
        }
      } else yield* entries as T[];
      next = page.next_collection_link ? this.url(page.next_collection_link) : undefined;
    }
  }

  async all(link: string, params?: Params): Promise<LpEntry[]> {
    const out: LpEntry[] = [];
    for await (const e of this.collection(link, params)) out.push(e);
    return out;
  }

  async #request(method: 'GET' | 'POST', url: string, form?: string, idempotent = method === 'GET'): Promise<{ status: number; body: string; location?: string; type?: string }> {
    const { retries, retryDelayMs, timeoutMs, log, signal, credentials } = this.#opts;
    const resource = this.resourceOf(url);
    for (let attempt = 0; ; attempt++) {
      const headers: Record<string, string> = { Accept: 'application/json' };
      if (credentials) headers.Authorization = authorizationHeader(credentials, this.root);
      if (form !== undefined) headers['Content-Type'] = 'application/x-www-form-urlencoded';
      const timeout = AbortSignal.timeout(timeoutMs);
      let response: Response;
      try {
        response = await this.#fetch(url, {
          method,
          headers,
          body: form,
          signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
        });
      } catch (error) {
        if (signal?.aborted) throw error;
        if (error instanceof ForgeAnswerError) throw new ForgeAnswerError('Launchpad', `${method} ${resource}`, error.problem);
        const timedOut = timeout.aborted;
        const what = timedOut ? `timed out after ${timeoutMs} ms` : `failed: ${(error as Error).cause instanceof Error ? ((error as Error).cause as Error).message : (error as Error).message}`;
        // A write whose answer was lost (timeout, reset) may have been applied: repeat only idempotent ones.
        if (attempt < retries && idempotent) {
          log?.warn('launchpad request failed, retrying', { method, resource, attempt: attempt + 1, error: what });
          await sleep(retryDelayMs * 2 ** attempt, signal);
          continue;
        }
        throw new LaunchpadApiError(`Launchpad ${method} ${resource} ${what}`, undefined, method, url, '');
      }
      const body = await response.text();
      const retryable = idempotent && (method === 'GET' ? RETRY_GET : RETRY_POST).has(response.status);
      if (retryable && attempt < retries) {
        log?.warn('launchpad answered a server error, retrying', { method, resource, status: response.status, attempt: attempt + 1 });
        await sleep(retryDelayMs * 2 ** attempt, signal);
        continue;
      }
      if (response.ok) return { status: response.status, body, location: response.headers.get('location') ?? undefined, type: response.headers.get('content-type') ?? undefined };
      const oops = response.headers.get('x-lazr-oopsid') ?? undefined;
      const message = this.#explain(method, resource, response.status, body, form);
      throw new LaunchpadApiError(oops ? `${message} (Launchpad error id ${oops})` : message, response.status, method, url, body, oops);
    }
  }

  #explain(method: string, resource: string, status: number, body: string, form: string | undefined): string {
    const said = body ? `: ${snippet(body)}` : '';
    switch (status) {
      case 401:
        // Launchpad refuses a write permission to a token authorised read-only (READ_PUBLIC,
        // READ_PRIVATE) with 401 and the Unauthorized text: (object, 'operation', 'launchpad.Permission').
        if (method === 'POST' && /'launchpad\.\w+'\)?\s*$/.test(body)) {
          const op = new URLSearchParams(form ?? '').get('ws.op');
          return (
            `Launchpad refused ${op ?? 'the write'} on ${resource} (401 Unauthorized)${said}. The token can read but not write: ` +
            'it was authorised with a read-only access level (READ_PUBLIC or READ_PRIVATE). Authorise a new token with ' +
            '"Change anything" (WRITE_PUBLIC, or WRITE_PRIVATE for private projects) and store it as the secret launchpad/oauth'
          );
        }
        return `Launchpad refused the credentials (401 Unauthorized) for ${method} ${resource}${said}. Check the secret launchpad/oauth (token revoked or for another service root?)`;
      case 403:
        return `Launchpad forbids ${method} ${resource} to the landing user (403 Forbidden)${said}`;
      case 404:
        return `Launchpad has no ${resource} (404 Not Found)${said}`;
      default:
        return `Launchpad answered ${status} to ${method} ${resource}${said}`;
    }
  }
}
