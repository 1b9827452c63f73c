/**
 * A `fetch` for forge APIs with bounds on what an answer can cost: the body is read up to
 * `maxBytes` after decompression (an endless body or a gzip bomb stops there), redirects
 * are followed by hand and only within the origin asked (credentials never travel to
 * another host, and another host's answer is never used), at most `maxRedirects` of them.
 * Plugins pass it to their HTTP clients (Launchpad's own, Octokit's `request.fetch`).
 */
import { ForgeAnswerError } from './errors.js';

export interface FetchLimits {
  /** Most bytes of one answer's (decoded) body. */
  maxBytes: number;
  /** Most redirects followed for one request (same origin only). */
  maxRedirects: number;
}

export const FETCH_LIMITS: FetchLimits = Object.freeze({ maxBytes: 16 * 1024 * 1024, maxRedirects: 5 });

const NULL_BODY = new Set([101, 204, 205, 304]);

function describe(method: string, url: URL): string {
  return `${method} ${url.origin}${url.pathname}`;
}

async function readBounded(response: Response, limit: number, forge: string, what: string): Promise<Uint8Array> {
  if (!response.body) return new Uint8Array();
  const declared = Number(response.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > limit && !response.headers.get('content-encoding')) {
    await response.body.cancel().catch(() => undefined);
    throw new ForgeAnswerError(forge, what, `the answer is ${declared} bytes, more than the ${limit} allowed`);
  }
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      await reader.cancel().catch(() => undefined);
      throw new ForgeAnswerError(forge, what, `the answer is larger than the ${limit} bytes allowed (after decompression)`);
    }
    chunks.push(value);
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

/**
 * A fetch function bounded by `limits`; its answers are ordinary Responses whose body is
 * already in memory. `forge` names the service in errors.
 */
export function boundedFetch(forge: string, limits: Partial<FetchLimits> = {}): typeof fetch {
  const { maxBytes, maxRedirects } = { ...FETCH_LIMITS, ...limits };
  return async function bounded(input: string | URL | Request, init: RequestInit = {}): Promise<Response> {
    const request = input instanceof Request ? input : undefined;
    let url = new URL(request ? request.url : input.toString());
    const origin = url.origin;
    let method = (init.method ?? request?.method ?? 'GET').toUpperCase();
    let body = init.body;
    for (let redirects = 0; ; redirects++) {
      const response = await fetch(url, { ...init, method, body, redirect: 'manual' });
      if (response.status >= 300 && response.status < 400 && response.headers.has('location')) {
        await response.body?.cancel().catch(() => undefined);
        const next = new URL(response.headers.get('location')!, url);
        if (next.origin !== origin) {
          throw new ForgeAnswerError(forge, describe(method, url), `a redirect to another origin (${next.origin}) was refused: answers are only taken from ${origin}`);
        }
        if (redirects >= maxRedirects) throw new ForgeAnswerError(forge, describe(method, url), `more than ${maxRedirects} redirects`);
        if (response.status === 303 || ((response.status === 301 || response.status === 302) && method === 'POST')) {
          method = 'GET';
          body = undefined;
        }
        url = next;
        continue;
      }
      const bytes = await readBounded(response, maxBytes, forge, describe(method, url));
      const headers = new Headers(response.headers);
      // The body is decoded already: its encoding and length no longer apply.
      headers.delete('content-encoding');
      headers.delete('content-length');
      const answer = new Response(NULL_BODY.has(response.status) ? null : bytes, { status: response.status, statusText: response.statusText, headers });
      Object.defineProperty(answer, 'url', { value: url.href });
      return answer;
    }
  };
}

/**
 * The Jenkins queue item a link names (a buildWithParameters `Location`, a queue `url`), on
 * `root` (the configured Jenkins URL). Jenkins builds absolute links on its own configured
 * "Jenkins URL", which behind a proxy can name another host or scheme than the one we talk
 * to: the item is addressed by its id under `root`, so the credentials go nowhere else. A
 * link that names no queue item counts only on root's origin. Undefined otherwise. Used by
 * the brain's Jenkins client and the remote-ci plugin's.
 */
export function jenkinsQueueItem(link: string | null | undefined, root: string): string | undefined {
  const base = `${root.replace(/\/+$/, '')}/`;
  if (!link || !URL.canParse(link, base)) return undefined;
  const url = new URL(link, base);
  const id = /\/queue\/item\/(\d+)\/?$/.exec(url.pathname)?.[1];
  if (id !== undefined) return `${base}queue/item/${id}/`;
  return url.origin === new URL(base).origin ? url.toString() : undefined;
}
