/**
 * A local GitHub: a node:http server on 127.0.0.1 speaking the REST paths byoci uses,
 * answering with real payload shapes (taken from @octokit/fixtures and
 * @octokit/webhooks-examples, fields filled in), over real bare git repositories.
 *
 * Like GitHub, a pull request's head is its head branch's tip in the repository (read
 * live, and mirrored to `refs/pull/N/head`), and a pull request whose head is contained
 * in its base branch is closed as merged: pushing the tested merge commit lands it.
 *
 *   const gh = await startGithubServer({ token: 't0ken' });
 *   gh.addRepo({ owner: 'o', name: 'r', bare: repos.target });
 *   const n = gh.openPull('o/r', { head: 'feature', user: 'alice', title: 'Add x' });
 *   gh.review('o/r', n, { user: 'carol', state: 'APPROVED' });
 *   ... new Octokit({ baseUrl: gh.url, auth: 't0ken' }) ...
 *   await gh.close();
 */
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { run } from '../../core/process.js';

const require = createRequire(import.meta.url);

type Json = Record<string, unknown>;
interface Example {
  name: string;
  examples: Json[];
}
interface Fixture {
  method: string;
  path: string;
  response: unknown;
}

function clone<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

// Real payloads the answers are built from.
const examples = require('@octokit/webhooks-examples') as Example[];
function example(event: string, action?: string): Json {
  const found = examples.find((e) => e.name === event)?.examples.find((e) => action === undefined || e.action === action);
  if (!found) throw new Error(`no ${event} example in @octokit/webhooks-examples`);
  return found;
}
const PULL = example('pull_request', 'opened').pull_request as Json;
const REVIEW = example('pull_request_review', 'submitted').review as Json;
const COMMENT = example('issue_comment', 'created').comment as Json;
const USER = PULL.user as Json;
const REPOSITORY = (require('@octokit/fixtures/scenarios/api.github.com/get-repository/normalized-fixture.json') as Fixture[])[0]!
  .response as Json;
const STATUS = (require('@octokit/fixtures/scenarios/api.github.com/create-status/normalized-fixture.json') as Fixture[]).find(
  (f) => f.method === 'post',
)!.response as Json;
// Branch protection as GET .../protection answers it (the fixture's PUT answer: the same representation).
const PROTECTION_FIXTURES = require('@octokit/fixtures/scenarios/api.github.com/branch-protection/normalized-fixture.json') as (Fixture & { status: number })[];
const PROTECTION = PROTECTION_FIXTURES.filter((f) => f.method === 'put').at(-1)!.response as Json;
const NOT_PROTECTED = PROTECTION_FIXTURES.find((f) => f.method === 'get' && f.status === 404)!.response as Json;

export type Role = 'admin' | 'maintain' | 'write' | 'triage' | 'read' | 'none';

export interface FakeRepo {
  owner: string;
  name: string;
  /** Path of the bare repository standing for the GitHub repository. */
  bare: string;
  defaultBranch: string;
  permissions: Map<string, Role>;
}

/** What a protected branch requires (classic branch protection); absent parts are not required. */
export interface FakeProtection {
  requiredReviews?: { count: number; bypassUsers?: string[] };
  requiredStatusChecks?: string[];
  /** Only these users may push (and admins unless enforceAdmins). */
  pushUsers?: string[];
  enforceAdmins?: boolean;
  requiredLinearHistory?: boolean;
}

interface FakePull {
  number: number;
  /** The head branch lives in this fork (a repository of its own), not in the base. */
  fork?: { owner: string; name: string; bare: string };
  title: string;
  body: string | null;
  user: string;
  head: string;
  base: string;
  draft: boolean;
  forkDeleted: boolean;
  labels: string[];
  state: 'open' | 'closed';
  merged: boolean;
  mergedAt: string | null;
  mergeCommit: string | null;
  createdAt: string;
  reviews: Json[];
  comments: Json[];
  events: Json[];
}

export interface RecordedRequest {
  method: string;
  path: string;
  body: unknown;
  /** The status answered; a 304 (conditional request, ETag matched) does not count against the rate limit. */
  status: number;
}

