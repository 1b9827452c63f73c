/**
 * GitHub webhooks for the brain: `X-Hub-Signature-256` verified with
 * node:crypto (constant time) over the raw body bytes, then the events byoci
 * acts on parsed into a small normalised shape. Anything else is `ignored`.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export type HeaderValue = string | string[] | undefined;
export type Headers = Record<string, HeaderValue>;

/** A webhook refused, with the HTTP status to answer. */
export class WebhookError extends Error {
  override readonly name = 'WebhookError';
  constructor(
    readonly status: 400 | 401,
    message: string,
  ) {
    super(message);
  }
}

interface Common {
  delivery: string;
  /** `owner/name` of the repository the event is about. */
  repo: string;
  sender: string;
}

export type WebhookEvent =
  | (Common & {
      event: 'pull_request';
      action: string;
      number: number;
      headSha: string;
      baseRef: string;
      state: string;
      draft: boolean;
      merged: boolean;
      labels: string[];
      /** The label added or removed (labeled/unlabeled). */
      label?: string;
    })
  | (Common & {
      event: 'pull_request_review';
      action: string;
      number: number;
      headSha: string;
      baseRef: string;
      reviewer: string;
      /** REST vocabulary, upper case: APPROVED, CHANGES_REQUESTED, COMMENTED, DISMISSED. */
      state: string;
      commitId: string;
    })
  | (Common & {
      event: 'issue_comment';
      action: string;
      number: number;
      isPullRequest: boolean;
      commentId: number;
      author: string;
      body: string;
    })
  | (Common & {
      event: 'check_run';
      action: string;
      headSha: string;
      name: string;
      status: string;
      conclusion: string | null;
      pullRequests: number[];
    })
  | (Common & { event: 'status'; sha: string; context: string; state: string; branches: string[] })
  | (Common & { event: 'push'; ref: string; before: string; after: string; created: boolean; deleted: boolean; forced: boolean })
  | (Common & { event: 'ping' })
  | { event: 'ignored'; name: string; delivery: string };

function one(value: HeaderValue): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function lower(headers: Headers): Headers {
  const out: Headers = {};
  for (const [k, v] of Object.entries(headers)) out[k.toLowerCase()] = v;
  return out;
}

/**
 * Whether `signature` is exactly `sha256=` and the lowercase hex HMAC-SHA256 of the raw
 * body bytes under `secret` (GitHub signs the bytes it sends, not their decoded text);
 * constant time.
 */
export async function verifySignature(secret: string, body: string | Buffer, signature: string | undefined): Promise<boolean> {
  if (!secret) throw new Error('webhook secret is empty: set the github/webhook-secret secret');
  if (!signature || body.length === 0) return false;
  const expected = Buffer.from(`sha256=${createHmac('sha256', secret).update(body).digest('hex')}`, 'utf8');
  const given = Buffer.from(signature, 'utf8');
  if (given.length !== expected.length) {
    timingSafeEqual(expected, expected);
    return false;
  }
  return timingSafeEqual(expected, given);
}

/** Verifies then parses one delivery. Throws WebhookError (401 bad signature, 400 bad payload). */
export async function receiveWebhook(input: { secret: string; headers: Headers; body: string | Buffer }): Promise<WebhookEvent> {
  const headers = lower(input.headers);
  const raw = typeof input.body === 'string' ? Buffer.from(input.body, 'utf8') : input.body;
  const received = headers['x-hub-signature-256'];
  if (Array.isArray(received) && received.length > 1) throw new WebhookError(401, 'X-Hub-Signature-256 sent more than once');
  const signature = one(received);
  if (!signature) throw new WebhookError(401, 'missing X-Hub-Signature-256 header');
  if (!(await verifySignature(input.secret, raw, signature))) {
    throw new WebhookError(401, 'X-Hub-Signature-256 does not match the body: wrong secret or forged delivery');
  }
  const name = one(headers['x-github-event']);
  if (!name) throw new WebhookError(400, 'missing X-GitHub-Event header');
  let payload: unknown;
  try {
    payload = JSON.parse(raw.toString('utf8'));
  } catch {
    throw new WebhookError(400, `${name} delivery: body is not JSON`);
  }
  return parseEvent(name, one(headers['x-github-delivery']) ?? '', payload);
}

