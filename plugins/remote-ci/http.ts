/**
 * Bounded HTTP for remote CI sites: every request has a timeout, every answer a size cap,
 * every JSON answer is validated with zod before anything reads it, and transient failures
 * (network errors, 429, 5xx) are retried with backoff. Nothing else is retried.
 */
import type { z } from 'zod';

export interface HttpLimits {
  timeoutMs: number;
  maxBytes: number;
  retries: number;
  /** First backoff delay; doubles per retry (a `Retry-After` up to 60 s is honoured). */
  backoffMs?: number;
  signal: AbortSignal;
}

export interface HttpAnswer {
  status: number;
  headers: Headers;
  body: string;
  url: string;
}

/** A site answered something byoci cannot use (or did not answer at all). */
export class RemoteError extends Error {
  override readonly name = 'RemoteError';
  constructor(
    message: string,
    /** HTTP status when there was an answer. */
    readonly status?: number,
    /** True for network errors, 429 and 5xx: worth polling again later. */
    readonly transient = false,
  ) {
    super(message);
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

export { sleep };

async function readCapped(response: Response, maxBytes: number, url: string): Promise<string> {
  const declared = Number(response.headers.get('content-length') ?? '0');
  if (declared > maxBytes) {
    await response.body?.cancel();
    throw new RemoteError(`${url}: answer of ${declared} bytes is over the ${maxBytes}-byte limit`, response.status);
  }
  if (!response.body) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = response.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel();
      throw new RemoteError(`${url}: answer over the ${maxBytes}-byte limit`, response.status);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** One request with retries on transient failures; any status is returned, none thrown. */
export async function request(
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: string },
  limits: HttpLimits,
): Promise<HttpAnswer> {
  let delay = limits.backoffMs ?? 500;
  for (let attempt = 0; ; attempt++) {
    const timeout = AbortSignal.timeout(limits.timeoutMs);
    const signal = AbortSignal.any([limits.signal, timeout]);
    let answer: HttpAnswer | undefined;
    let failure: RemoteError;
    try {
      const response = await fetch(url, { method: init.method ?? 'GET', headers: init.headers ?? {}, body: init.body ?? null, signal, redirect: 'manual' });
      answer = { status: response.status, headers: response.headers, body: await readCapped(response, limits.maxBytes, url), url };
      if (answer.status !== 429 && answer.status < 500) return answer;
      failure = new RemoteError(`${url}: HTTP ${answer.status}`, answer.status, true);
    } catch (error) {
      if (limits.signal.aborted) throw error;
      if (error instanceof RemoteError) throw error;
      const why = timeout.aborted ? `no answer within ${limits.timeoutMs} ms` : (error as Error).message;
      failure = new RemoteError(`${url}: ${why}`, undefined, true);
    }
    if (attempt >= limits.retries) {
      if (answer) return answer;
      throw failure;
    }
    const retryAfter = Number(answer?.headers.get('retry-after'));
    await sleep(Number.isFinite(retryAfter) && retryAfter > 0 && retryAfter <= 60 ? retryAfter * 1000 : delay, limits.signal);
    delay *= 2;
  }
}

/** Throws RemoteError for a non-2xx answer (transient for 429/5xx). */
export function expectOk(answer: HttpAnswer): HttpAnswer {
  if (answer.status >= 200 && answer.status < 300) return answer;
  const transient = answer.status === 429 || answer.status >= 500;
  throw new RemoteError(`${answer.url}: HTTP ${answer.status}${answer.body ? `: ${answer.body.slice(0, 200).replace(/\s+/g, ' ')}` : ''}`, answer.status, transient);
}

/** The answer's JSON, validated; a shape the schema refuses is a RemoteError naming the field. */
export function parseJson<S extends z.ZodTypeAny>(answer: HttpAnswer, schema: S): z.output<S> {
  let value: unknown;
  try {
    value = JSON.parse(answer.body);
  } catch {
    throw new RemoteError(`${answer.url}: not JSON (HTTP ${answer.status})`, answer.status);
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new RemoteError(`${answer.url}: unexpected answer: ${issue.path.join('.') || '(root)'}: ${issue.message}`, answer.status);
  }
  return parsed.data;
}
