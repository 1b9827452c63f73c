/**
 * Junk forge answers for robustness tests, as responders for the fake servers' `override`:
 * wrong shapes, HTML with status 200, endless bodies, gzip bombs, redirects to another
 * origin, collections whose next page never ends. Plus a seeded PRNG and JSON mutators for
 * fuzz-style tests (the same seed gives the same corpus).
 */
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';

export type Responder = (res: ServerResponse, url: URL) => void | Promise<void>;

/** mulberry32: a small seeded PRNG, good enough to pick mutations reproducibly. */
export function prng(seed: number): { next(): number; int(n: number): number; pick<T>(items: readonly T[]): T } {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, int: (n) => Math.floor(next() * n), pick: (items) => items[Math.floor(next() * items.length)]! };
}

export function json(status: number, body: unknown, headers: Record<string, string> = {}): Responder {
  return (res) => {
    res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  };
}

export function text(status: number, body: string, type = 'text/html; charset=utf-8'): Responder {
  return (res) => {
    res.writeHead(status, { 'Content-Type': type });
    res.end(body);
  };
}

/** A body that never ends (until the client hangs up): 64 KiB chunks of JSON-looking text. */
export function endless(): Responder {
  return (res) =>
    new Promise<void>((resolve) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.write('{"entries": [');
      const chunk = Buffer.alloc(64 * 1024, '1,');
      const pump = () => {
        while (!res.destroyed && res.write(chunk));
        if (res.destroyed) return resolve();
        res.once('drain', pump);
      };
      res.on('close', resolve);
      pump();
    });
}

let bomb: Buffer | undefined;
/** 64 MiB of JSON whitespace compressed to about 64 KiB, sent with Content-Encoding: gzip. */
export function gzipBomb(): Responder {
  bomb ??= gzipSync(Buffer.concat([Buffer.from('{"entries": ['), Buffer.alloc(64 * 1024 * 1024, ' '), Buffer.from(']}')]), { level: 9 });
  return (res) => {
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip', 'Content-Length': String(bomb!.length) });
    res.end(bomb);
  };
}

export function redirect(location: string, status = 302): Responder {
  return (res) => {
    res.writeHead(status, { Location: location });
    res.end();
  };
}

/** A Launchpad collection page whose next link points to a new page each time. */
export function neverEndingPages(): Responder {
  let n = 0;
  return (res, url) => {
    n += 1;
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ start: n, total_size: null, entries: [], next_collection_link: `${url.origin}${url.pathname}?memo=${n}` }));
  };
}

/** A GitHub list page (empty) whose Link header names a new next page each time; `api` is the REST root. */
export function neverEndingGithubPages(api: string): Responder {
  let n = 0;
  return (res, url) => {
    n += 1;
    res.writeHead(200, { 'Content-Type': 'application/json', Link: `<${api}${url.pathname}?page=${n + 1}&memo=${n}>; rel="next"` });
    res.end('[]');
  };
}

/** Another origin on loopback whose every answer is `body`: redirect targets that must be refused. */
export async function otherOrigin(body: unknown): Promise<{ url: string; hits: () => number; close(): Promise<void> }> {
  let hits = 0;
  const server: Server = createServer((_req, res) => {
    hits += 1;
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://localhost:${port}/`,
    hits: () => hits,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Mutations of a JSON value that keep it JSON but break its shape, chosen by `rand`. */
export function mutateJson(value: unknown, rand: ReturnType<typeof prng>): unknown {
  const kinds = ['null', 'string', 'number', 'array', 'drop-key', 'null-key', 'wrong-type-key', 'nested'] as const;
  const kind = rand.pick(kinds);
  if (kind === 'null') return null;
  if (kind === 'string') return '<html><body>Service unavailable</body></html>';
  if (kind === 'number') return 42;
  if (kind === 'array') return [value];
  if (value === null || typeof value !== 'object') return null;
  if (Array.isArray(value)) {
    if (value.length === 0) return [null];
    const copy = [...value];
    copy[rand.int(copy.length)] = mutateJson(copy[rand.int(copy.length)], rand);
    return copy;
  }
  const obj = { ...(value as Record<string, unknown>) };
  const keys = Object.keys(obj);
  if (keys.length === 0) return null;
  const key = rand.pick(keys);
  if (kind === 'drop-key') delete obj[key];
  else if (kind === 'null-key') obj[key] = null;
  else if (kind === 'wrong-type-key') obj[key] = typeof obj[key] === 'string' ? 7 : 'seven';
  else obj[key] = mutateJson(obj[key], rand);
  return obj;
}
