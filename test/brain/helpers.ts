/**
 * Shared pieces of the brain's tests: real payloads (@octokit/webhooks-examples; Launchpad's
 * documented shapes), signing as the forges do, a loopback HTTP client, a config.
 */
import { createHmac } from 'node:crypto';
import { request, Agent } from 'node:http';
import { createRequire } from 'node:module';
import { brainConfigSchema, type BrainConfig } from '../../brain/index.js';

const require = createRequire(import.meta.url);
const examples = require('@octokit/webhooks-examples') as { name: string; examples: Record<string, unknown>[] }[];

export const GITHUB_SECRET = "It's a Secret to Everybody";
export const LAUNCHPAD_SECRET = 'launchpad-webhook-secret-for-tests';
export const JENKINS = { user: 'byoci-brain', token: '11aa22bb33cc44dd55ee66ff77889900aa' };

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export function example(event: string, action?: string): Json {
  const found = examples.find((e) => e.name === event)?.examples.find((e) => action === undefined || e.action === action);
  if (!found) throw new Error(`no ${event}/${action} example in @octokit/webhooks-examples`);
  return JSON.parse(JSON.stringify(found)) as Json;
}

/** The real `pull_request_review` submitted payload, turned into an approval (the package has none). */
export function approval(options: { repo?: string; number?: number; base?: string } = {}): Json {
  const p = example('pull_request_review', 'submitted');
  p.review.state = 'approved';
  if (options.repo) p.repository.full_name = options.repo;
  if (options.number !== undefined) p.pull_request.number = options.number;
  if (options.base) p.pull_request.base.ref = options.base;
  return p;
}

/** A real `push` payload to `branch` with head `after`. */
export function push(options: { repo?: string; branch: string; after: string; pad?: number }): Json {
  const p = example('push');
  p.ref = `refs/heads/${options.branch}`;
  p.after = options.after;
  p.deleted = false;
  if (options.repo) p.repository.full_name = options.repo;
  if (options.pad) p.byoci_padding = 'x'.repeat(options.pad);
  return p;
}

export function githubHeaders(event: string, delivery: string, body: string, secret = GITHUB_SECRET): Record<string, string> {
  return {
    'content-type': 'application/json',
    'x-github-event': event,
    'x-github-delivery': delivery,
    'x-hub-signature': `sha1=${createHmac('sha1', secret).update(body).digest('hex')}`,
    'x-hub-signature-256': `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`,
    'user-agent': 'GitHub-Hookshot/044aadd',
  };
}

/** Launchpad's merge-proposal:0.1 payload (help.launchpad.net/API/Webhooks) for an approval. */
export function lpApproval(mp = '/~alice/brz/+git/brz/+merge/101'): Json {
  const state = (status: string) => ({
    queue_status: status,
    commit_message: 'Fix the frobnicator',
    description: null,
    source_git_repository: '/~alice/brz/+git/brz',
    source_git_path: 'refs/heads/fix',
    target_git_repository: '/~brz/brz/+git/brz',
    target_git_path: 'refs/heads/master',
    prerequisite_git_repository: null,
    prerequisite_git_path: null,
  });
  return { merge_proposal: mp, action: 'modified', old: state('Needs review'), new: state('Approved') };
}

export function launchpadHeaders(event: string, delivery: string, body: string, secret = LAUNCHPAD_SECRET): Record<string, string> {
  return {
    'content-type': 'application/json',
    'x-launchpad-event-type': event,
    'x-launchpad-delivery': delivery,
    'x-hub-signature': `sha1=${createHmac('sha1', secret).update(body).digest('hex')}`,
    'user-agent': 'launchpad.net-Webhooks/0.1',
  };
}

export interface Answer {
  status: number;
  body: string;
  headers: Record<string, string | string[] | undefined>;
}

const agent = new Agent({ keepAlive: true, maxSockets: 32 });

/** One real HTTP request over loopback. */
export function http(url: string, options: { method?: string; headers?: Record<string, string>; body?: string | Buffer; agent?: Agent | false } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: options.method ?? 'GET', headers: options.headers ?? {}, agent: options.agent ?? agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), headers: res.headers }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

export function postGithub(base: string, event: string, delivery: string, payload: Json | string, secret = GITHUB_SECRET): Promise<Answer> {
  const body = typeof payload === 'string' ? payload : JSON.stringify(payload);
  return http(new URL('hooks/github', base).toString(), { method: 'POST', headers: githubHeaders(event, delivery, body, secret), body });
}

export function postLaunchpad(base: string, event: string, delivery: string, payload: Json | string, secret = LAUNCHPAD_SECRET): Promise<Answer> {
  const body = typeof payload === 'string' ? payload : JSON.stringify(payload);
  return http(new URL('hooks/launchpad', base).toString(), { method: 'POST', headers: launchpadHeaders(event, delivery, body, secret), body });
}

/** Land job of Hello-World and brz, a test job per push: the rules of most tests. */
export function rulesFor(): unknown[] {
  return [
    {
      name: 'hello-land',
      on: ['pr-approved', 'pr-labelled', 'pr-command', 'remote-ci'],
      source: 'github',
      repo: 'Codertocat/Hello-World',
      branch: 'master',
      label: 'byoci:land',
      job: 'hello-land',
      land: true,
      params: { REASON: '${summary}' },
    },
    { name: 'hello-push', on: ['push'], source: 'github', repo: 'Codertocat/Hello-World', job: 'hello-test', params: { SOURCE: '${repo}', BRANCH: '${branch}', REVISION: '${revision}' } },
    { name: 'brz-land', on: ['proposal-approved'], source: 'launchpad', repo: 'lp:~brz/brz/+git/brz', branch: 'master', job: 'brz-land', land: true, params: { PROPOSAL: '${proposal}' } },
  ];
}

export const JOBS: { name: string; params: Record<string, string> }[] = [
  { name: 'hello-land', params: { BYOCI_DECISION: '', REASON: '' } },
  { name: 'hello-test', params: { BYOCI_DECISION: '', SOURCE: '', BRANCH: '', REVISION: '' } },
  { name: 'brz-land', params: { BYOCI_DECISION: '', PROPOSAL: '' } },
];

export function config(jenkinsUrl: string, extra: Record<string, unknown> = {}): BrainConfig {
  return brainConfigSchema.parse({
    listen: { host: '127.0.0.1', port: 0 },
    coalesce: '500ms',
    jenkins: { url: jenkinsUrl, user: JENKINS.user, timeout: '2s', retryMin: '20ms', retryMax: '200ms', ...((extra.jenkins as object) ?? {}) },
    rules: rulesFor(),
    ...Object.fromEntries(Object.entries(extra).filter(([k]) => k !== 'jenkins')),
  });
}

export async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
