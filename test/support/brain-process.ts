/**
 * The real `byoci brain` as a child process (for kill -9), and a load generator of signed
 * GitHub push deliveries over keep-alive loopback connections.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
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
  return prepare({ id: `${runId}-${i}`, event: 'push', body, revision });
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

/** Posts every delivery with `concurrency` requests in flight; `stop()` ends it early. */
export async function fire(
  url: string,
  deliveries: readonly Delivery[],
  options: { concurrency: number; onAnswer?: (d: Delivery, shot: Shot, done: number) => void; shouldStop?: () => boolean },
): Promise<Map<string, Shot>> {
  const agent = new Agent({ keepAlive: true, maxSockets: options.concurrency });
  const target = new URL('hooks/github', url);
  const answers = new Map<string, Shot>();
  let next = 0;
  let done = 0;
  const one = (d: Delivery) =>
    new Promise<Shot>((resolve) => {
      const t0 = performance.now();
      const headers = d.prepared?.headers ?? { ...signed(d), 'content-length': String(Buffer.byteLength(d.body)) };
      const req = request(target, { method: 'POST', agent, headers }, (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - t0 }));
        res.on('error', () => resolve({ status: 0, ms: performance.now() - t0 }));
      });
      req.on('error', () => resolve({ status: 0, ms: performance.now() - t0 }));
      req.end(d.prepared?.bytes ?? d.body);
    });
  async function worker(): Promise<void> {
    while (next < deliveries.length && !options.shouldStop?.()) {
      const d = deliveries[next++] as Delivery;
      const shot = await one(d);
      answers.set(d.id, shot);
      done++;
      options.onAnswer?.(d, shot, done);
    }
  }
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  agent.destroy();
  return answers;
}

export function percentile(values: number[], p: number): number {
  if (!values.length) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number;
}
