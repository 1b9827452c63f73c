/**
 * A small client of Jenkins' REST API (the "Remote access API"): the crumb issuer
 * (`/crumbIssuer/api/json`, whose crumb is bound to the session cookie it sets),
 * `POST /job/<name>/buildWithParameters` (201 Created, `Location: <jenkins>/queue/item/<n>/`),
 * the queue item (`<location>api/json`: `executable` once a build started), the queue
 * (`/queue/api/json`) and a job's recent builds, read to find a decision id that may
 * already have been accepted. Authentication: a Jenkins user and its API token (HTTP basic).
 *
 * Requests go through node:http(s) with one keep-alive agent (not fetch: its per-request
 * cost, AbortSignal and WHATWG streams included, was the brain's largest CPU item under load).
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { jenkinsQueueItem } from '../core/index.js';

export class JenkinsError extends Error {
  override readonly name = 'JenkinsError';
  constructor(
    message: string,
    /** HTTP status, or undefined when no answer came (network, timeout). */
    readonly status?: number,
    /** True when Jenkins may have acted on the request although we have no answer. */
    readonly ambiguous = false,
  ) {
    super(message);
  }

  /**
   * Whether the failed request may still have queued a build: no answer, or an answer that
   * does not rule it out (500 from Jenkins itself, 502/504 from a proxy that forwarded it).
   * A 4xx or a 503 (Jenkins starting or quieting down) is a refusal: nothing was queued.
   */
  get mayHaveActed(): boolean {
    if (this.ambiguous || this.status === undefined) return true;
    return this.status >= 500 && this.status !== 503;
  }
}

export interface JenkinsOptions {
  url: string;
  user: string;
  token: string;
  timeoutMs: number;
  /** Most bytes of one answer's body; default JENKINS_MAX_BYTES. */
  maxBytes?: number;
}

/**
 * Bound of one answer's body. The brain's reads are small (a crumb, a queue item, the queue
 * and pages of 100 builds through `tree`); a broken Jenkins or proxy that never ends its
 * answer must not take the brain's memory with it. The forge clients' bound (core FETCH_LIMITS).
 */
export const JENKINS_MAX_BYTES = 16 * 1024 * 1024;

export interface QueueItem {
  id: number;
  url: string;
  /** The build, once the item left the queue. */
  build?: { number: number; url: string };
  cancelled: boolean;
  why?: string;
}

export interface Found {
  where: 'queue' | 'build';
  queueUrl: string;
  buildUrl?: string;
}

type Json = Record<string, unknown>;

/** What the client needs of an answer: status, headers, the whole body. */
class Answer {
  constructor(
    readonly status: number,
    private readonly rawHeaders: IncomingHttpHeaders,
    private readonly body: Buffer,
  ) {}
  get ok(): boolean {
    return this.status >= 200 && this.status < 300;
  }
  header(name: string): string | null {
    const v = this.rawHeaders[name];
    return v === undefined ? null : Array.isArray(v) ? v.join(', ') : v;
  }
  setCookies(): string[] {
    return this.rawHeaders['set-cookie'] ?? [];
  }
  text(): string {
    return this.body.toString('utf8');
  }
  json(): unknown {
    return JSON.parse(this.text());
  }
}

interface ParamsHolder {
  actions?: ({ parameters?: { name?: string; value?: unknown }[] } | null)[];
}

function paramOf(holder: ParamsHolder, name: string): unknown {
  for (const action of holder.actions ?? []) {
    for (const p of action?.parameters ?? []) if (p.name === name) return p.value;
  }
  return undefined;
}

export class JenkinsClient {
  private readonly base: string;
  private readonly auth: string;
  private crumb: { field: string; value: string; cookie?: string } | null | undefined;
  private readonly agents = { http: new HttpAgent({ keepAlive: true }), https: new HttpsAgent({ keepAlive: true }) };

  constructor(private readonly options: JenkinsOptions) {
    this.base = options.url.endsWith('/') ? options.url : `${options.url}/`;
    this.auth = `Basic ${Buffer.from(`${options.user}:${options.token}`).toString('base64')}`;
  }

