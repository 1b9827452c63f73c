/**
 * Launchpad webhook deliveries, for the brain (a later issue): verify `X-Hub-Signature`
 * (HMAC-SHA1 of the raw body, compared in constant time), then parse the events a
 * landing bot cares about. Payloads carry no votes and no reviewed revision: whoever
 * receives `merge-proposal:0.1` re-reads the proposal through the API.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const WEBHOOK_EVENTS = ['merge-proposal:0.1', 'git:push:0.1', 'bzr:push:0.1', 'ci:build:0.1', 'ping'] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENTS)[number];

/** Values of a merge proposal in `old`/`new` (more keys may appear without a version bump). */
export interface MergeProposalState {
  queue_status?: string;
  commit_message?: string | null;
  description?: string | null;
  source_git_repository?: string | null;
  source_git_path?: string | null;
  target_git_repository?: string | null;
  target_git_path?: string | null;
  prerequisite_git_repository?: string | null;
  prerequisite_git_path?: string | null;
  source_branch?: string | null;
  target_branch?: string | null;
  prerequisite_branch?: string | null;
  [key: string]: unknown;
}

export type WebhookEvent =
  | {
      type: 'merge-proposal:0.1';
      delivery: string;
      /** url-path of the proposal, e.g. `/~alice/brz/+git/brz/+merge/1`. */
      mergeProposal: string;
      action: 'created' | 'modified' | 'deleted' | string;
      old?: MergeProposalState;
      new?: MergeProposalState;
    }
  | {
      type: 'git:push:0.1';
      delivery: string;
      repository: string;
      repositoryPath: string;
      /** Ref → tip before and after (null when the ref was created or deleted). */
      refChanges: Record<string, { old: string | null; new: string | null }>;
    }
  | { type: 'bzr:push:0.1'; delivery: string; branch: string; branchPath: string; old: string | null; new: string | null }
  | {
      /** Launchpad CI (a Git repository's .launchpad.yaml jobs): any status change of a build. */
      type: 'ci:build:0.1';
      delivery: string;
      /** url-path of the CI build. */
      build: string;
      /** `created` or `status-changed` (documented values; others are passed on as they come). */
      action: string;
      /** url-path of the repository, e.g. `/~brz/brz/+git/brz`. */
      repository: string;
      commitSha1: string;
      /** The build's status, e.g. `Successfully built` (see CI_BUILD_FINAL). */
      status: string;
    }
  | { type: 'ping'; delivery: string };

/**
 * The documented statuses of a CI build after which it will not change by itself (help.launchpad.net
 * API/Webhooks, `ci:build:0.1`), and whether each is a success. "Needs building", "Currently
 * building", "Uploading build", "Cancelling build" and "Dependency wait" (Launchpad retries
 * those builds when the dependency appears) are not final; a status Launchpad adds later is
 * not known here and counts as not final.
 */
export const CI_BUILD_FINAL: Readonly<Record<string, 'success' | 'failure'>> = {
  'Successfully built': 'success',
  'Failed to build': 'failure',
  'Chroot problem': 'failure',
  'Build for superseded Source': 'failure',
  'Failed to upload': 'failure',
  'Cancelled build': 'failure',
};

/**
 * Whether a CI build with this status is finished, and how (CI_BUILD_FINAL); undefined for a
 * status that is not final or not known. Only the table's own keys count: a status such as
 * `constructor` or `__proto__` must not find Object.prototype's members.
 */
export function ciBuildConclusion(status: string): 'success' | 'failure' | undefined {
  return Object.hasOwn(CI_BUILD_FINAL, status) ? CI_BUILD_FINAL[status] : undefined;
}

/** A delivery to refuse; `status` is what the receiver should answer. */
export class WebhookError extends Error {
  override readonly name = 'WebhookError';
  constructor(
    message: string,
    readonly status: 400 | 401,
  ) {
    super(message);
  }
}

/** A header as received: an array when it came more than once (never acceptable for a signature). */
function rawHeader(headers: Record<string, string | string[] | undefined>, name: string): string | string[] | undefined {
  const wanted = name.toLowerCase();
  const found = Object.entries(headers).filter(([k]) => k.toLowerCase() === wanted);
  if (found.length > 1) return found.flatMap(([, v]) => v ?? []);
  return found[0]?.[1];
}

function header(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [k, v] of Object.entries(headers)) {
    if (k.toLowerCase() === wanted) return Array.isArray(v) ? v[0] : v;
  }
  return undefined;
}

/** `sha1=<hex>` of the body with `secret`, as Launchpad signs it. */
export function signBody(secret: string, body: string | Buffer): string {
  return `sha1=${createHmac('sha1', secret).update(body).digest('hex')}`;
}

