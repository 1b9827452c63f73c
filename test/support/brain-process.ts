/**
 * The real `byoci brain` as a child process (for kill -9), and a load generator of signed
 * GitHub push deliveries over keep-alive loopback connections.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { ROOT } from './cli.js';

export const SECRET = "It's a Secret to Everybody";
export const TOKEN = 'brain-api-token-0123456789abcdef';
export const USER = 'byoci-brain';
/** How long a brain may take to print its URL. */
const START_MS = 60_000;

export interface BrainProcess {
  url: string;
  pid: number;
  child: ChildProcess;
  stderr(): string;
  kill9(): Promise<void>;
  stop(): Promise<number | null>;
}

/** Writes `<dir>/byoci.yaml` (store in `dir`) and starts `byoci brain` on it. */
export async function spawnBrain(dir: string, brain: Record<string, unknown>, options: { cli?: string[]; env?: Record<string, string>; cwd?: string } = {}): Promise<BrainProcess> {
  const config = join(dir, 'byoci.yaml');
  writeFileSync(config, JSON.stringify({ workdir: join(dir, 'work'), store: { path: join(dir, 'byoci.db') }, secrets: { order: ['env'] }, brain }, null, 2));
  const main = options.cli ?? ['--import', 'tsx', join(ROOT, 'cli', 'main.ts')];
  const child = spawn(process.execPath, [...main, '--config', config, '--json', 'brain'], {
    cwd: options.cwd ?? ROOT,
    env: {
      ...process.env,
      BYOCI_SECRET_BRAIN_GITHUB_WEBHOOK_SECRET: SECRET,
      BYOCI_SECRET_BRAIN_LAUNCHPAD_WEBHOOK_SECRET: SECRET,
      BYOCI_SECRET_BRAIN_JENKINS_TOKEN: TOKEN,
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout?.on('data', (d: Buffer) => {
      stdout += d.toString();
      const m = /"url":\s*"([^"]+)"/.exec(stdout);
      if (m) resolve(m[1] as string);
    });
    void exited.then((code) => reject(new Error(`byoci brain exited ${code} before listening:\n${stderr}`)));
    // A brain that neither listens nor exits is killed: a test must not hang on it.
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`byoci brain did not listen within ${START_MS} ms:\n${stderr}`));
    }, START_MS);
    void exited.then(() => clearTimeout(timer));
    child.stdout?.on('data', () => {
      if (/"url":/.test(stdout)) clearTimeout(timer);
    });
  });
  return {
    url,
    pid: child.pid as number,
    child,
    stderr: () => stderr,
    async kill9() {
      process.kill(child.pid as number, 'SIGKILL');
      await exited;
    },
    async stop() {
      process.kill(child.pid as number, 'SIGTERM');
      return exited;
    },
  };
}

export interface Delivery {
  id: string;
  event: string;
  body: string;
  /** Signed headers and body bytes, computed once (the load generator then only sends). */
  prepared?: { headers: Record<string, string>; bytes: Buffer };
}

/** Signs `d` now so that sending it later costs the client no HMAC. */
export function prepare<D extends Delivery>(d: D, secret = SECRET): D {
  const bytes = Buffer.from(d.body, 'utf8');
  d.prepared = { headers: { ...signed(d, secret), 'content-length': String(bytes.length) }, bytes };
  return d;
}

/**
 * The id of delivery `i` of `runId`, shaped like GitHub's X-GitHub-Delivery (a random GUID)
 * and as scattered: ids in key order would let the journal's primary-key index grow at its
 * right edge only, cheaper than what a forge sends (bench:brain measured ~15 % more
 * deliveries per second with `<runId>-<i>` ids).
 */
