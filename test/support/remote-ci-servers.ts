/**
 * Local remote-CI sites on 127.0.0.1 for the remote-ci plugin, answering with the shapes
 * the real services document:
 * - GitHub: `GET /repos/{o}/{r}/commits/{ref}/status` (OpenAPI combined-commit-status,
 *   statuses built from @octokit/fixtures' create-status answer) and `…/check-runs`
 *   (checks/list-for-ref, runs built from @octokit/webhooks-examples' check_run payload).
 * - Jenkins (remote access API, JSON flavour, per jenkins.io/doc/book/using/remote-access-api
 *   and the model classes it names): `/job/<n>/api/json?tree=builds[…]`, `/job/<n>/<b>/api/json`,
 *   `/job/<n>/<b>/testReport/api/json` (hudson.tasks.junit.TestResult), `/crumbIssuer/api/json`
 *   (crumb tied to a JSESSIONID cookie, as since Jenkins 2.176), `POST /job/<n>/buildWithParameters`
 *   → 201 + `Location: …/queue/item/<id>/`, `/queue/item/<id>/api/json` (Queue$WaitingItem,
 *   then Queue$LeftItem with `executable`). Shapes written from the documentation, not recorded
 *   from a live Jenkins (none can run here).
 * - Launchpad: `GET /devel/<repo>?ws.op=getStatusReports&commit_sha1=…`: a collection page
 *   of revision_status_report entries (fields per devel.wadl).
 * Every site can answer 5xx for a while (`failNext`), slowly (`delayMs`), and counts requests.
 */
import { createRequire } from 'node:module';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

const require = createRequire(import.meta.url);
type Json = Record<string, unknown>;

const STATUS = (require('@octokit/fixtures/scenarios/api.github.com/create-status/normalized-fixture.json') as { method: string; response: Json }[]).find(
  (f) => f.method === 'post',
)!.response;
const CHECK_RUN = (require('@octokit/webhooks-examples') as { name: string; examples: Json[] }[]).find((e) => e.name === 'check_run')!.examples[0]!
  .check_run as Json;

export interface Site {
  url: string;
  requests: string[];
  /** Answer the next `n` requests with `status` (default 503). */
  failNext(n: number, status?: number): void;
  delayMs: number;
  close(): Promise<void>;
}

type Handler = (req: IncomingMessage, url: URL, body: string) => [number, unknown, Record<string, string>?] | undefined;