type Json = Record<string, unknown>;

/** The events parseEvent normalises; any other is `ignored`. */
const HANDLED: ReadonlySet<string> = new Set(['pull_request', 'pull_request_review', 'issue_comment', 'check_run', 'status', 'push', 'ping']);

function obj(value: unknown, path: string): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new WebhookError(400, `${path}: expected an object`);
  return value as Json;
}
function str(value: unknown, path: string): string {
  if (typeof value !== 'string') throw new WebhookError(400, `${path}: expected a string`);
  return value;
}
function num(value: unknown, path: string): number {
  if (typeof value !== 'number') throw new WebhookError(400, `${path}: expected a number`);
  return value;
}
function bool(value: unknown): boolean {
  return value === true;
}
function login(value: unknown, path: string): string {
  return str(obj(value, path).login, `${path}.login`);
}

// Each result is one object literal: in Node 20's V8 a literal that spreads an object and then
// adds properties (`{ ...common, event }`) costs about a microsecond per added property.
/** Normalises a parsed payload of event `name`; throws WebhookError naming a missing field. */
export function parseEvent(name: string, delivery: string, payload: unknown): WebhookEvent {
  const p = obj(payload, name);
  if (!HANDLED.has(name)) return { event: 'ignored', name, delivery };
  if (name === 'ping') {
    const full = typeof p.repository === 'object' && p.repository !== null ? (p.repository as Json).full_name : undefined;
    return { event: 'ping', delivery, repo: typeof full === 'string' ? full : '', sender: '' };
  }
  const repository = obj(p.repository, `${name}.repository`);
  const repo = str(repository.full_name, `${name}.repository.full_name`);
  const sender = p.sender ? login(p.sender, `${name}.sender`) : '';
  switch (name) {
    case 'pull_request': {
      const pr = obj(p.pull_request, 'pull_request.pull_request');
      const label = p.label ? str(obj(p.label, 'pull_request.label').name, 'pull_request.label.name') : undefined;
      const event: Extract<WebhookEvent, { event: 'pull_request' }> = {
        delivery,
        repo,
        sender,
        event: 'pull_request',
        action: str(p.action, 'pull_request.action'),
        number: num(pr.number, 'pull_request.pull_request.number'),
        headSha: str(obj(pr.head, 'pull_request.pull_request.head').sha, 'pull_request.pull_request.head.sha'),
        baseRef: str(obj(pr.base, 'pull_request.pull_request.base').ref, 'pull_request.pull_request.base.ref'),
        state: str(pr.state, 'pull_request.pull_request.state'),
        draft: bool(pr.draft),
        merged: bool(pr.merged),
        labels: Array.isArray(pr.labels) ? pr.labels.map((l, i) => str(obj(l, `labels[${i}]`).name, `labels[${i}].name`)) : [],
      };
      if (label !== undefined) event.label = label;
      return event;
    }
    case 'pull_request_review': {
      const pr = obj(p.pull_request, 'pull_request_review.pull_request');
      const review = obj(p.review, 'pull_request_review.review');
      return {
        delivery,
        repo,
        sender,
        event: 'pull_request_review',
        action: str(p.action, 'pull_request_review.action'),
        number: num(pr.number, 'pull_request_review.pull_request.number'),
        headSha: str(obj(pr.head, 'pull_request_review.pull_request.head').sha, 'pull_request_review.pull_request.head.sha'),
        baseRef: str(obj(pr.base, 'pull_request_review.pull_request.base').ref, 'pull_request_review.pull_request.base.ref'),
        reviewer: login(review.user, 'pull_request_review.review.user'),
        state: str(review.state, 'pull_request_review.review.state').toUpperCase(),
        commitId: str(review.commit_id, 'pull_request_review.review.commit_id'),
      };
    }
    case 'issue_comment': {
      const issue = obj(p.issue, 'issue_comment.issue');
      const comment = obj(p.comment, 'issue_comment.comment');
      return {
        delivery,
        repo,
        sender,
        event: 'issue_comment',
        action: str(p.action, 'issue_comment.action'),
        number: num(issue.number, 'issue_comment.issue.number'),
        isPullRequest: typeof issue.pull_request === 'object' && issue.pull_request !== null,
        commentId: num(comment.id, 'issue_comment.comment.id'),
        author: login(comment.user, 'issue_comment.comment.user'),
        body: typeof comment.body === 'string' ? comment.body : '',
      };
    }
    case 'check_run': {
      const run = obj(p.check_run, 'check_run.check_run');
      const prs = Array.isArray(run.pull_requests) ? run.pull_requests : [];
      return {
        delivery,
        repo,
        sender,
        event: 'check_run',
        action: str(p.action, 'check_run.action'),
        headSha: str(run.head_sha, 'check_run.check_run.head_sha'),
        name: str(run.name, 'check_run.check_run.name'),
        status: str(run.status, 'check_run.check_run.status'),
        conclusion: typeof run.conclusion === 'string' ? run.conclusion : null,
        pullRequests: prs.map((pr, i) => num(obj(pr, `check_run.pull_requests[${i}]`).number, `check_run.pull_requests[${i}].number`)),
      };
    }
    case 'status':
      return {
        delivery,
        repo,
        sender,
        event: 'status',
        sha: str(p.sha, 'status.sha'),
        context: str(p.context, 'status.context'),
        state: str(p.state, 'status.state'),
        branches: Array.isArray(p.branches) ? p.branches.map((b, i) => str(obj(b, `status.branches[${i}]`).name, `status.branches[${i}].name`)) : [],
      };
    case 'push':
      return {
        delivery,
        repo,
        sender,
        event: 'push',
        ref: str(p.ref, 'push.ref'),
        before: str(p.before, 'push.before'),
        after: str(p.after, 'push.after'),
        created: bool(p.created),
        deleted: bool(p.deleted),
        forced: bool(p.forced),
      };
    default:
      return { event: 'ignored', name, delivery };
  }
}

