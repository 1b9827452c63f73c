/**
 * The brain's HTTP server (node:http): webhook intake and the pages.
 *
 *   POST /hooks/github      X-Hub-Signature-256 (HMAC-SHA256 of the raw body)
 *   POST /hooks/launchpad   X-Hub-Signature (HMAC-SHA1 of the raw body)
 *   GET  /  /status.json  /target/<name>  /target/<name>.json  /healthz  /metrics
 *
 * A delivery is answered 202 only once it is committed to the journal; 200 for a ping and
 * for a delivery id already journaled (nothing more happens); 401 bad or missing signature,
 * 400 malformed, 405 not POST, 413 too large, 415 not JSON, 503 when the journal cannot
 * write (the forge retries).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Logger } from '../core/index.js';
import type { SourceName } from './config.js';
import { DeliveryError, githubEvent, launchpadEvent, type BrainEvent } from './events.js';
import type { AcceptResult } from './journal.js';
import { labelText, type Counters } from './metrics.js';
import type { BrainStats } from './stats.js';
import { renderStatusPage } from './status/html.js';
import type { StatusView } from './status/view.js';

export interface ServerOptions {
  /** Where accepted deliveries go: resolves once the delivery and its decisions are on disk. */
  journal: { accept(event: BrainEvent, bodyBytes: number): Promise<AcceptResult> };
  secrets: Partial<Record<SourceName, string>>;
  maxBodyBytes: number;
  log: Logger;
  counters: Counters;
  status(): StatusView;
  /** The Prometheus text (its journal counts are read off the intake thread: counts-reader.ts). */
  metrics(): Promise<string>;
  health(): Promise<{ ok: boolean; [key: string]: unknown }>;
  /** Where the time goes (BYOCI_BRAIN_STATS). */
  stats?: BrainStats;
}

function send(res: ServerResponse, status: number, body: string, type = 'text/plain; charset=utf-8', extra: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), 'x-content-type-options': 'nosniff', ...extra });
  res.end(body);
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  send(res, status, JSON.stringify(value, null, 2) + '\n', 'application/json; charset=utf-8');
}

/** A webhook's answer: one line of JSON (the pages' JSON is indented for people; a forge only logs this). */
function answerJson(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value) + '\n';
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body), 'x-content-type-options': 'nosniff' });
  res.end(body);
}

/** Label texts of byoci_brain_deliveries_total by source and outcome, made once each (metrics.ts labelText). */
const deliveryLabels = new Map<string, string>();
function deliveryLabel(source: SourceName, outcome: string): string {
  const key = `${source} ${outcome}`;
  let text = deliveryLabels.get(key);
  if (text === undefined) deliveryLabels.set(key, (text = labelText({ source, outcome })));
  return text;
}

/** A delivery refused: counted, logged, answered `status` with `message`. */
function refuse(
  counters: Counters,
  log: Logger,
  source: SourceName,
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  message: string,
  extra: Record<string, string> = {},
): void {
  counters.incText('byoci_brain_deliveries_total', deliveryLabel(source, String(status)));
  log.warn('delivery refused', { source, status, reason: message, delivery: req.headers['x-github-delivery'] ?? req.headers['x-launchpad-delivery'] });
  send(res, status, message + '\n', undefined, extra);
}

/** Reads the body up to `max` bytes; undefined when it is larger (the rest is not read). */
function readBody(req: IncomingMessage, max: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) {
        req.removeAllListeners('data');
        req.pause();
        resolve(undefined);
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks, size)));
    req.on('error', reject);
  });
}

function isJson(type: string | undefined): boolean {
  return (type ?? '').split(';')[0]?.trim().toLowerCase() === 'application/json';
}

/** A request whose handler threw: 500, or the connection cut when the answer had begun. */
function failed(log: Logger, path: string, res: ServerResponse, error: unknown): void {
  log.error('request failed', { path, error: error instanceof Error ? error.message : String(error) });
  if (!res.headersSent) send(res, 500, 'internal error\n');
  else res.destroy();
}

