/**
 * A local Jenkins controller for tests: a node:http server on 127.0.0.1 speaking the parts
 * of Jenkins' Remote access API the brain uses, with the answers' documented shapes:
 *
 * - `GET /crumbIssuer/api/json` → `{_class, crumb, crumbRequestField: "Jenkins-Crumb"}` and a
 *   `JSESSIONID.<hash>` cookie: the crumb is valid only with that session (Jenkins ≥ 2.176.2).
 * - `POST /job/<name>/buildWithParameters` (HTTP basic auth) → `201 Created`,
 *   `Location: <root>/queue/item/<id>/` (`<root>`: option `rootUrl`, Jenkins' configured
 *   URL, which need not be the one the client used). Parameters come from the query and the form body;
 *   undeclared ones are dropped, declared ones missing get their default. Unknown job: 404.
 *   No or bad credentials: 401. CSRF as in Jenkins ≥ 2.96: a request authenticated with the
 *   user's API token needs no crumb (core's `jenkins.security.ApiCrumbExclusion` passes it
 *   before the crumb is looked at, so a wrong crumb does not matter either); one
 *   authenticated with the user's password (option `password`) needs the crumb of its
 *   session, else 403 "No valid crumb was included in the request".
 * - `GET /queue/item/<id>/api/json` → `Queue$WaitingItem`, then `Queue$LeftItem` with
 *   `executable: {number, url}` once the build started.
 * - `GET /queue/api/json` → `{_class: "hudson.model.Queue", items: [...]}`.
 * - `GET /job/<name>/api/json?tree=builds[...]{M,N}` → the job's builds, newest first, cut to
 *   the `{M,N}` range like Jenkins' tree ranges (other tree filtering is not done: more
 *   fields than asked come back, which a client must ignore anyway).
 *
 * Failures on demand: `failNext(n)` or `failRate` (0..1, seeded) answer 503 before queueing,
 * or, with `loseAnswer`, queue the build and then cut the connection without an answer: the
 * "Jenkins accepted but the client never heard" window. `down()`/`up()` refuse connections.
 * `holdNext(n)`: the next `n` buildWithParameters get no answer (a hung controller) until
 * `release()`, which answers them 503 (nothing queued).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface JobDef {
  name: string;
  params: Record<string, string>;
}

export interface QueuedBuild {
  queueId: number;
  job: string;
  params: Record<string, string>;
  queuedAt: number;
  build?: { number: number; url: string; timestamp: number };
}

export interface JenkinsServerOptions {
  user: string;
  /** The user's API token: requests authenticated with it need no crumb. */
  token: string;
  /** The user's password, also accepted for basic auth; requests authenticated with it need a crumb. */
  password?: string;
  jobs: JobDef[];
  /** Probability that a buildWithParameters fails (0..1). */
  failRate?: number;
  /** Of those failures, the share that queue the build and then lose the answer. */
  loseAnswerShare?: number;
  /** Builds leave the queue after this many ms (default 20). */
  startDelayMs?: number;
  seed?: number;
  /**
   * Jenkins' configured root URL ("Jenkins URL" in Manage Jenkins → System): Jenkins builds
   * the absolute links of its answers on it (Location, task and build URLs), whatever URL
   * the client used, so behind a proxy they can name another host. Default: this server.
   */
  rootUrl?: string;
}

function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
}

function parametersAction(params: Record<string, string>) {
  return {
    _class: 'hudson.model.ParametersAction',
    parameters: Object.entries(params).map(([name, value]) => ({ _class: 'hudson.model.StringParameterValue', name, value })),
  };
}