async function serve(handler: Handler): Promise<Site & { base: string }> {
  let failing = 0;
  let failStatus = 503;
  const requests: string[] = [];
  const state = { delayMs: 0 };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      requests.push(`${req.method} ${url.pathname}${url.search}`);
      const answer = (): void => {
        if (failing > 0) {
          failing--;
          res.writeHead(failStatus, { 'content-type': 'text/html' }).end('<html><body>Service Unavailable</body></html>');
          return;
        }
        const out = handler(req, url, body) ?? [404, { message: 'Not Found' }];
        const [status, payload, headers = {}] = out;
        const text = payload === undefined ? '' : typeof payload === 'string' ? payload : JSON.stringify(payload);
        res.writeHead(status, { 'content-type': typeof payload === 'string' ? 'application/xml' : 'application/json', ...headers }).end(text);
      };
      if (state.delayMs) setTimeout(answer, state.delayMs);
      else answer();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: base,
    base,
    requests,
    failNext(n, status = 503) {
      failing = n;
      failStatus = status;
    },
    get delayMs() {
      return state.delayMs;
    },
    set delayMs(ms: number) {
      state.delayMs = ms;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

// ---------------------------------------------------------------- GitHub

export interface GithubSite extends Site {
  /** Sets (replaces) the status of `context` on `sha`. */
  status(sha: string, context: string, state: 'pending' | 'success' | 'failure' | 'error', targetUrl?: string): void;
  checkRun(sha: string, name: string, status: 'queued' | 'in_progress' | 'completed', conclusion?: string | null): void;
}

/** With `token`, requests without `Authorization: Bearer <token>` get GitHub's 401. */
export async function startGithubSite(repo = 'octo/calc', token?: string): Promise<GithubSite> {
  const statuses = new Map<string, Json[]>();
  const runs = new Map<string, Json[]>();
  let id = 1;
  const site = await serve((req, url) => {
    if (token && req.headers.authorization !== `Bearer ${token}`) {
      return [401, { message: 'Bad credentials', documentation_url: 'https://docs.github.com/rest', status: '401' }];
    }
    const m = /^\/repos\/([^/]+\/[^/]+)\/commits\/([^/]+)\/(status|check-runs)$/.exec(url.pathname);
    if (!m || m[1] !== repo) return undefined;
    const sha = m[2]!;
    // GitHub's pagination: per_page (default 30, at most 100) and page (from 1).
    const perPage = Math.min(100, Number(url.searchParams.get('per_page') ?? 30));
    const page = Math.max(1, Number(url.searchParams.get('page') ?? 1));
    const slice = <T>(list: T[]) => list.slice((page - 1) * perPage, page * perPage);
    if (m[3] === 'status') {
      const all = statuses.get(sha) ?? [];
      const list = slice(all);
      if (!all.length && !runs.has(sha)) return [422, { message: `No commit found for SHA: ${sha}`, documentation_url: 'https://docs.github.com/rest/commits/statuses#get-the-combined-status-for-a-specific-reference' }];
      const states = all.map((s) => s.state);
      const combined = states.some((s) => s === 'failure' || s === 'error') ? 'failure' : states.length && states.every((s) => s === 'success') ? 'success' : 'pending';
      return [200, { state: combined, statuses: list, sha, total_count: all.length, repository: {}, commit_url: `${site.base}/repos/${repo}/commits/${sha}`, url: `${site.base}/repos/${repo}/commits/${sha}/status` }];
    }
    const list = runs.get(sha) ?? [];
    return [200, { total_count: list.length, check_runs: slice(list) }];
  });
  return Object.assign(site, {
    status(sha: string, context: string, state: string, targetUrl?: string) {
      const list = (statuses.get(sha) ?? []).filter((s) => s.context !== context);
      list.unshift({ ...STATUS, id: id++, context, state, target_url: targetUrl ?? `https://ci.example.invalid/${context}/${sha}`, description: `${context} ${state}`, updated_at: new Date().toISOString() });
      statuses.set(sha, list);
    },
    checkRun(sha: string, name: string, status: string, conclusion: string | null = null) {
      const list = (runs.get(sha) ?? []).filter((r) => r.name !== name);
      list.push({ ...CHECK_RUN, id: id++, head_sha: sha, name, status, conclusion, html_url: `https://github.com/${repo}/runs/${id}`, completed_at: status === 'completed' ? new Date().toISOString() : null });
      runs.set(sha, list);
      statuses.set(sha, statuses.get(sha) ?? []);
    },
  });
}

// ---------------------------------------------------------------- Jenkins

export interface FakeBuild {
  number: number;
  revision: string;
  result: 'SUCCESS' | 'FAILURE' | 'UNSTABLE' | 'ABORTED' | null;
  /** Failed test ids (className.name) for the testReport. */
  failed?: string[];
  passed?: number;
}

export interface JenkinsSite extends Site {
  /** Adds a finished or running build of `job` for `revision` (a REVISION parameter). */
  addBuild(job: string, build: Omit<FakeBuild, 'number'>): FakeBuild;
  /** What a triggered build of `job` becomes: after `queuePolls` queue polls a build starts; it finishes after `buildPolls` build polls. Undefined: stays queued forever. */
  onTrigger(job: string, plan: { queuePolls: number; buildPolls: number; result: FakeBuild['result']; failed?: string[] } | undefined): void;
  triggers: { job: string; params: Record<string, string>; crumb: string | undefined }[];
  /** Require a crumb (with its session cookie) on POSTs. */
  csrf: boolean;
  /** Answer the next `n` buildWithParameters with 503 (nothing queued). */
  failTriggers: number;
  /**
   * Jenkins' configured root URL ("Jenkins URL"), on which it builds the `Location` of a
   * queued build whatever URL the client used (behind a proxy: another host). Default: this site.
   */
  rootUrl: string | undefined;
  /**
   * The answer to a buildWithParameters whose job and parameters equal those of an item still
   * in the queue: Jenkins queues nothing new and points at that item, with 303 See Other
   * (2.30x-2.46x, JENKINS-66105) or 200 (since jenkinsci/jenkins#9446, 2024). Default 200.
   */
  mergeStatus: 200 | 303;
}

export async function startJenkinsSite(): Promise<JenkinsSite> {
  const builds = new Map<string, FakeBuild[]>();
  const plans = new Map<string, { queuePolls: number; buildPolls: number; result: FakeBuild['result']; failed?: string[] }>();
  const queue = new Map<number, { job: string; polls: number; build?: FakeBuild; params: Record<string, string> }>();
  const running = new Map<FakeBuild, { polls: number; result: FakeBuild['result'] }>();
  const triggers: JenkinsSite['triggers'] = [];
  const state: { csrf: boolean; nextQueue: number; failTriggers: number; rootUrl: string | undefined; mergeStatus: 200 | 303 } = { csrf: true, nextQueue: 41, failTriggers: 0, rootUrl: undefined, mergeStatus: 200 };
  const CRUMB = 'c0ffee1234';
  const SESSION = 'JSESSIONID.abcd=node0xyz';

  const buildJson = (job: string, b: FakeBuild) => {
    const run = running.get(b);
    if (run) {
      run.polls--;
      if (run.polls <= 0) {
        b.result = run.result;
        running.delete(b);
      }
    }
    return {
      _class: 'hudson.model.FreeStyleBuild',
      actions: [
        { _class: 'hudson.model.ParametersAction', parameters: [{ _class: 'hudson.model.StringParameterValue', name: 'REVISION', value: b.revision }] },
        { _class: 'hudson.model.CauseAction' },
        {},
        { _class: 'hudson.plugins.git.util.BuildData', lastBuiltRevision: { SHA1: b.revision, branch: [{ SHA1: b.revision, name: 'refs/remotes/origin/main' }] } },
      ],
      building: b.result === null,
      displayName: `#${b.number}`,
      fullDisplayName: `${job} #${b.number}`,
      id: String(b.number),
      number: b.number,
      queueId: 7,
      result: b.result,
      timestamp: 1764576000000,
      url: `${site.base}/job/${job}/${b.number}/`,
    };
  };

  const site = await serve((req, url, body) => {
    const path = url.pathname;
    if (path === '/crumbIssuer/api/json') {
      if (!state.csrf) return [404, '<html>Not Found</html>'];
      return [200, { _class: 'hudson.security.csrf.DefaultCrumbIssuer', crumb: CRUMB, crumbRequestField: 'Jenkins-Crumb' }, { 'set-cookie': `${SESSION}; Path=/; HttpOnly` }];
    }
    let m = /^\/job\/([^/]+)\/buildWithParameters$/.exec(path);
    if (m && req.method === 'POST') {
      const job = decodeURIComponent(m[1]!);
      const crumb = req.headers['jenkins-crumb'] as string | undefined;
      if (state.csrf && (crumb !== CRUMB || !String(req.headers.cookie ?? '').includes(SESSION))) {
        return [403, '<html><body>Error 403 No valid crumb was included in the request</body></html>'];
      }
      if (!builds.has(job) && !plans.has(job)) return [404, '<html>Not Found</html>'];
      if (state.failTriggers > 0) {
        state.failTriggers--;
        return [503, '<html><body>Jenkins is going to shut down</body></html>'];
      }
      const params = Object.fromEntries(new URLSearchParams(body));
      const root = state.rootUrl ?? site.base;
      const same = [...queue].find(([, q]) => !q.build && q.job === job && JSON.stringify(Object.entries(q.params).sort()) === JSON.stringify(Object.entries(params).sort()));
      if (same) return [state.mergeStatus, undefined, { location: `${root}/queue/item/${same[0]}/` }];
      triggers.push({ job, params, crumb });
      const id = state.nextQueue++;
      queue.set(id, { job, polls: 0, params });
      return [201, undefined, { location: `${root}/queue/item/${id}/` }];
    }
    m = /^\/queue\/item\/(\d+)\/api\/json$/.exec(path);
    if (m) {
      const item = queue.get(Number(m[1]));
      if (!item) return [404, '<html>Not Found</html>'];
      item.polls++;
      const plan = plans.get(item.job);
      if (plan && !item.build && item.polls > plan.queuePolls) {
        const list = builds.get(item.job) ?? [];
        const b: FakeBuild = { number: (list[0]?.number ?? 0) + 1, revision: item.params.REVISION ?? '', result: null, ...(plan.failed ? { failed: plan.failed } : {}) };
        list.unshift(b);
        builds.set(item.job, list);
        running.set(b, { polls: plan.buildPolls, result: plan.result });
        item.build = b;
      }
      const common = { actions: [{ _class: 'hudson.model.ParametersAction', parameters: Object.entries(item.params).map(([name, value]) => ({ name, value })) }], id: Number(m[1]), inQueueSince: 1764576000000, params: Object.entries(item.params).map(([k, v]) => `\n${k}=${v}`).join(''), task: { _class: 'hudson.model.FreeStyleProject', name: item.job, url: `${site.base}/job/${item.job}/` }, url: `queue/item/${m[1]}/` };
      if (item.build) return [200, { _class: 'hudson.model.Queue$LeftItem', ...common, blocked: false, buildable: false, stuck: false, cancelled: false, executable: { _class: 'hudson.model.FreeStyleBuild', number: item.build.number, url: `${site.base}/job/${item.job}/${item.build.number}/` } }];
      return [200, { _class: 'hudson.model.Queue$WaitingItem', ...common, blocked: false, buildable: false, stuck: false, why: 'Waiting for next available executor on ‘remote-1’', timestamp: 1764576005000 }];
    }
    m = /^\/job\/([^/]+)\/api\/json$/.exec(path);
    if (m) {
      const job = decodeURIComponent(m[1]!);
      if (!builds.has(job) && !plans.has(job)) return [404, '<html>Not Found</html>'];
      return [200, { _class: 'hudson.model.FreeStyleProject', builds: (builds.get(job) ?? []).map((b) => buildJson(job, b)) }];
    }
    m = /^\/job\/([^/]+)\/(\d+)\/(testReport\/)?api\/json$/.exec(path);
    if (m) {
      const job = decodeURIComponent(m[1]!);
      const b = (builds.get(job) ?? []).find((x) => x.number === Number(m![2]));
      if (!b) return [404, '<html>Not Found</html>'];
      if (!m[3]) return [200, buildJson(job, b)];
      if (!b.failed) return [404, '<html>Not Found</html>'];
      const cases = [
        ...b.failed.map((id) => ({ className: id.slice(0, id.lastIndexOf('.')), name: id.slice(id.lastIndexOf('.') + 1), status: 'FAILED' })),
        ...Array.from({ length: b.passed ?? 3 }, (_, i) => ({ className: 'tests.test_ok.OkTest', name: `test_${i}`, status: 'PASSED' })),
      ];
      return [200, { _class: 'hudson.tasks.junit.TestResult', duration: 1.5, empty: false, failCount: b.failed.length, passCount: b.passed ?? 3, skipCount: 0, suites: [{ cases, name: 'tests' }] }];
    }
    return undefined;
  });
  // Accessors, not values: Object.assign would copy a getter's value once.
  Object.defineProperties(site, {
    csrf: { get: () => state.csrf, set: (v: boolean) => (state.csrf = v), enumerable: true },
    failTriggers: { get: () => state.failTriggers, set: (n: number) => (state.failTriggers = n), enumerable: true },
    rootUrl: { get: () => state.rootUrl, set: (v: string | undefined) => (state.rootUrl = v), enumerable: true },
    mergeStatus: { get: () => state.mergeStatus, set: (v: 200 | 303) => (state.mergeStatus = v), enumerable: true },
  });
  return Object.assign(site as typeof site & Pick<JenkinsSite, 'csrf' | 'failTriggers' | 'rootUrl' | 'mergeStatus'>, {
    triggers,
    addBuild(job: string, build: Omit<FakeBuild, 'number'>) {
      const list = builds.get(job) ?? [];
      const b = { ...build, number: (list[0]?.number ?? 0) + 1 };
      list.unshift(b);
      builds.set(job, list);
      return b;
    },
    onTrigger(job: string, plan: Parameters<JenkinsSite['onTrigger']>[1]) {
      if (plan) plans.set(job, plan);
      else plans.delete(job);
      if (!builds.has(job)) builds.set(job, []);
    },
  });
}

// ---------------------------------------------------------------- Launchpad

export interface LaunchpadSite extends Site {
  report(repository: string, sha: string, title: string, result: 'Waiting' | 'Running' | 'Succeeded' | 'Failed' | 'Skipped' | 'Cancelled', url?: string): void;
  /** The reports of a repository's commit, as Launchpad keeps them. */
  reportsOf(repository: string, sha: string): Json[];
}

const RESULTS = new Set(['Waiting', 'Running', 'Succeeded', 'Failed', 'Skipped', 'Cancelled']);

/**
 * Also takes the writes byoci makes: `POST <repo> ws.op=newStatusReport` (201, Location of
 * the new report, empty body) and `POST <report> ws.op=update` (200, null), refusing an
 * unknown result with Launchpad's 400 text.
 */
export async function startLaunchpadSite(): Promise<LaunchpadSite> {
  const reports = new Map<string, Json[]>();
  const site = await serve((req, url, body) => {
    if (req.method === 'POST' && url.pathname.startsWith('/devel/')) {
      const form = new URLSearchParams(body);
      const op = form.get('ws.op');
      const result = form.get('result');
      if (result !== null && !RESULTS.has(result)) return [400, `result: Invalid value "${result}". Acceptable values are: Waiting, Running, Succeeded, Failed, Skipped, Cancelled`];
      if (op === 'newStatusReport') {
        const repository = decodeURIComponent(url.pathname.slice('/devel/'.length));
        const sha = form.get('commit_sha1');
        const title = form.get('title');
        if (!sha || !title) return [400, 'title: Required input is missing.'];
        const entry = add(repository, sha, title, (result ?? 'Waiting') as never, form.get('url') ?? undefined, form.get('result_summary') ?? undefined, false);
        return [201, '', { location: String(entry.self_link) }];
      }
      if (op === 'update') {
        const entry = [...reports.values()].flat().find((e) => e.self_link === `${site.base}${url.pathname}`);
        if (!entry) return [404, 'Object: None, name: update'];
        for (const key of ['title', 'url', 'result_summary', 'result'] as const) if (form.has(key)) entry[key] = form.get(key);
        return [200, null];
      }
      return [400, `No such operation: ${op}`];
    }
    if (!url.pathname.startsWith('/devel/') || url.searchParams.get('ws.op') !== 'getStatusReports') return undefined;
    const repository = decodeURIComponent(url.pathname.slice('/devel/'.length));
    const sha = url.searchParams.get('commit_sha1');
    if (!sha) return [400, 'commit_sha1: Required input is missing.'];
    const entries = reports.get(`${repository}@${sha}`) ?? [];
    return [200, { total_size: entries.length, start: 0, entries, resource_type_link: `${site.base}/devel/#revision_status_report-page-resource` }];
  });
  let n = 0;
  function add(repository: string, sha: string, title: string, result: string, link?: string, summary?: string, replace = true): Json {
    const key = `${repository}@${sha}`;
    const list = (reports.get(key) ?? []).filter((r) => !replace || r.title !== title);
    n++;
    const entry: Json = {
        self_link: `${site.base}/devel/${repository}/+status/${n}`,
        web_link: `https://launchpad.net/${repository}/+status/${n}`,
        resource_type_link: `${site.base}/devel/#revision_status_report`,
        http_etag: `"etag-${n}"`,
        title,
        git_repository_link: `${site.base}/devel/${repository}`,
        commit_sha1: sha,
        date_created: '2026-12-01T08:00:00+00:00',
        date_started: result === 'Waiting' ? null : '2026-12-01T08:00:01+00:00',
        date_finished: ['Waiting', 'Running'].includes(result) ? null : '2026-12-01T08:05:00+00:00',
        result,
        result_summary: summary ?? `${title}: ${result}`,
        url: link ?? null,
        ci_build_link: null,
        distro_arch_series_link: null,
        properties: {},
      };
    list.push(entry);
    reports.set(key, list);
    return entry;
  }
  return Object.assign(site, {
    report(repository: string, sha: string, title: string, result: string, link?: string) {
      add(repository, sha, title, result, link);
    },
    reportsOf(repository: string, sha: string) {
      return reports.get(`${repository}@${sha}`) ?? [];
    },
  });
}
