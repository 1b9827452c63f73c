/**
 * A small LXD REST client over the daemon's unix socket (node:http `socketPath`), with
 * streamed exec over websockets (`ws+unix://`). No `lxc` process is ever spawned.
 *
 * Every call returns LXD's `metadata`; async operations are awaited through
 * `GET /1.0/operations/<id>/wait`.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import http from 'node:http';
import type WebSocket from 'ws';
import { recordSpan, timingsOn } from '../../core/index.js';

/** A request's name in BYOCI_TIMINGS: method, path without instance names or ids, a state change's action. */
function spanName(method: string, path: string, body: RequestBody): string {
  const pattern = path.replace(/^(\/1\.0\/(?:instances|operations|images(?:\/aliases)?|profiles))\/[^/?]+/, '$1/*').replace(/\?.*$/, '');
  const action = body && typeof body === 'object' && typeof (body as { action?: unknown }).action === 'string' ? ` ${(body as { action: string }).action}` : '';
  return `${method} ${pattern}${action}`;
}

let wsModule: Promise<typeof import('ws')> | undefined;
/**
 * ws, for exec only: loaded when a container is created (its exec follows) or at the first
 * exec, so that start-up and commands that never exec do not load it.
 */
function loadWs(): Promise<typeof import('ws')> {
  wsModule ??= import('ws');
  return wsModule;
}

/** Where Debian's lxd package puts the socket (`$LXD_DIR/unix.socket`). */
export function defaultSocketPath(env: NodeJS.ProcessEnv = process.env): string {
  return `${env.LXD_DIR ?? '/var/lib/lxd'}/unix.socket`;
}

/** An error answer of the daemon, or a transport failure talking to it. */
export class LxdError extends Error {
  override readonly name = 'LxdError';
  constructor(
    message: string,
    /** HTTP status (or LXD's error_code); 0 when the socket did not answer. */
    readonly status: number,
    readonly method: string,
    readonly path: string,
  ) {
    super(message);
  }
}

interface Envelope<T> {
  type: 'sync' | 'async' | 'error';
  status_code: number;
  error_code: number;
  error: string;
  operation: string;
  metadata: T;
}

/** An operation as `/1.0/operations/<id>` describes it. */
export interface Operation<M = Record<string, unknown>> {
  id: string;
  status: string;
  status_code: number;
  err: string;
  metadata: M | null;
  resources?: Record<string, string[]> | null;
}

export type RequestBody = unknown | { file: string; headers?: Record<string, string> };

export interface RequestOptions {
  signal?: AbortSignal;
  /** Milliseconds; default 60 s. 0: none (long waits). */
  timeoutMs?: number;
  headers?: Record<string, string>;
}

export interface ExecOptions {
  command: string[];
  environment: Record<string, string>;
  user?: number;
  group?: number;
  cwd?: string;
  onStdout?: (chunk: Buffer) => void;
  onStderr?: (chunk: Buffer) => void;
  signal?: AbortSignal;
}

export interface ExecResult {
  /** The command's exit code; 128+n when a signal ended it; -1 when it never reported one. */
  exitCode: number;
  /** Why the command could not be started (LXD's message), with exit code 127 or 126 as a shell would. */
  notStarted?: string;
}

function isFileBody(body: unknown): body is { file: string; headers?: Record<string, string> } {
  return typeof body === 'object' && body !== null && 'file' in body && typeof (body as { file: unknown }).file === 'string';
}

/**
 * Bound of one answer of the daemon. Its answers are JSON metadata, the largest a listing
 * with `recursion=1` of every instance or image on the host (not only byoci's: a few KB
 * each); a daemon that never ends an answer must not take the slave's memory with it.
 */
export const LXD_MAX_BYTES = 64 * 1024 * 1024;

export class LxdClient {
  readonly socketPath: string;
  readonly #maxBytes: number;
  readonly #agent: http.Agent;
  /**
   * Long polls (`/wait?timeout=-1`) get connections of their own, as many as operations are
   * awaited: a test's exec holds its wait for the whole test, and with the short requests'
   * connections all held by such waits, a creation's wait queued behind them until LXD had
   * forgotten the finished operation ('Operation not found', seen with a window of 8 tests).
   */
  readonly #waits: http.Agent;

  constructor(socketPath: string = defaultSocketPath(), options: { maxBytes?: number } = {}) {
    this.socketPath = socketPath;
    this.#maxBytes = options.maxBytes ?? LXD_MAX_BYTES;
    this.#agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
    this.#waits = new http.Agent({ keepAlive: true });
  }