export interface InjectedFailure {
  status: number;
  headers?: Record<string, string>;
  message?: string;
  /** Only requests whose `METHOD /path` matches; default: any. */
  match?: RegExp;
  /** The request is applied, then answered with this failure (a 502 after the write happened). */
  afterApplying?: boolean;
}

export interface GithubServer {
  /** REST root to give as `baseUrl`, e.g. http://127.0.0.1:40123/api/v3 */
  readonly url: string;
  readonly token: string;
  /** Login of the token's owner (the bot). */
  readonly botLogin: string;
  /** Every request answered, in order. */
  readonly requests: RecordedRequest[];
  addRepo(repo: { owner: string; name: string; bare: string; defaultBranch?: string }): FakeRepo;
  setPermission(repo: string, user: string, role: Role): void;
  /** `forkDeleted`: the head repository is gone (`head.repo: null`), as after a fork is deleted. */
  openPull(
    repo: string,
    pull: {
      head: string;
      base?: string;
      user: string;
      title: string;
      body?: string | null;
      draft?: boolean;
      forkDeleted?: boolean;
      /** The head branch is in this fork (its own bare repository); GitHub mirrors it to the base's `refs/pull/N/head`. */
      fork?: { owner: string; name: string; bare: string };
    },
  ): number;
  /** A user removes a label (an `unlabeled` event). */
  unlabel(repo: string, number: number, label: string, actor: string): void;
  /**
   * Classic branch protection on `branch`: the API shows it (admins only for the rules)
   * and pushes to the branch are refused as GitHub refuses them (`GH006`).
   */
  protect(repo: string, branch: string, protection: FakeProtection): void;
  /** Requests that counted against the rate limit (every answer but 304). */
  counted(): RecordedRequest[];
  /** A submitted review; `commitId` defaults to the current head. Returns the commit reviewed. */
  review(repo: string, number: number, review: { user: string; state: string; commitId?: string }): Promise<string>;
  comment(repo: string, number: number, user: string, body: string): number;
  label(repo: string, number: number, label: string, actor: string): void;
  /** The next matching requests fail with this answer (once each). */
  failNext(...failures: InjectedFailure[]): void;
  /**
   * The next `count` requests matching `match` (`METHOD /path?query`, without the API
   * prefix) get `respond`'s answer (junk, endless or redirected answers for robustness tests).
   */
  override(match: RegExp, respond: (res: ServerResponse, url: URL) => void | Promise<void>, count?: number): void;
  clearOverrides(): void;
  /** Commit statuses of `sha`, newest first. */
  statuses(repo: string, sha: string): Json[];
  comments(repo: string, number: number): Json[];
  /** A pull request as GitHub sees it now (merged once its head is in the base). */
  pull(repo: string, number: number): Promise<FakePull>;
  headSha(repo: string, number: number): Promise<string>;
  close(): Promise<void>;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    /** A 422's `errors` list, as GitHub gives it: what was wrong with which field. */
    readonly errors?: Json[],
  ) {
    super(message);
  }
}

/**
 * GitHub's 422 for a field that fails a check: `message` is only "Validation Failed", the
 * reason is in `errors` (shapes as GitHub answers them; Octokit's RequestError then reads
 * `Validation Failed: {"resource":…,"message":…}`).
 */
function validationFailed(resource: string, field: string, message: string, code = 'custom'): HttpError {
  return new HttpError(422, 'Validation Failed', [{ resource, code, field, message }]);
}