export function deliveryGuid(runId: string, i: number): string {
  const h = createHmac('sha256', runId).update(`delivery ${i}`).digest('hex');
  const variant = '89ab'[Number.parseInt(h[16] as string, 16) & 3] as string;
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** A signed push delivery of about `size` bytes to `branch` with a unique head revision. */
export function pushDelivery(base: Record<string, unknown>, i: number, branch: string, size: number, runId: string): Delivery & { revision: string } {
  const revision = createHmac('sha1', runId).update(String(i)).digest('hex');
  const p = JSON.parse(JSON.stringify(base)) as Record<string, unknown> & { repository: { full_name: string } };
  p.ref = `refs/heads/${branch}`;
  p.after = revision;
  p.deleted = false;
  p.repository.full_name = 'octo/load';
  let body = JSON.stringify(p);
  if (body.length < size) {
    p.byoci_padding = 'x'.repeat(size - body.length - 20);
    body = JSON.stringify(p);
  }
  return prepare({ id: deliveryGuid(runId, i), event: 'push', body, revision });
}

export function signed(d: Delivery, secret = SECRET): Record<string, string> {
  return {
    'content-type': 'application/json',
    'x-github-event': d.event,
    'x-github-delivery': d.id,
    'x-hub-signature-256': `sha256=${createHmac('sha256', secret).update(d.body).digest('hex')}`,
  };
}

export interface Shot {
  status: number;
  ms: number;
}

/** Posts every delivery with `concurrency` requests in flight (one keep-alive connection each); `shouldStop()` ends it early. */
export async function fire(
  url: string,
  deliveries: readonly Delivery[],
  options: { concurrency: number; onAnswer?: (d: Delivery, shot: Shot, done: number) => void; shouldStop?: () => boolean },
): Promise<Map<string, Shot>> {
  const target = new URL('hooks/github', url);
  const host = target.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = Number(target.port || 80);
  const answers = new Map<string, Shot>();
  let next = 0;
  let done = 0;
  const bytesOf = (d: Delivery): Buffer => {
    const { headers, bytes: body } = d.prepared ?? (prepare({ ...d }).prepared as NonNullable<Delivery['prepared']>);
    let head = `POST ${target.pathname} HTTP/1.1\r\nhost: ${target.host}\r\n`;
    for (const [name, value] of Object.entries(headers)) head += `${name}: ${value}\r\n`;
    return Buffer.concat([Buffer.from(`${head}\r\n`, 'latin1'), body]);
  };
  const connections = Array.from({ length: options.concurrency }, () => new RawConnection(host, port));
  async function worker(connection: RawConnection): Promise<void> {
    while (next < deliveries.length && !options.shouldStop?.()) {
      const d = deliveries[next++] as Delivery;
      const bytes = bytesOf(d);
      const t0 = performance.now();
      const status = await connection.send(bytes);
      const shot = { status, ms: performance.now() - t0 };
      answers.set(d.id, shot);
      done++;
      options.onAnswer?.(d, shot, done);
    }
  }
  await Promise.all(connections.map(worker));
  for (const c of connections) c.close();
  return answers;
}

/**
 * One keep-alive connection of the load generator. It writes a request's bytes, built in
 * one buffer, and parses the answer: the status line, the headers, then a Content-Length
 * or chunked body. It keeps node:http's client machinery off the measured path: on 2 cores
 * that per-answer work takes CPU from the server being measured and adds to the latencies
 * reported (an answer waits while the client handles the answers before it).
 * If the connection fails or closes before the whole answer has come, the request settles
 * with status 0, and the next request opens a new socket.
 */
class RawConnection {
  private socket: Socket | undefined;
  private buffer: Buffer = Buffer.alloc(0);
  /** The request in flight and the socket it went out on. */
  private pending: { socket: Socket; resolve: (status: number) => void } | undefined;

  constructor(
    private readonly host: string,
    private readonly port: number,
  ) {}

  send(bytes: Buffer): Promise<number> {
    return new Promise<number>((resolve) => {
      const socket = this.socket ?? this.open();
      this.pending = { socket, resolve };
      socket.write(bytes);
    });
  }

  private open(): Socket {
    const socket = connect({ host: this.host, port: this.port, noDelay: true });
    this.socket = socket;
    this.buffer = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      if (this.socket !== socket) return;
      this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
      this.parse();
    });
    const gone = () => {
      if (this.socket === socket) this.socket = undefined;
      if (this.pending?.socket === socket) this.settle(0);
    };
    socket.on('error', gone);
    socket.on('close', gone);
    return socket;
  }

  private settle(status: number): void {
    const pending = this.pending;
    this.pending = undefined;
    pending?.resolve(status);
  }

  /** Where the answer at the start of the buffer ends, once all of it is there. */
  private answerEnd(head: string, bodyStart: number): number | undefined {
    const length = /\r\ncontent-length: *(\d+)/i.exec(head);
    if (length) return this.buffer.length >= bodyStart + Number(length[1]) ? bodyStart + Number(length[1]) : undefined;
    if (!/\r\ntransfer-encoding: *chunked/i.test(head)) return bodyStart;
    let at = bodyStart;
    for (;;) {
      const lineEnd = this.buffer.indexOf('\r\n', at);
      if (lineEnd < 0) return undefined;
      const size = parseInt(this.buffer.toString('latin1', at, lineEnd), 16);
      if (Number.isNaN(size)) return -1;
      if (size === 0) return this.buffer.length >= lineEnd + 4 ? lineEnd + 4 : undefined; // no trailers
      at = lineEnd + 2 + size + 2;
      if (this.buffer.length < at) return undefined;
    }
  }

  private parse(): void {
    const headEnd = this.buffer.indexOf('\r\n\r\n');
    if (headEnd < 0 || !this.pending) return;
    const head = this.buffer.toString('latin1', 0, headEnd);
    const end = this.answerEnd(head, headEnd + 4);
    if (end === undefined) return;
    const status = /^HTTP\/1\.1 (\d{3}) /.exec(head);
    if (end < 0 || !status || /\r\nconnection: *close/i.test(head)) {
      // Malformed, or the server closes: this connection is done.
      this.socket?.destroy();
      this.socket = undefined;
    } else {
      this.buffer = this.buffer.subarray(end);
    }
    this.settle(end >= 0 && status ? Number(status[1]) : 0);
  }

  close(): void {
    this.socket?.destroy();
    this.socket = undefined;
  }
}

export function percentile(values: number[], p: number): number {
  if (!values.length) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number;
}
