/**
 * A Jenkins job on another site, through Jenkins' remote access API (JSON flavour):
 * `…/job/<name>/api/json?tree=builds[…]` for the builds of a revision (matched by the
 * revision build parameter or the git plugin's BuildData `lastBuiltRevision.SHA1`), the
 * build's `result` (null while building), `…/<n>/testReport/api/json` for the failing
 * cases, and `buildWithParameters` (POST, with a crumb from `/crumbIssuer/api/json` when
 * CSRF protection is on) whose `Location` is a queue item, polled until `executable`
 * names the build. Every link taken from an answer must stay on the site's origin.
 */
import { z } from 'zod';
import type { z as Z } from 'zod';
import type { jenkinsSite } from './config.js';
import { RemoteError, expectOk, parseJson, request, type HttpAnswer } from './http.js';
import { jenkinsQueueItem } from '../../core/index.js';
import { sameOrigin, type ReadContext, type RemoteResult, type RemoteState } from './results.js';

type JenkinsSite = Z.output<typeof jenkinsSite>;

const action = z
  .object({
    parameters: z.array(z.object({ name: z.string(), value: z.unknown().optional() }).passthrough()).optional(),
    lastBuiltRevision: z.object({ SHA1: z.string() }).passthrough().optional(),
  })
  .passthrough()
  .nullable();

const build = z
  .object({
    number: z.number().int(),
    url: z.string(),
    result: z.string().nullable().optional(),
    building: z.boolean().optional(),
    actions: z.array(action).optional(),
  })
  .passthrough();

const job = z.object({ builds: z.array(build) }).passthrough();

const testReport = z
  .object({
    failCount: z.number().int(),
    passCount: z.number().int(),
    skipCount: z.number().int(),
    suites: z
      .array(
        z
          .object({
            cases: z.array(z.object({ className: z.string().optional(), name: z.string(), status: z.string() }).passthrough()),
          })
          .passthrough(),
      )
      .optional(),
  })
  .passthrough();

const queueItem = z
  .object({
    cancelled: z.boolean().optional(),
    why: z.string().nullable().optional(),
    executable: z.object({ number: z.number().int(), url: z.string() }).passthrough().nullable().optional(),
  })
  .passthrough();

const crumb = z.object({ crumb: z.string().min(1), crumbRequestField: z.string().min(1) }).passthrough();

export type JenkinsBuild = Z.output<typeof build>;

/** `a/b` → `job/a/job/b` (folders). */
export function jobPath(name: string): string {
  return name
    .split('/')
    .filter(Boolean)
    .map((part) => `job/${encodeURIComponent(part)}`)
    .join('/');
}

/** Build results: SUCCESS green; UNSTABLE (tests failed), FAILURE, ABORTED, NOT_BUILT red. */
function stateOf(b: JenkinsBuild): RemoteState {
  if (b.building || b.result === null || b.result === undefined) return 'pending';
  return b.result === 'SUCCESS' ? 'success' : 'failure';
}

export class JenkinsSiteClient {
  readonly #root: string;
  constructor(
    readonly site: JenkinsSite,
    readonly token: string | undefined,
    readonly ctx: ReadContext,
  ) {
    this.#root = site.url.replace(/\/+$/, '');
  }