export class JenkinsServer {
  readonly builds: QueuedBuild[] = [];
  readonly requests: { method: string; path: string; status: number }[] = [];
  url = '';
  failRate: number;
  loseAnswerShare: number;
  private failures = 0;
  private readonly random: () => number;
  private readonly server: Server;
  private readonly sessions = new Map<string, string>();
  private readonly sockets = new Set<Socket>();
  private nextQueueId = 1;
  private readonly numbers = new Map<string, number>();
  private readonly byQueueId = new Map<number, QueuedBuild>();
  /** Builds still in the queue, in queue order. */
  private readonly waiting = new Set<QueuedBuild>();
  /** Per job, the started builds in build-number order. */
  private readonly started = new Map<string, QueuedBuild[]>();
  private readonly jobs: Map<string, JobDef>;
  private isDown = false;
  private holds = 0;
  /** buildWithParameters requests held by holdNext, answered by release(). */
  readonly held: ServerResponse[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();

  /** Where the answers' absolute links point (options.rootUrl). */
  private get root(): string {
    return this.options.rootUrl ?? this.url;
  }

  constructor(private readonly options: JenkinsServerOptions) {
    this.failRate = options.failRate ?? 0;
    this.loseAnswerShare = options.loseAnswerShare ?? 0;
    this.random = rng(options.seed ?? 42);
    this.jobs = new Map(options.jobs.map((j) => [j.name, j]));
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((error: Error) => {
        if (!res.headersSent) this.send(req, res, 500, 'text/plain', error.message);
      });
    });
    this.server.on('connection', (socket) => {
      if (this.isDown) socket.destroy();
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
  }

  async listen(port = 0): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(port, '127.0.0.1', () => resolve()));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/`;
    return this;
  }

  /** The next `n` buildWithParameters answer 503 without queueing. */
  failNext(n: number): void {
    this.failures += n;
  }

  /** The next `n` buildWithParameters get no answer until release(). */
  holdNext(n: number): void {
    this.holds += n;
  }

  /** Answers the held requests 503 (Jenkins refused them: nothing was queued). */
  release(): void {
    for (const res of this.held.splice(0)) if (!res.writableEnded && !res.destroyed) this.send(res.req, res, 503, 'text/html', '<html><body>Service Unavailable</body></html>');
  }

  /** Connections are refused (cut at once) until `up()`. */
  down(): void {
    this.isDown = true;
    for (const s of this.sockets) s.destroy();
  }

  up(): void {
    this.isDown = false;
  }

  /** Every web session ends (a restarted controller): their crumbs are no longer valid. */
  expireSessions(): void {
    this.sessions.clear();
  }

  /** Builds whose parameter `name` is `value`. */
  withParam(name: string, value: string): QueuedBuild[] {
    return this.builds.filter((b) => b.params[name] === value);
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private send(req: IncomingMessage, res: ServerResponse, status: number, type: string, body: string, headers: Record<string, string> = {}): void {
    this.requests.push({ method: req.method ?? '', path: req.url ?? '', status });
    res.writeHead(status, { 'content-type': `${type};charset=utf-8`, 'x-jenkins': '2.440.3', ...headers });
    res.end(body);
  }

  private json(req: IncomingMessage, res: ServerResponse, value: unknown): void {
    this.send(req, res, 200, 'application/json', JSON.stringify(value));
  }

  /** How the request authenticated: with the API token, the password, or not at all. */
  private authorised(req: IncomingMessage): 'token' | 'password' | undefined {
    const basic = (secret: string) => `Basic ${Buffer.from(`${this.options.user}:${secret}`).toString('base64')}`;
    if (req.headers.authorization === basic(this.options.token)) return 'token';
    if (this.options.password !== undefined && req.headers.authorization === basic(this.options.password)) return 'password';
    return undefined;
  }

  private session(req: IncomingMessage): string | undefined {
    const cookie = req.headers.cookie ?? '';
    return /JSESSIONID\.[0-9a-f]+=([\w-]+)/.exec(cookie)?.[1];
  }

  private item(b: QueuedBuild) {
    const common = {
      actions: [parametersAction(b.params), { _class: 'hudson.model.CauseAction', causes: [{ _class: 'hudson.model.Cause$UserIdCause', userId: this.options.user }] }],
      blocked: false,
      buildable: !b.build,
      id: b.queueId,
      inQueueSince: b.queuedAt,
      params: Object.entries(b.params).map(([k, v]) => `\n${k}=${v}`).join(''),
      stuck: false,
      task: { _class: 'hudson.model.FreeStyleProject', name: b.job, url: `${this.root}job/${b.job}/`, color: 'blue' },
      url: `queue/item/${b.queueId}/`,
    };
    return b.build
      ? { _class: 'hudson.model.Queue$LeftItem', ...common, cancelled: false, executable: { _class: 'hudson.model.FreeStyleBuild', number: b.build.number, url: b.build.url } }
      : { _class: 'hudson.model.Queue$WaitingItem', ...common, why: 'Waiting for next available executor', timestamp: b.queuedAt };
  }

  private async body(req: IncomingMessage): Promise<string> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const path = url.pathname;
    const auth = this.authorised(req);
    if (!auth) {
      return this.send(req, res, 401, 'text/html', '<html><body>Authentication required</body></html>', { 'www-authenticate': 'Basic realm="Jenkins"' });
    }
    if (req.method === 'GET' && path === '/crumbIssuer/api/json') {
      const sid = `node0${Math.floor(this.random() * 1e12).toString(36)}`;
      const crumb = Buffer.from(`${sid}:crumb`).toString('hex').slice(0, 64);
      this.sessions.set(sid, crumb);
      return this.send(
        req,
        res,
        200,
        'application/json',
        JSON.stringify({ _class: 'hudson.security.csrf.DefaultCrumbIssuer', crumb, crumbRequestField: 'Jenkins-Crumb' }),
        { 'set-cookie': `JSESSIONID.3f2a1b4c=${sid}; Path=/; HttpOnly` },
      );
    }
    let m = /^\/job\/([^/]+)\/buildWithParameters\/?$/.exec(path);
    if (m && req.method === 'POST') {
      const text = await this.body(req);
      const sid = this.session(req);
      if (auth === 'password' && (!sid || this.sessions.get(sid) !== req.headers['jenkins-crumb'])) {
        return this.send(req, res, 403, 'text/html', '<html><body>Error 403 No valid crumb was included in the request</body></html>');
      }
      const job = this.jobs.get(decodeURIComponent(m[1] as string));
      if (!job) return this.send(req, res, 404, 'text/html', '<html><body>Not Found</body></html>');
      if (this.holds > 0) {
        this.holds--;
        this.held.push(res);
        return;
      }
      if (this.failures > 0) {
        this.failures--;
        return this.send(req, res, 503, 'text/html', '<html><body>Service Unavailable</body></html>');
      }
      const failing = this.failRate > 0 && this.random() < this.failRate;
      const loseAnswer = failing && this.random() < this.loseAnswerShare;
      if (failing && !loseAnswer) return this.send(req, res, 503, 'text/html', '<html><body>Service Unavailable</body></html>');
      const given = new URLSearchParams(url.search);
      for (const [k, v] of new URLSearchParams(text)) given.set(k, v);
      const params: Record<string, string> = {};
      for (const [name, fallback] of Object.entries(job.params)) params[name] = given.get(name) ?? fallback;
      const b: QueuedBuild = { queueId: this.nextQueueId++, job: job.name, params, queuedAt: Date.now() };
      this.builds.push(b);
      this.byQueueId.set(b.queueId, b);
      this.waiting.add(b);
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        const n = (this.numbers.get(job.name) ?? 0) + 1;
        this.numbers.set(job.name, n);
        b.build = { number: n, url: `${this.root}job/${job.name}/${n}/`, timestamp: Date.now() };
        this.waiting.delete(b);
        let started = this.started.get(job.name);
        if (!started) this.started.set(job.name, (started = []));
        started.push(b); // oldest first: build numbers ascending
      }, this.options.startDelayMs ?? 20);
      this.timers.add(timer);
      if (loseAnswer) {
        this.requests.push({ method: 'POST', path: req.url ?? '', status: 0 });
        req.socket.destroy();
        return;
      }
      return this.send(req, res, 201, 'text/html', '', { location: `${this.root}queue/item/${b.queueId}/` });
    }
    if (req.method !== 'GET') return this.send(req, res, 405, 'text/html', '<html><body>Method Not Allowed</body></html>');
    if (path === '/queue/api/json') {
      return this.json(req, res, { _class: 'hudson.model.Queue', discoverableItems: [], items: [...this.waiting].map((b) => this.item(b)) });
    }
    m = /^\/queue\/item\/(\d+)\/api\/json$/.exec(path);
    if (m) {
      const b = this.byQueueId.get(Number(m[1]));
      if (!b) return this.send(req, res, 404, 'text/html', '<html><body>Not Found</body></html>');
      return this.json(req, res, this.item(b));
    }
    m = /^\/job\/([^/]+)\/api\/json$/.exec(path);
    if (m) {
      const job = this.jobs.get(decodeURIComponent(m[1] as string));
      if (!job) return this.send(req, res, 404, 'text/html', '<html><body>Not Found</body></html>');
      const started = this.started.get(job.name) ?? [];
      const range = /\{(\d*),(\d*)\}\s*$/.exec(url.searchParams.get('tree') ?? '');
      const from = range?.[1] ? Number(range[1]) : 0;
      const to = range?.[2] ? Number(range[2]) : 100; // Jenkins shows the first 100 builds unless asked otherwise
      // Newest first: index i from the newest is started[length - 1 - i].
      const page: QueuedBuild[] = [];
      for (let i = from; i < to && i < started.length; i++) page.push(started[started.length - 1 - i] as QueuedBuild);
      return this.json(req, res, {
        _class: 'hudson.model.FreeStyleProject',
        name: job.name,
        builds: page.map((b) => ({
          _class: 'hudson.model.FreeStyleBuild',
          actions: [parametersAction(b.params), {}],
          number: b.build?.number,
          queueId: b.queueId,
          timestamp: b.build?.timestamp,
          url: b.build?.url,
        })),
      });
    }
    return this.send(req, res, 404, 'text/html', '<html><body>Not Found</body></html>');
  }
}

export async function startJenkinsServer(options: JenkinsServerOptions): Promise<JenkinsServer> {
  return new JenkinsServer(options).listen();
}