const PAGE_HEADERS = { 'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'", 'cache-control': 'no-store' };

export function createBrainServer(options: ServerOptions): Server {
  const { journal, log, counters } = options;

  async function intake(source: SourceName, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const t0 = performance.now();
    // Not a closure per request: under tsx (keepNames) each named closure made costs ~0.7 us.
    if (req.method !== 'POST') return refuse(counters, log, source, req, res, 405, 'POST only', { allow: 'POST' });
    const secret = options.secrets[source];
    if (!secret) return refuse(counters, log, source, req, res, 404, `source ${source} is not configured`);
    if (!isJson(req.headers['content-type'])) {
      return refuse(counters, log, source, req, res, 415, `content type must be application/json (got ${JSON.stringify(req.headers['content-type'] ?? '')}): set the webhook's content type to application/json`);
    }
    const declared = Number(req.headers['content-length'] ?? NaN);
    if (Number.isFinite(declared) && declared > options.maxBodyBytes) {
      return refuse(counters, log, source, req, res, 413, `delivery of ${declared} bytes is larger than brain.maxBodyBytes (${options.maxBodyBytes})`, { connection: 'close' });
    }
    const body = await readBody(req, options.maxBodyBytes);
    if (body === undefined) return refuse(counters, log, source, req, res, 413, `delivery larger than brain.maxBodyBytes (${options.maxBodyBytes})`, { connection: 'close' });
    const tBody = performance.now();
    let event: BrainEvent;
    try {
      event = source === 'github' ? await githubEvent(secret, req.headers, body) : launchpadEvent(secret, req.headers, body);
    } catch (error) {
      if (error instanceof DeliveryError) return refuse(counters, log, source, req, res, error.status, error.message);
      throw error;
    }
    if (event.kind === 'ping') {
      counters.incText('byoci_brain_deliveries_total', deliveryLabel(source, 'ping'));
      return answerJson(res, 200, { pong: true, delivery: event.delivery });
    }
    const tParsed = performance.now();
    let result;
    try {
      result = await journal.accept(event, body.length);
    } catch (error) {
      counters.incText('byoci_brain_deliveries_total', deliveryLabel(source, '503'));
      log.error('journal write failed: delivery refused with 503', { source, delivery: event.delivery, error: (error as Error).message });
      return send(res, 503, 'the journal cannot write: retry later\n', undefined, { 'retry-after': '10' });
    }
    if (result.outcome === 'duplicate') {
      counters.incText('byoci_brain_deliveries_total', deliveryLabel(source, 'duplicate'));
      return answerJson(res, 200, { duplicate: true, delivery: event.delivery });
    }
    counters.incText('byoci_brain_deliveries_total', deliveryLabel(source, 'accepted'));
    log.debug('delivery journaled', { source, delivery: event.delivery, kind: event.kind, triggers: result.triggers.length });
    answerJson(res, 202, { accepted: true, delivery: event.delivery, kind: event.kind, triggers: result.triggers });
    options.stats?.delivery(t0, tBody, tParsed, performance.now());
  }

  function page(req: IncomingMessage, res: ServerResponse, path: string): void {
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'GET only\n', undefined, { allow: 'GET, HEAD' });
    if (path === '/healthz') {
      options.health().then(
        (health) => sendJson(res, health.ok ? 200 : 503, health),
        (error: unknown) => sendJson(res, 503, { ok: false, error: error instanceof Error ? error.message : String(error) }),
      );
      return;
    }
    if (path === '/metrics') {
      options.metrics().then(
        (text) => send(res, 200, text, 'text/plain; version=0.0.4; charset=utf-8'),
        (error: unknown) => send(res, 500, `metrics not read: ${error instanceof Error ? error.message : String(error)}\n`),
      );
      return;
    }
    const view = options.status();
    if (path === '/' || path === '/index.html') return send(res, 200, renderStatusPage(view), 'text/html; charset=utf-8', PAGE_HEADERS);
    if (path === '/status.json') return sendJson(res, 200, view);
    const m = /^\/target\/([^/]+?)(\.json)?$/.exec(path);
    if (m) {
      let key: string;
      try {
        key = decodeURIComponent(m[1] as string);
      } catch {
        return send(res, 400, 'bad target key\n');
      }
      const target = view.targets.find((t) => t.key === key);
      if (!target) return send(res, 404, 'no such target\n');
      const one: StatusView = { ...view, targets: [target], freezes: view.freezes.filter((f) => f.target === target.key || f.target === target.project) };
      if (m[2]) return sendJson(res, 200, one);
      const page = renderStatusPage(one, { title: `byoci status: ${target.project} ${target.branch}`, json: `${encodeURIComponent(key)}.json`, targetLinks: false });
      return send(res, 200, page, 'text/html; charset=utf-8', PAGE_HEADERS);
    }
    send(res, 404, 'not found\n');
  }

  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    try {
      if (path === '/hooks/github' || path === '/hooks/launchpad') {
        intake(path === '/hooks/github' ? 'github' : 'launchpad', req, res).catch((error: unknown) => failed(log, path, res, error));
      } else {
        page(req, res, path);
      }
    } catch (error) {
      failed(log, path, res, error);
    }
  });
  server.keepAliveTimeout = 5_000;
  server.requestTimeout = 30_000;
  return server;
}