  /** One exchange, the body read whole (at most `maxBytes`), bounded by `timeoutMs` from start to end. */
  private request(method: string, url: string, init: { body?: string; headers?: Record<string, string> } = {}): Promise<Answer> {
    const target = new URL(url);
    const https = target.protocol === 'https:';
    const body = init.body !== undefined ? Buffer.from(init.body, 'utf8') : undefined;
    const headers: Record<string, string> = { authorization: this.auth, accept: 'application/json', ...init.headers };
    if (body) headers['content-length'] = String(body.length);
    const limit = this.options.maxBytes ?? JENKINS_MAX_BYTES;
    return new Promise<Answer>((resolve, reject) => {
      let settled = false;
      const fail = (reason: string) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        req.destroy();
        // A POST that got no answer may have been acted upon.
        reject(new JenkinsError(`${method} ${url}: ${reason}`, undefined, method === 'POST'));
      };
      const req = (https ? httpsRequest : httpRequest)(target, { method, headers, agent: https ? this.agents.https : this.agents.http }, (res) => {
        const declared = Number(res.headers['content-length']);
        if (declared > limit) return fail(`the answer is ${declared} bytes, more than the ${limit} allowed`);
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          // Stop reading (the connection is dropped): nothing useful is that large.
          if (size > limit) return fail(`the answer is larger than the ${limit} bytes allowed`);
          chunks.push(c);
        });
        res.on('error', (e: NodeJS.ErrnoException) => fail(e.code ?? e.message));
        res.on('aborted', () => fail('connection closed before the whole answer'));
        res.on('end', () => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          resolve(new Answer(res.statusCode ?? 0, res.headers, Buffer.concat(chunks)));
        });
      });
      const timer = setTimeout(() => fail(`no answer within ${this.options.timeoutMs} ms`), this.options.timeoutMs);
      req.on('error', (e: NodeJS.ErrnoException) => fail(e.code ?? e.message));
      req.end(body);
    });
  }

  /** Closes the kept-alive connections. */
  close(): void {
    this.agents.http.destroy();
    this.agents.https.destroy();
  }

  private async json(url: string): Promise<Json> {
    const res = await this.request('GET', url);
    if (!res.ok) throw new JenkinsError(`GET ${url}: HTTP ${res.status}`, res.status);
    try {
      return res.json() as Json;
    } catch {
      throw new JenkinsError(`GET ${url}: not JSON`, res.status);
    }
  }

  /** The CSRF crumb and its session cookie; null when the crumb issuer is disabled (404). */
  private async getCrumb(): Promise<{ field: string; value: string; cookie?: string } | null> {
    if (this.crumb !== undefined) return this.crumb;
    const url = `${this.base}crumbIssuer/api/json`;
    const res = await this.request('GET', url);
    if (res.status === 404) return (this.crumb = null);
    if (!res.ok) throw new JenkinsError(`GET ${url}: HTTP ${res.status}${res.status === 401 ? ' (check brain.jenkins.user and the brain/jenkins-token secret)' : ''}`, res.status);
    let body: { crumb?: string; crumbRequestField?: string };
    try {
      body = res.json() as { crumb?: string; crumbRequestField?: string };
    } catch {
      throw new JenkinsError(`GET ${url}: not JSON`, res.status);
    }
    if (!body.crumb || !body.crumbRequestField) throw new JenkinsError(`GET ${url}: no crumb in the answer`, res.status);
    const cookies = res.setCookies().map((c) => c.split(';')[0]).filter(Boolean);
    this.crumb = { field: body.crumbRequestField, value: body.crumb, ...(cookies.length ? { cookie: cookies.join('; ') } : {}) };
    return this.crumb;
  }

  /** Starts a build; resolves with the queue item's URL (the `Location` Jenkins answers). */
  async buildWithParameters(job: string, params: Record<string, string>): Promise<string> {
    const url = `${this.base}job/${encodeURIComponent(job)}/buildWithParameters`;
    for (let round = 0; ; round++) {
      const crumb = await this.getCrumb();
      const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
      if (crumb) {
        headers[crumb.field] = crumb.value;
        if (crumb.cookie) headers.cookie = crumb.cookie;
      }
      const res = await this.request('POST', url, { body: new URLSearchParams(params).toString(), headers });
      const text = res.text();
      if (res.status === 403 && round === 0 && /crumb/i.test(text)) {
        this.crumb = undefined; // expired session: a fresh crumb, once
        continue;
      }
      if (res.status !== 201 && res.status !== 200 && res.status !== 302 && res.status !== 303) {
        throw new JenkinsError(`POST ${url}: HTTP ${res.status}${text ? ` ${text.slice(0, 200).replace(/\s+/g, ' ')}` : ''}`, res.status);
      }
      const location = res.header('location');
      if (!location) throw new JenkinsError(`POST ${url}: HTTP ${res.status} without a Location header`, res.status, true);
      const queueUrl = jenkinsQueueItem(location, this.base);
      // Accepted, but where is not known: "may have queued", so the dispatcher looks for the build before any retry.
      if (!queueUrl) throw new JenkinsError(`POST ${url}: HTTP ${res.status} with Location ${JSON.stringify(location)}, which names no queue item on ${this.base}`, res.status, true);
      return queueUrl;
    }
  }

  /** The queue item at `queueUrl` (`…/queue/item/<n>/`). */
  async queueItem(queueUrl: string): Promise<QueueItem> {
    // Never the credentials to another origin (a URL recorded before jenkinsQueueItem, or a bad one).
    if (new URL(queueUrl, this.base).origin !== new URL(this.base).origin) {
      throw new JenkinsError(`queue item ${queueUrl} is not on ${this.base}: not asked (the credentials go to brain.jenkins.url only)`);
    }
    const url = `${queueUrl.endsWith('/') ? queueUrl : `${queueUrl}/`}api/json`;
    const body = await this.json(url);
    const exe = body.executable as { number?: number; url?: string } | null | undefined;
    return {
      id: Number(body.id),
      url: queueUrl,
      ...(exe && typeof exe.url === 'string' ? { build: { number: Number(exe.number), url: exe.url } } : {}),
      cancelled: body.cancelled === true,
      ...(typeof body.why === 'string' ? { why: body.why } : {}),
    };
  }

  /**
   * Looks for a build of `job` carrying `param=value`: first in the queue, then in the
   * job's builds, newest first, 100 at a time, back to the first build that started before
   * `since` (the decision's first attempt: its build cannot be older) or `lookback` builds.
   * Undefined when Jenkins has none.
   */
  async find(job: string, param: string, value: string, options: { since: number; lookback: number; skewMs: number }): Promise<Found | undefined> {
    const queue = await this.json(`${this.base}queue/api/json?tree=items[id,url,task[name],actions[parameters[name,value]]]`);
    for (const item of (queue.items as (ParamsHolder & { id?: number; url?: string; task?: { name?: string } })[] | undefined) ?? []) {
      if (item.task?.name === job && paramOf(item, param) === value) {
        return { where: 'queue', queueUrl: jenkinsQueueItem(typeof item.id === 'number' ? `queue/item/${item.id}/` : item.url, this.base) ?? `${this.base}queue/` };
      }
    }
    const PAGE = 100;
    for (let from = 0; from < options.lookback; from += PAGE) {
      const to = Math.min(options.lookback, from + PAGE);
      const tree = `builds[number,url,queueId,timestamp,actions[parameters[name,value]]]{${from},${to}}`;
      const page = await this.json(`${this.base}job/${encodeURIComponent(job)}/api/json?tree=${encodeURIComponent(tree)}`);
      const builds = (page.builds as (ParamsHolder & { number?: number; url?: string; queueId?: number; timestamp?: number })[] | undefined) ?? [];
      for (const b of builds) {
        if (paramOf(b, param) === value) {
          return {
            where: 'build',
            queueUrl: new URL(`queue/item/${b.queueId ?? 0}/`, this.base).toString(),
            ...(b.url ? { buildUrl: b.url } : {}),
          };
        }
      }
      const oldest = builds.at(-1)?.timestamp;
      if (builds.length < to - from || (typeof oldest === 'number' && oldest < options.since - options.skewMs)) break;
    }
    return undefined;
  }
}