  #headers(extra: Record<string, string> = {}): Record<string, string> {
    const auth: Record<string, string> = this.site.user && this.token ? { authorization: `Basic ${Buffer.from(`${this.site.user}:${this.token}`).toString('base64')}` } : {};
    return { accept: 'application/json', 'user-agent': 'byoci', ...auth, ...extra };
  }

  async #get(url: string): Promise<HttpAnswer> {
    return request(url, { headers: this.#headers() }, this.ctx.limits);
  }

  /** The newest build of `name` for `revision`, or undefined when none was started yet. */
  async buildFor(name: string, revision: string): Promise<JenkinsBuild | undefined> {
    const tree = `builds[number,url,result,building,actions[parameters[name,value],lastBuiltRevision[SHA1]]]{0,${this.site.builds}}`;
    const answer = expectOk(await this.#get(`${this.#root}/${jobPath(name)}/api/json?tree=${encodeURIComponent(tree)}`));
    const builds = parseJson(answer, job).builds;
    const matches = builds.filter((b) =>
      (b.actions ?? []).some(
        (a) =>
          a?.lastBuiltRevision?.SHA1 === revision ||
          (a?.parameters ?? []).some((p) => p.name === this.site.revisionParameter && p.value === revision),
      ),
    );
    return matches.sort((x, y) => y.number - x.number)[0];
  }

  async build(name: string, number: number): Promise<JenkinsBuild> {
    return parseJson(expectOk(await this.#get(`${this.#root}/${jobPath(name)}/${number}/api/json`)), build);
  }

  /** The failing cases of a build's testReport, in words; undefined when it has none. */
  async failingTests(name: string, number: number, max = 10): Promise<string | undefined> {
    const tree = 'failCount,passCount,skipCount,suites[cases[className,name,status]]';
    const answer = await this.#get(`${this.#root}/${jobPath(name)}/${number}/testReport/api/json?tree=${encodeURIComponent(tree)}`);
    if (answer.status === 404) return undefined;
    const report = parseJson(expectOk(answer), testReport);
    if (report.failCount === 0) return undefined;
    const failed = (report.suites ?? [])
      .flatMap((s) => s.cases)
      .filter((c) => c.status === 'FAILED' || c.status === 'REGRESSION')
      .map((c) => (c.className ? `${c.className}.${c.name}` : c.name));
    const total = report.failCount + report.passCount + report.skipCount;
    const shown = failed.slice(0, max);
    return `${report.failCount} of ${total} failed: ${shown.join(', ')}${report.failCount > shown.length ? ` (and ${report.failCount - shown.length} more)` : ''}`;
  }

  /** A RemoteResult for a build. */
  async resultOf(name: string, b: JenkinsBuild): Promise<RemoteResult> {
    const state = stateOf(b);
    const url = sameOrigin(b.url, this.#root) ?? `${this.#root}/${jobPath(name)}/${b.number}/`;
    const detail = state === 'failure' ? await this.failingTests(name, b.number).catch(() => undefined) : undefined;
    return { name, state, result: b.result ?? 'BUILDING', url, ...(detail ? { detail } : {}) };
  }

  /** Headers proving the request is not forged: a crumb (and its session cookie), when the site issues them. */
  async #crumb(): Promise<Record<string, string>> {
    const answer = await this.#get(`${this.#root}/crumbIssuer/api/json`);
    if (answer.status === 404) return {}; // CSRF protection off, or API-token requests exempt
    const c = parseJson(expectOk(answer), crumb);
    const cookie = answer.headers.getSetCookie().map((v) => v.split(';')[0]).filter(Boolean).join('; ');
    return { [c.crumbRequestField]: c.crumb, ...(cookie ? { cookie } : {}) };
  }

  /** Starts the job with `parameters`; returns the queue item's URL. */
  async trigger(name: string, parameters: Record<string, string>): Promise<string> {
    const body = new URLSearchParams(parameters).toString();
    const headers = this.#headers({ 'content-type': 'application/x-www-form-urlencoded', ...(await this.#crumb()) });
    // One attempt only: a retried POST could start the job twice.
    const answer = await request(`${this.#root}/${jobPath(name)}/buildWithParameters`, { method: 'POST', headers, body }, { ...this.ctx.limits, retries: 0 });
    // 201: queued. 303 (Jenkins 2.30x-2.46x) or 200 (since 2.468): an item with these
    // parameters was already in the queue, and Location names it (jenkinsci/jenkins#5615, #9446).
    if (answer.status !== 201 && answer.status !== 200 && answer.status !== 303) expectOk(answer.status >= 300 && answer.status < 400 ? { ...answer, status: 502 } : answer);
    const location = jenkinsQueueItem(answer.headers.get('location'), this.#root);
    if (!location) throw new RemoteError(`${answer.url}: started, but no queue item Location on ${this.#root} in the answer (HTTP ${answer.status})`, answer.status);
    return location;
  }

  /** The build number a queue item became, undefined while it waits; throws when cancelled. */
  async queued(location: string): Promise<{ number?: number; why?: string }> {
    const item = parseJson(expectOk(await this.#get(`${location.replace(/\/+$/, '')}/api/json`)), queueItem);
    if (item.cancelled) throw new RemoteError(`${location}: the queued build was cancelled on Jenkins`);
    if (item.executable) return { number: item.executable.number };
    return item.why ? { why: item.why } : {};
  }
}