async function git(bare: string, args: string[], reject = true): Promise<{ exitCode: number; stdout: string }> {
  return run(['git', ...args], { cwd: bare, env: { GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1' }, reject });
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw new HttpError(400, 'Problems parsing JSON');
  }
}

export async function startGithubServer(options: { token?: string; botLogin?: string; prefix?: string } = {}): Promise<GithubServer> {
  const token = options.token ?? 'ghp_' + 'fake0token0for0tests0only00000000000';
  const botLogin = options.botLogin ?? 'byoci-bot';
  const prefix = options.prefix ?? '/api/v3';
  const repos = new Map<string, FakeRepo>();
  const pulls = new Map<string, FakePull[]>();
  const statuses = new Map<string, Json[]>();
  const requests: RecordedRequest[] = [];
  const failures: InjectedFailure[] = [];
  const overrides: { match: RegExp; respond: (res: ServerResponse, url: URL) => void | Promise<void>; count: number }[] = [];
  const protections = new Map<string, FakeProtection>();
  const ancestry = new Map<string, boolean>();
  let seq = 0;
  let url = '';

  const tick = () => new Date(Date.UTC(2026, 0, 1) + (seq += 1) * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
  const nextId = () => 1000 + (seq += 1);

  function user(login: string): Json {
    const u = clone(USER);
    u.login = login;
    u.id = [...login].reduce((a, c) => a * 31 + c.charCodeAt(0), 7) % 1e8;
    u.url = `${url}/users/${login}`;
    u.html_url = `https://github.example/${login}`;
    return u;
  }

  function repoOf(full: string): FakeRepo {
    const repo = repos.get(full);
    if (!repo) throw new HttpError(404, 'Not Found');
    return repo;
  }

  function pullOf(full: string, number: number): FakePull {
    const pull = pulls.get(full)?.find((p) => p.number === number);
    if (!pull) throw new HttpError(404, 'Not Found');
    return pull;
  }

  function permissionOf(repo: FakeRepo, login: string): Role {
    if (login === repo.owner) return 'admin';
    return repo.permissions.get(login) ?? 'read';
  }

  /** Branch tips of the repository, read in one go. */
  async function tips(repo: FakeRepo): Promise<Map<string, string>> {
    const r = await git(repo.bare, ['for-each-ref', '--format=%(objectname) %(refname)', 'refs/heads/', 'refs/pull/']);
    const out = new Map<string, string>();
    for (const line of r.stdout.split('\n')) {
      const [sha, ref] = line.split(' ');
      if (sha && ref) out.set(ref, sha);
    }
    return out;
  }

  /** GitHub's view of a pull request now: head from its branch, merged once base contains it. */
  async function refresh(repo: FakeRepo, pull: FakePull, known?: Map<string, string>): Promise<{ head: string; base: string }> {
    const refs = known ?? (await tips(repo));
    let head = refs.get(`refs/heads/${pull.head}`);
    if (pull.fork) {
      // The fork's branch, mirrored into the base repository's refs/pull/N/head as GitHub does.
      // A fork gone (deleted, unreadable) leaves refs/pull/N/head as it was.
      const fetched = pull.forkDeleted
        ? { exitCode: 1 }
        : await git(repo.bare, ['fetch', '--quiet', '--no-tags', '--', pull.fork.bare, `+refs/heads/${pull.head}:refs/pull/${pull.number}/head`], false);
      const mirrored = await git(repo.bare, ['rev-parse', '--verify', '--quiet', `refs/pull/${pull.number}/head`], false);
      head = fetched.exitCode === 0 || mirrored.exitCode === 0 ? mirrored.stdout.trim() : undefined;
    }
    const base = refs.get(`refs/heads/${pull.base}`);
    if (!head || !base) throw new HttpError(422, `branch ${head ? pull.base : pull.head} does not exist`);
    if (!pull.fork && refs.get(`refs/pull/${pull.number}/head`) !== head) {
      await git(repo.bare, ['update-ref', `refs/pull/${pull.number}/head`, head]);
    }
    if (pull.state === 'open') {
      // Commits never change: whether head is in base is asked of git once per pair.
      const pair = `${repo.bare} ${head} ${base}`;
      let contained = ancestry.get(pair);
      if (contained === undefined) {
        contained = (await git(repo.bare, ['merge-base', '--is-ancestor', head, base], false)).exitCode === 0;
        ancestry.set(pair, contained);
      }
      if (contained) {
        pull.state = 'closed';
        pull.merged = true;
        pull.mergedAt = tick();
        pull.mergeCommit = base;
      }
    }
    return { head, base };
  }

  function repository(repo: FakeRepo, viewer = botLogin): Json {
    const r = clone(REPOSITORY);
    const full = `${repo.owner}/${repo.name}`;
    Object.assign(r, {
      name: repo.name,
      full_name: full,
      owner: user(repo.owner),
      html_url: `https://github.example/${full}`,
      url: `${url}/repos/${full}`,
      // Clone URLs point at the real repository on disk.
      clone_url: repo.bare,
      ssh_url: repo.bare,
      git_url: repo.bare,
      default_branch: repo.defaultBranch,
    });
    const role = permissionOf(repo, viewer);
    r.permissions = {
      admin: role === 'admin',
      maintain: role === 'admin' || role === 'maintain',
      push: ['admin', 'maintain', 'write'].includes(role),
      triage: role !== 'read' && role !== 'none',
      pull: role !== 'none',
    };
    return r;
  }

  function forkRepository(fork: { owner: string; name: string; bare: string }): Json {
    const r = clone(REPOSITORY);
    const full = `${fork.owner}/${fork.name}`;
    Object.assign(r, {
      name: fork.name,
      full_name: full,
      owner: user(fork.owner),
      fork: true,
      html_url: `https://github.example/${full}`,
      url: `${url}/repos/${full}`,
      clone_url: fork.bare,
      ssh_url: fork.bare,
      git_url: fork.bare,
    });
    return r;
  }

  function protectionJson(full: string, branch: string, p: FakeProtection): Json {
    const out = clone(PROTECTION);
    const at = `${url}/repos/${full}/branches/${branch}/protection`;
    out.url = at;
    out.enforce_admins = { url: `${at}/enforce_admins`, enabled: p.enforceAdmins ?? false };
    out.required_linear_history = { enabled: p.requiredLinearHistory ?? false };
    if (p.requiredStatusChecks) {
      (out.required_status_checks as Json).contexts = p.requiredStatusChecks;
      (out.required_status_checks as Json).checks = p.requiredStatusChecks.map((context) => ({ context, app_id: null }));
    } else delete out.required_status_checks;
    if (p.requiredReviews) {
      const r = out.required_pull_request_reviews as Json;
      r.required_approving_review_count = p.requiredReviews.count;
      r.bypass_pull_request_allowances = { users: (p.requiredReviews.bypassUsers ?? []).map(user), teams: [], apps: [] };
    } else delete out.required_pull_request_reviews;
    if (p.pushUsers) {
      const r = out.restrictions as Json;
      r.users = p.pushUsers.map(user);
      r.teams = [];
      r.apps = [];
    } else delete out.restrictions;
    return out;
  }

  async function pullJson(repo: FakeRepo, pull: FakePull, known?: Map<string, string>): Promise<Json> {
    const { head, base } = await refresh(repo, pull, known);
    const full = `${repo.owner}/${repo.name}`;
    const p = clone(PULL);
    const repoJson = repository(repo);
    Object.assign(p, {
      url: `${url}/repos/${full}/pulls/${pull.number}`,
      id: 5000 + pull.number,
      html_url: `https://github.example/${full}/pull/${pull.number}`,
      issue_url: `${url}/repos/${full}/issues/${pull.number}`,
      number: pull.number,
      state: pull.state,
      title: pull.title,
      user: user(pull.user),
      body: pull.body,
      created_at: pull.createdAt,
      updated_at: pull.createdAt,
      closed_at: pull.state === 'closed' ? pull.mergedAt : null,
      merged_at: pull.mergedAt,
      merge_commit_sha: pull.mergeCommit,
      labels: pull.labels.map((name, i) => ({ id: 700 + i, node_id: 'MDU6TGFiZWw3MDA=', url: `${url}/repos/${full}/labels/${encodeURIComponent(name)}`, name, color: 'ededed', default: false, description: null })),
      draft: pull.draft,
      merged: pull.merged,
      head: {
        label: `${pull.fork?.owner ?? repo.owner}:${pull.head}`,
        ref: pull.head,
        sha: head,
        user: user(pull.fork?.owner ?? repo.owner),
        repo: pull.forkDeleted ? null : pull.fork ? forkRepository(pull.fork) : repoJson,
      },
      base: { label: `${repo.owner}:${pull.base}`, ref: pull.base, sha: base, user: user(repo.owner), repo: repoJson },
    });
    return p;
  }

  function paginate(res: ServerResponse, query: URLSearchParams, path: string, items: unknown[]): unknown[] {
    const perPage = Math.min(100, Number(query.get('per_page') ?? 30) || 30);
    const page = Math.max(1, Number(query.get('page') ?? 1) || 1);
    const slice = items.slice((page - 1) * perPage, page * perPage);
    if (page * perPage < items.length) {
      const next = new URLSearchParams(query);
      next.set('page', String(page + 1));
      res.setHeader('link', `<${new URL(url).origin}${path}?${next.toString()}>; rel="next"`);
    }
    return slice;
  }

  type Handler = (m: string[], ctx: { res: ServerResponse; query: URLSearchParams; path: string; body: unknown }) => Promise<[number, unknown]>;
  const routes: [string, RegExp, Handler][] = [
    ['GET', /^\/user$/, async () => [200, user(botLogin)]],
    [
      'GET',
      /^\/repos\/([^/]+)\/([^/]+)\/branches\/([^/]+)$/,
      async ([o, r, b]) => {
        const repo = repoOf(`${o}/${r}`);
        const name = decodeURIComponent(b!);
        const sha = (await tips(repo)).get(`refs/heads/${name}`);
        if (!sha) throw new HttpError(404, 'Branch not found');
        const p = protections.get(`${o}/${r}:${name}`);
        return [
          200,
          {
            name,
            commit: { sha, url: `${url}/repos/${o}/${r}/commits/${sha}` },
            _links: { self: `${url}/repos/${o}/${r}/branches/${name}`, html: `https://github.example/${o}/${r}/tree/${name}` },
            protected: !!p,
            protection: {
              enabled: !!p,
              required_status_checks: { enforcement_level: p?.requiredStatusChecks ? 'non_admins' : 'off', contexts: p?.requiredStatusChecks ?? [], checks: [] },
            },
            protection_url: `${url}/repos/${o}/${r}/branches/${name}/protection`,
          },
        ];
      },
    ],
    [
      'GET',
      /^\/repos\/([^/]+)\/([^/]+)\/branches\/([^/]+)\/protection$/,
      async ([o, r, b]) => {
        const repo = repoOf(`${o}/${r}`);
        // Reading the rules needs admin rights (GitHub's docs); the exact refusal text for others is not recorded.
        if (permissionOf(repo, botLogin) !== 'admin') throw new HttpError(403, 'Must have admin rights to Repository.');
        const p = protections.get(`${o}/${r}:${decodeURIComponent(b!)}`);
        if (!p) return [404, NOT_PROTECTED];
        return [200, protectionJson(`${o}/${r}`, decodeURIComponent(b!), p)];
      },
    ],
    ['GET', /^\/repos\/([^/]+)\/([^/]+)$/, async ([o, r]) => [200, repository(repoOf(`${o}/${r}`))]],
    [
      'GET',
      /^\/repos\/([^/]+)\/([^/]+)\/pulls$/,
      async ([o, r], { res, query, path }) => {
        const repo = repoOf(`${o}/${r}`);
        const state = query.get('state') ?? 'open';
        const base = query.get('base');
        const out: Json[] = [];
        const known = await tips(repo);
        for (const pull of pulls.get(`${o}/${r}`) ?? []) {
          if (state !== 'all' && pull.state === 'closed' && state === 'open') continue;
          if (base && pull.base !== base) continue;
          const json = await pullJson(repo, pull, known);
          if (state !== 'all' && json.state !== state) continue;
          out.push(json);
        }
        out.sort((a, b) => (b.number as number) - (a.number as number));
        return [200, paginate(res, query, path, out)];
      },
    ],
    ['GET', /^\/repos\/([^/]+)\/([^/]+)\/pulls\/(\d+)$/, async ([o, r, n]) => [200, await pullJson(repoOf(`${o}/${r}`), pullOf(`${o}/${r}`, Number(n)))]],
    ['GET', /^\/repos\/([^/]+)\/([^/]+)\/pulls\/(\d+)\/reviews$/, async ([o, r, n], c) => [200, paginate(c.res, c.query, c.path, pullOf(`${o}/${r}`, Number(n)).reviews)]],
    ['GET', /^\/repos\/([^/]+)\/([^/]+)\/issues\/(\d+)\/comments$/, async ([o, r, n], c) => [200, paginate(c.res, c.query, c.path, pullOf(`${o}/${r}`, Number(n)).comments)]],
    [
      'POST',
      /^\/repos\/([^/]+)\/([^/]+)\/issues\/(\d+)\/comments$/,
      async ([o, r, n], { body }) => {
        const text = (body as Json | undefined)?.body;
        // The real text for a missing body is not known here (byoci always sends one).
        if (typeof text !== 'string' || !text) throw validationFailed('IssueComment', 'body', 'body is missing', 'missing_field');
        if (text.length > 65536) throw validationFailed('IssueComment', 'data', 'Body is too long (maximum is 65536 characters)', 'unprocessable');
        return [201, addComment(`${o}/${r}`, Number(n), botLogin, text)];
      },
    ],
    ['GET', /^\/repos\/([^/]+)\/([^/]+)\/issues\/(\d+)\/events$/, async ([o, r, n], c) => [200, paginate(c.res, c.query, c.path, pullOf(`${o}/${r}`, Number(n)).events)]],
    [
      'DELETE',
      /^\/repos\/([^/]+)\/([^/]+)\/issues\/(\d+)\/labels\/([^/]+)$/,
      async ([o, r, n, l]) => {
        const pull = pullOf(`${o}/${r}`, Number(n));
        const name = decodeURIComponent(l!);
        if (!pull.labels.includes(name)) throw new HttpError(404, 'Label does not exist');
        pull.labels = pull.labels.filter((x) => x !== name);
        pull.events.push(issueEvent('unlabeled', botLogin, name));
        return [200, pull.labels.map((x) => ({ name: x, color: 'ededed' }))];
      },
    ],
    [
      'GET',
      /^\/repos\/([^/]+)\/([^/]+)\/collaborators\/([^/]+)\/permission$/,
      async ([o, r, u]) => {
        const role = permissionOf(repoOf(`${o}/${r}`), decodeURIComponent(u!));
        const legacy = role === 'maintain' ? 'write' : role === 'triage' ? 'read' : role;
        return [200, { permission: legacy, role_name: role, user: user(decodeURIComponent(u!)) }];
      },
    ],
    [
      'POST',
      /^\/repos\/([^/]+)\/([^/]+)\/statuses\/([0-9a-f]{40})$/,
      async ([o, r, sha], { body }) => {
        const repo = repoOf(`${o}/${r}`);
        const b = (body ?? {}) as Json;
        if (!['pending', 'success', 'failure', 'error'].includes(b.state as string)) {
          throw validationFailed('Status', 'state', 'state is not included in the list');
        }
        if (typeof b.description === 'string' && b.description.length > 140) {
          throw validationFailed('Status', 'description', 'description is too long (maximum is 140 characters)');
        }
        const exists = await git(repo.bare, ['cat-file', '-e', `${sha}^{commit}`], false);
        if (exists.exitCode !== 0) throw new HttpError(422, `No commit found for SHA: ${sha}`);
        const s = clone(STATUS);
        const at = tick();
        Object.assign(s, {
          url: `${url}/repos/${o}/${r}/statuses/${sha}`,
          id: nextId(),
          state: b.state,
          description: b.description ?? null,
          target_url: b.target_url ?? null,
          context: b.context ?? 'default',
          created_at: at,
          updated_at: at,
          creator: user(botLogin),
        });
        const key = `${o}/${r}@${sha}`;
        statuses.set(key, [s, ...(statuses.get(key) ?? [])]);
        return [201, s];
      },
    ],
    [
      'GET',
      /^\/repos\/([^/]+)\/([^/]+)\/commits\/([^/]+)\/statuses$/,
      async ([o, r, ref], c) => {
        repoOf(`${o}/${r}`);
        return [200, paginate(c.res, c.query, c.path, statuses.get(`${o}/${r}@${ref}`) ?? [])];
      },
    ],
  ];

  /** A pre-receive hook refusing updates of protected branches with GitHub's GH006 text. */
  function installProtectionHook(repo: FakeRepo): void {
    const branches = [...protections.keys()].filter((k) => k.startsWith(`${repo.owner}/${repo.name}:`)).map((k) => k.slice(k.indexOf(':') + 1));
    const hooks = join(repo.bare, 'hooks');
    mkdirSync(hooks, { recursive: true });
    const cases = branches.map((b) => `    refs/heads/${b.replace(/[^\w./-]/g, '')}) refused="$ref" ;;`).join('\n');
    const script = [
      '#!/bin/sh',
      'refused=',
      'while read old new ref; do',
      '  case "$ref" in',
      cases,
      '  esac',
      'done',
      'if [ -n "$refused" ]; then',
      '  echo "error: GH006: Protected branch update failed for $refused." >&2',
      '  echo "error: Changes must be made through a pull request." >&2',
      '  exit 1',
      'fi',
      'exit 0',
      '',
    ].join('\n');
    writeFileSync(join(hooks, 'pre-receive'), script);
    chmodSync(join(hooks, 'pre-receive'), 0o755);
  }

  function issueEvent(event: string, actor: string, label: string): Json {
    return {
      id: nextId(),
      node_id: 'MDEyOkxhYmVsZWRFdmVudDE=',
      url: `${url}/repos/events/${seq}`,
      actor: user(actor),
      event,
      commit_id: null,
      commit_url: null,
      created_at: tick(),
      label: { name: label, color: 'ededed' },
      performed_via_github_app: null,
    };
  }

  function addComment(full: string, number: number, login: string, body: string): Json {
    const pull = pullOf(full, number);
    const c = clone(COMMENT);
    const id = nextId();
    const at = tick();
    Object.assign(c, {
      id,
      url: `${url}/repos/${full}/issues/comments/${id}`,
      html_url: `https://github.example/${full}/pull/${number}#issuecomment-${id}`,
      issue_url: `${url}/repos/${full}/issues/${number}`,
      user: user(login),
      created_at: at,
      updated_at: at,
      body,
    });
    pull.comments.push(c);
    return c;
  }

  const server = createServer((req, res) => {
    void (async () => {
      const parsed = new URL(req.url ?? '/', 'http://127.0.0.1');
      let path = parsed.pathname;
      const method = (req.method ?? 'GET').toUpperCase();
      let status = 500;
      let payload: unknown;
      let body: unknown;
      res.setHeader('content-type', 'application/json; charset=utf-8');
      res.setHeader('x-github-media-type', 'github.v3; format=json');
      res.setHeader('x-ratelimit-limit', '5000');
      res.setHeader('x-ratelimit-reset', String(Math.floor(Date.now() / 1000) + 3600));
      try {
        body = await readBody(req);
        if (!path.startsWith(prefix)) throw new HttpError(404, 'Not Found');
        path = path.slice(prefix.length);
        const auth = req.headers.authorization ?? '';
        if (auth !== `token ${token}` && auth !== `bearer ${token}` && auth !== `Bearer ${token}`) {
          throw new HttpError(401, 'Bad credentials');
        }
        const override = overrides.find((o) => o.count > 0 && o.match.test(`${method} ${path}${parsed.search}`));
        if (override) {
          override.count -= 1;
          requests.push({ method, path, body, status: 0 });
          res.removeHeader('content-type');
          await override.respond(res, parsed);
          return;
        }
        const failure = failures.find((f) => !f.match || f.match.test(`${method} ${path}`));
        if (failure && !failure.afterApplying) {
          failures.splice(failures.indexOf(failure), 1);
          for (const [k, v] of Object.entries(failure.headers ?? {})) res.setHeader(k, v);
          throw new HttpError(failure.status, failure.message ?? 'You have exceeded a secondary rate limit.');
        }
        const route = routes.find(([m, re]) => m === method && re.test(path));
        if (!route) throw new HttpError(404, 'Not Found');
        const match = route[1].exec(path)!.slice(1);
        [status, payload] = await route[2](match, { res, query: parsed.searchParams, path: prefix + path, body });
        if (failure) {
          // Applied; the answer is lost on the way back (a 502 from GitHub's front end).
          failures.splice(failures.indexOf(failure), 1);
          throw new HttpError(failure.status, failure.message ?? 'Server Error');
        }
      } catch (error) {
        status = error instanceof HttpError ? error.status : 500;
        const errors = error instanceof HttpError && error.errors ? { errors: error.errors } : {};
        payload = { message: (error as Error).message, ...errors, documentation_url: 'https://docs.github.com/rest', status: String(status) };
      }
      let text = status === 204 ? undefined : JSON.stringify(payload);
      if (method === 'GET' && status === 200) {
        // Conditional requests: GitHub sends an ETag with every GET and answers 304 (not
        // counted against the rate limit) when If-None-Match names it.
        const etag = `W/"${createHash('sha256').update(`${String(res.getHeader('link') ?? '')}\n${text}`).digest('hex').slice(0, 32)}"`;
        res.setHeader('etag', etag);
        if (req.headers['if-none-match'] === etag) {
          status = 304;
          text = undefined;
        }
      }
      requests.push({ method, path, body, status });
      const used = requests.filter((r) => r.status !== 304).length;
      if (!res.hasHeader('x-ratelimit-remaining')) {
        res.setHeader('x-ratelimit-used', String(used));
        res.setHeader('x-ratelimit-remaining', String(Math.max(0, 5000 - used)));
      }
      res.statusCode = status;
      res.end(text);
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}${prefix}`;

  return {
    url,
    token,
    botLogin,
    requests,
    addRepo({ owner, name, bare, defaultBranch = 'main' }) {
      const repo: FakeRepo = { owner, name, bare, defaultBranch, permissions: new Map([[botLogin, 'write']]) };
      repos.set(`${owner}/${name}`, repo);
      pulls.set(`${owner}/${name}`, []);
      return repo;
    },
    setPermission(full, login, role) {
      repoOf(full).permissions.set(login, role);
    },
    openPull(full, p) {
      repoOf(full);
      const list = pulls.get(full)!;
      const number = list.length + 1;
      list.push({
        number,
        title: p.title,
        body: p.body ?? null,
        user: p.user,
        head: p.head,
        base: p.base ?? 'main',
        draft: p.draft ?? false,
        forkDeleted: p.forkDeleted ?? false,
        ...(p.fork ? { fork: p.fork } : {}),
        labels: [],
        state: 'open',
        merged: false,
        mergedAt: null,
        mergeCommit: null,
        createdAt: tick(),
        reviews: [],
        comments: [],
        events: [],
      });
      return number;
    },
    async review(full, number, r) {
      const repo = repoOf(full);
      const pull = pullOf(full, number);
      const commitId = r.commitId ?? (await refresh(repo, pull)).head;
      const review = clone(REVIEW);
      const id = nextId();
      Object.assign(review, {
        id,
        user: user(r.user),
        body: '',
        commit_id: commitId,
        submitted_at: tick(),
        state: r.state,
        html_url: `https://github.example/${full}/pull/${number}#pullrequestreview-${id}`,
        pull_request_url: `${url}/repos/${full}/pulls/${number}`,
        author_association: permissionOf(repo, r.user) === 'read' ? 'CONTRIBUTOR' : 'MEMBER',
      });
      pull.reviews.push(review);
      return commitId;
    },
    comment(full, number, login, body) {
      return addComment(full, number, login, body).id as number;
    },
    label(full, number, label, actor) {
      const pull = pullOf(full, number);
      if (!pull.labels.includes(label)) pull.labels.push(label);
      pull.events.push(issueEvent('labeled', actor, label));
    },
    failNext(...list) {
      failures.push(...list);
    },
    override(match, respond, count = Infinity) {
      overrides.push({ match, respond, count });
    },
    clearOverrides() {
      overrides.length = 0;
    },
    unlabel(full, number, label, actor) {
      const pull = pullOf(full, number);
      pull.labels = pull.labels.filter((x) => x !== label);
      pull.events.push(issueEvent('unlabeled', actor, label));
    },
    protect(full, branch, protection) {
      const repo = repoOf(full);
      protections.set(`${full}:${branch}`, protection);
      installProtectionHook(repo);
    },
    counted() {
      return requests.filter((r) => r.status !== 304);
    },
    statuses(full, sha) {
      return statuses.get(`${full}@${sha}`) ?? [];
    },
    comments(full, number) {
      return pullOf(full, number).comments;
    },
    async pull(full, number) {
      const pull = pullOf(full, number);
      await refresh(repoOf(full), pull);
      return pull;
    },
    async headSha(full, number) {
      return (await refresh(repoOf(full), pullOf(full, number))).head;
    },
    close() {
      return new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
    },
  };
}