/**
 * True when `signature` is exactly `sha1=` and the lowercase hex HMAC-SHA1 of the raw
 * body bytes with `secret` (no other case, no whitespace, no second header); constant
 * time. An empty secret is refused: anyone could sign with it.
 */
export function verifySignature(secret: string, body: string | Buffer, signature: string | string[] | undefined): boolean {
  if (!secret) throw new Error('Launchpad webhook secret is empty: anyone could sign deliveries with it; set a secret');
  if (typeof signature !== 'string' || signature === '') return false;
  const expected = Buffer.from(signBody(secret, body), 'utf8');
  const given = Buffer.from(signature, 'utf8');
  if (given.length !== expected.length) {
    // Compare anyway so that a wrong length costs the same time as a wrong value.
    timingSafeEqual(expected, expected);
    return false;
  }
  return timingSafeEqual(expected, given);
}

function obj(v: unknown, what: string): Record<string, unknown> {
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new WebhookError(`${what} is not an object`, 400);
  return v as Record<string, unknown>;
}

function text(o: Record<string, unknown>, key: string, event: string): string {
  const v = o[key];
  if (typeof v !== 'string' || v === '') throw new WebhookError(`${event} payload lacks ${key}`, 400);
  return v;
}

function sha(v: unknown, key: string): string | null {
  if (v === null || v === undefined) return null;
  const o = obj(v, 'a revision');
  const value = o[key];
  return typeof value === 'string' ? value : null;
}

/**
 * Verifies and parses one delivery. `body` is the raw request body (the signature covers
 * those bytes, not a re-serialisation). With a `secret`, an unsigned or badly signed
 * delivery is refused (401); unknown event types are refused (400).
 */
export function parseWebhook(
  headers: Record<string, string | string[] | undefined>,
  body: string | Buffer,
  secret: string | undefined,
): WebhookEvent {
  if (secret !== undefined && !verifySignature(secret, body, rawHeader(headers, 'x-hub-signature'))) {
    throw new WebhookError('X-Hub-Signature is missing or does not match the body', 401);
  }
  const type = header(headers, 'x-launchpad-event-type');
  if (!type) throw new WebhookError('X-Launchpad-Event-Type header missing', 400);
  if (!(WEBHOOK_EVENTS as readonly string[]).includes(type)) {
    throw new WebhookError(`unsupported Launchpad event type ${JSON.stringify(type)} (handled: ${WEBHOOK_EVENTS.join(', ')})`, 400);
  }
  const delivery = header(headers, 'x-launchpad-delivery') ?? '';
  let payload: Record<string, unknown>;
  try {
    payload = obj(JSON.parse(Buffer.isBuffer(body) ? body.toString('utf8') : body), `${type} payload`);
  } catch (e) {
    if (e instanceof WebhookError) throw e;
    throw new WebhookError(`${type} payload is not JSON: ${(e as Error).message}`, 400);
  }
  switch (type as WebhookEventType) {
    case 'ping':
      return { type: 'ping', delivery };
    case 'merge-proposal:0.1':
      return {
        type: 'merge-proposal:0.1',
        delivery,
        mergeProposal: text(payload, 'merge_proposal', type),
        action: text(payload, 'action', type),
        old: payload.old ? (obj(payload.old, 'old') as MergeProposalState) : undefined,
        new: payload.new ? (obj(payload.new, 'new') as MergeProposalState) : undefined,
      };
    case 'git:push:0.1': {
      const changes = obj(payload.ref_changes ?? {}, 'ref_changes');
      // Object.fromEntries defines each ref as an own property: a ref named `__proto__` in the
      // payload stays a ref (assigning it would set the object's prototype to the change).
      const refChanges: Record<string, { old: string | null; new: string | null }> = Object.fromEntries(
        Object.entries(changes).map(([ref, change]) => {
          const c = obj(change, `ref_changes[${JSON.stringify(ref)}]`);
          return [ref, { old: sha(c.old, 'commit_sha1'), new: sha(c.new, 'commit_sha1') }];
        }),
      );
      return {
        type: 'git:push:0.1',
        delivery,
        repository: text(payload, 'git_repository', type),
        repositoryPath: text(payload, 'git_repository_path', type),
        refChanges,
      };
    }
    case 'ci:build:0.1':
      return {
        type: 'ci:build:0.1',
        delivery,
        build: text(payload, 'build', type),
        action: text(payload, 'action', type),
        repository: text(payload, 'git_repository', type),
        commitSha1: text(payload, 'commit_sha1', type),
        status: text(payload, 'status', type),
      };
    case 'bzr:push:0.1':
      return {
        type: 'bzr:push:0.1',
        delivery,
        branch: text(payload, 'bzr_branch', type),
        branchPath: text(payload, 'bzr_branch_path', type),
        old: sha(payload.old, 'revision_id'),
        new: sha(payload.new, 'revision_id'),
      };
  }
}