/** Largest delivery GitHub sends (25 MB); anything bigger is refused unread. */
export const MAX_DELIVERY_BYTES = 25 * 1024 * 1024;

export interface WebhookRequest extends AsyncIterable<unknown> {
  headers: Headers;
  method?: string;
}

export interface WebhookResponse {
  statusCode: number;
  setHeader(name: string, value: string): unknown;
  end(body?: string): unknown;
}

/**
 * A node:http request handler for the brain: reads the raw body, verifies and parses it,
 * answers 202 and hands the event on; 401 for a bad signature, 400 for a bad payload,
 * 405 for anything but POST, 413 for a body over 25 MB.
 */
export function webhookHandler(options: {
  secret: string;
  onEvent: (event: WebhookEvent) => void | Promise<void>;
  onRefused?: (error: WebhookError) => void;
}): (req: WebhookRequest, res: WebhookResponse) => Promise<void> {
  // A handler that could never accept a delivery is a startup error, not a silent 500 later.
  if (typeof options.secret !== 'string' || options.secret === '') {
    throw new Error('webhookHandler: the webhook secret is empty: set the github/webhook-secret secret');
  }
  return async (req, res) => {
    const answer = (status: number, message: string) => {
      res.statusCode = status;
      res.setHeader('content-type', 'text/plain; charset=utf-8');
      res.end(message + '\n');
    };
    if ((req.method ?? 'POST').toUpperCase() !== 'POST') return answer(405, 'POST only');
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req) {
      const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
      size += buf.length;
      if (size > MAX_DELIVERY_BYTES) return answer(413, 'delivery too large');
      chunks.push(buf);
    }
    let event: WebhookEvent;
    try {
      event = await receiveWebhook({ secret: options.secret, headers: req.headers, body: Buffer.concat(chunks) });
    } catch (error) {
      if (!(error instanceof WebhookError)) throw error;
      options.onRefused?.(error);
      return answer(error.status, error.message);
    }
    await options.onEvent(event);
    answer(202, 'accepted');
  };
}