  /** Releases the kept-alive connections. */
  close(): void {
    this.#agent.destroy();
    this.#waits.destroy();
  }

  /** Raw request; resolves with the parsed envelope (also for error answers). */
  async #send<T>(method: string, path: string, body: RequestBody | undefined, options: RequestOptions): Promise<Envelope<T>> {
    const headers: Record<string, string | number> = { ...options.headers };
    let payload: Buffer | undefined;
    let file: string | undefined;
    if (isFileBody(body)) {
      file = body.file;
      Object.assign(headers, { 'Content-Type': 'application/octet-stream' }, body.headers);
      headers['Content-Length'] = (await stat(file)).size;
    } else if (body !== undefined) {
      payload = Buffer.from(JSON.stringify(body));
      headers['Content-Type'] = 'application/json';
      headers['Content-Length'] = payload.length;
    }
    const timeoutMs = options.timeoutMs ?? 60_000;
    return new Promise<Envelope<T>>((resolve, reject) => {
      const fail = (message: string, status = 0) => reject(new LxdError(message, status, method, path));
      const req = http.request(
        { socketPath: this.socketPath, path, method, headers, agent: path.endsWith('/wait?timeout=-1') ? this.#waits : this.#agent, host: 'lxd', signal: options.signal },
        (res) => {
          const limit = this.#maxBytes;
          // Reading stops there and the connection is dropped.
          const over = (what: string) => {
            fail(`lxd ${method} ${path}: ${what}`, res.statusCode ?? 0);
            req.destroy();
          };
          const declared = Number(res.headers['content-length']);
          if (declared > limit) return over(`the answer is ${declared} bytes, more than the ${limit} allowed`);
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            size += c.length;
            if (size > limit) return over(`the answer is larger than the ${limit} bytes allowed`);
            chunks.push(c);
          });
          res.on('error', (e) => fail(`lxd ${method} ${path}: ${e.message}`));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed: Envelope<T>;
            try {
              parsed = JSON.parse(text) as Envelope<T>;
            } catch {
              fail(`lxd ${method} ${path}: HTTP ${res.statusCode}, not JSON: ${text.slice(0, 200)}`, res.statusCode ?? 0);
              return;
            }
            resolve(parsed);
          });
        },
      );
      if (timeoutMs > 0) {
        req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
      }
      req.on('error', (e: NodeJS.ErrnoException) => {
        if (e.name === 'AbortError') reject(e);
        else fail(`lxd ${method} ${path}: ${e.code === 'ENOENT' || e.code === 'ECONNREFUSED' ? `no LXD daemon answers on ${this.socketPath} (${e.code})` : e.message}`);
      });
      if (file) {
        const stream = createReadStream(file);
        stream.on('error', (e) => req.destroy(e));
        stream.pipe(req);
      } else {
        req.end(payload);
      }
    });
  }

  /** A sync request: returns `metadata`, throws LxdError on an error answer. */
  async request<T = unknown>(method: string, path: string, body?: RequestBody, options: RequestOptions = {}): Promise<T> {
    // Creating an instance means an exec comes next: load its transport while the daemon works.
    if (method === 'POST' && path === '/1.0/instances') void loadWs().catch(() => undefined);
    const started = timingsOn && !path.endsWith('/wait?timeout=-1') ? performance.now() : undefined;
    try {
      return await this.#request<T>(method, path, body, options);
    } finally {
      if (started !== undefined) recordSpan('lxd', spanName(method, path, body), started);
    }
  }

  async #request<T>(method: string, path: string, body: RequestBody, options: RequestOptions): Promise<T> {
    const env = await this.#send<T>(method, path, body, options);
    if (env.type === 'error') {
      throw new LxdError(`lxd ${method} ${path}: ${env.error || `error ${env.error_code}`}`, env.error_code, method, path);
    }
    if (env.type === 'async') return (await this.wait<T>(env.operation, options)) as T;
    return env.metadata;
  }

  /** Starts an async request and returns the operation path without waiting for it. */
  async start<M = Record<string, unknown>>(method: string, path: string, body?: RequestBody, options: RequestOptions = {}): Promise<{ operation: string; metadata: Operation<M> }> {
    const env = await this.#send<Operation<M>>(method, path, body, options);
    if (env.type === 'error') {
      throw new LxdError(`lxd ${method} ${path}: ${env.error || `error ${env.error_code}`}`, env.error_code, method, path);
    }
    if (env.type !== 'async') throw new LxdError(`lxd ${method} ${path}: expected an operation, got a ${env.type} answer`, env.status_code, method, path);
    return { operation: env.operation, metadata: env.metadata };
  }

  /** Waits for an operation; returns its metadata, throws when it failed. */
  async wait<M = unknown>(operation: string, options: RequestOptions = {}): Promise<M> {
    const op = await this.request<Operation<M>>('GET', `${operation}/wait?timeout=-1`, undefined, { ...options, timeoutMs: 0 });
    if (op.status_code >= 400 || op.status === 'Failure') {
      throw new LxdError(`lxd operation ${operation} failed: ${op.err || op.status}`, op.status_code, 'GET', operation);
    }
    return op.metadata as M;
  }

  /** GET /1.0: server facts; throws LxdError (status 0) when nothing answers. */
  async server(options: RequestOptions = {}): Promise<{ environment: { server_version: string; driver?: string }; auth: string; api_extensions: string[] }> {
    return this.request('GET', '/1.0', undefined, options);
  }

  /** Whether the daemon answers on the socket (never throws). */
  async answers(timeoutMs = 3000): Promise<boolean> {
    try {
      await this.server({ timeoutMs });
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Runs a command and streams its output. The command sees an empty stdin.
   * Resolves when the command has exited and its output is drained.
   */
  async exec(instance: string, options: ExecOptions): Promise<ExecResult> {
    const started = performance.now();
    try {
      return await this.#exec(instance, options);
    } finally {
      recordSpan('lxd', `exec ${(options.command[0] ?? '?').split('/').pop()}`, started);
    }
  }

  async #exec(instance: string, options: ExecOptions): Promise<ExecResult> {
    const { default: WebSocket } = await loadWs();
    const body: Record<string, unknown> = {
      command: options.command,
      environment: options.environment,
      'wait-for-websocket': true,
      interactive: false,
    };
    if (options.user !== undefined) body.user = options.user;
    if (options.group !== undefined) body.group = options.group;
    if (options.cwd !== undefined) body.cwd = options.cwd;
    const { operation, metadata } = await this.start<{ fds: Record<string, string> }>(
      'POST',
      `/1.0/instances/${encodeURIComponent(instance)}/exec`,
      body,
      { signal: options.signal },
    );
    const fds = metadata.metadata?.fds ?? {};
    const sockets: WebSocket[] = [];
    const open = (fd: string) => {
      const secret = fds[fd];
      if (!secret) throw new LxdError(`lxd exec: no websocket secret for fd ${fd}`, 0, 'POST', operation);
      const ws = new WebSocket(`ws+unix://${this.socketPath}:${operation}/websocket?secret=${encodeURIComponent(secret)}`);
      sockets.push(ws);
      return ws;
    };
    const drained = (ws: WebSocket, sink: ((c: Buffer) => void) | undefined) =>
      new Promise<void>((resolve) => {
        ws.on('message', (data: Buffer, isBinary: boolean) => {
          if (data.length === 0) return;
          if (isBinary || typeof data !== 'string') sink?.(data);
        });
        ws.on('close', () => resolve());
        ws.on('error', () => resolve());
      });
    try {
      const control = open('control');
      const stdin = open('0');
      const stdout = open('1');
      const stderr = open('2');
      control.on('error', () => {});
      stdin.on('error', () => {});
      // An empty stdin: close it as soon as it is open (the command reads EOF).
      stdin.on('open', () => stdin.close());
      const outDone = drained(stdout, options.onStdout);
      const errDone = drained(stderr, options.onStderr);
      let result: { return?: number } | undefined;
      try {
        result = await this.wait<{ return?: number }>(operation, { signal: options.signal });
      } catch (error) {
        // A missing or non-executable command fails the operation: report it as a shell would.
        const why = error instanceof LxdError ? /: (Command not found|Command not executable|Permission denied)$/i.exec(error.message)?.[1] : undefined;
        if (!why) throw error;
        return { exitCode: /not found/i.test(why) ? 127 : 126, notStarted: why };
      }
      await Promise.all([outDone, errDone]);
      return { exitCode: typeof result?.return === 'number' ? result.return : -1 };
    } finally {
      for (const ws of sockets) {
        if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) ws.terminate();
      }
    }
  }
}
