/**
 * Webhooks: X-Hub-Signature-256 verification (GitHub's documented test vector, forged and
 * missing signatures) and the normalised events, from real example payloads.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { describe, test } from 'node:test';
import { sign } from '@octokit/webhooks-methods';
import { WebhookError, receiveWebhook, verifySignature, webhookHandler } from '../../../plugins/github/webhooks.js';

const require = createRequire(import.meta.url);
const examples = require('@octokit/webhooks-examples') as { name: string; examples: Record<string, unknown>[] }[];
function example(event: string, action?: string): Record<string, unknown> {
  const found = examples.find((e) => e.name === event)?.examples.find((e) => action === undefined || e.action === action);
  assert.ok(found, `${event} example`);
  return found;
}

const SECRET = 'webhook secret for tests';

async function deliver(event: string, payload: unknown, secret = SECRET) {
  const body = JSON.stringify(payload);
  return receiveWebhook({
    secret: SECRET,
    headers: {
      'X-GitHub-Event': event,
      'X-GitHub-Delivery': '72d3162e-cc78-11e3-81ab-4c9367dc0958',
      'X-Hub-Signature-256': await sign(secret, body),
      'Content-Type': 'application/json',
    },
    body: Buffer.from(body),
  });
}

describe('github webhooks: signatures', () => {
  test("GitHub's documented test vector verifies", async () => {
    const secret = "It's a Secret to Everybody";
    const good = 'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17';
    assert.equal(await verifySignature(secret, 'Hello, World!', good), true);
    assert.equal(await verifySignature(secret, 'Hello, World?', good), false);
    assert.equal(await verifySignature('another secret', 'Hello, World!', good), false);
  });

  test('a delivery signed with another secret is refused with 401', async () => {
    await assert.rejects(deliver('push', example('push'), 'forger'), (error: unknown) => {
      assert.ok(error instanceof WebhookError);
      assert.equal(error.status, 401);
      assert.match(error.message, /does not match the body/);
      return true;
    });
  });

  test('a body changed after signing is refused', async () => {
    const body = JSON.stringify(example('push'));
    const signature = await sign(SECRET, body);
    await assert.rejects(
      receiveWebhook({
        secret: SECRET,
        headers: { 'x-github-event': 'push', 'x-hub-signature-256': signature },
        body: body.replace('"refs/', '"refs/x'),
      }),
      (e: unknown) => e instanceof WebhookError && e.status === 401,
    );
  });

  test('a delivery without signature, or with only the SHA-1 one, is refused', async () => {
    const body = JSON.stringify(example('ping'));
    await assert.rejects(
      receiveWebhook({ secret: SECRET, headers: { 'x-github-event': 'ping', 'x-hub-signature': 'sha1=0000' }, body }),
      /missing X-Hub-Signature-256/,
    );
  });

  test('a signed body that is not JSON is a 400 naming the event', async () => {
    const body = 'not json';
    await assert.rejects(
      receiveWebhook({ secret: SECRET, headers: { 'x-github-event': 'push', 'x-hub-signature-256': await sign(SECRET, body) }, body }),
      (e: unknown) => e instanceof WebhookError && e.status === 400 && /push delivery: body is not JSON/.test(e.message),
    );
  });
});

describe('github webhooks: events', () => {
  test('pull_request (labeled) names the PR, its head, base and the label', async () => {
    const payload = example('pull_request', 'labeled');
    const pr = payload.pull_request as { number: number; head: { sha: string }; base: { ref: string } };
    const event = await deliver('pull_request', payload);
    assert.equal(event.event, 'pull_request');
    assert.ok(event.event === 'pull_request');
    assert.equal(event.action, 'labeled');
    assert.equal(event.repo, 'Codertocat/Hello-World');
    assert.equal(event.number, pr.number);
    assert.equal(event.headSha, pr.head.sha);
    assert.equal(event.baseRef, pr.base.ref);
    assert.equal(event.label, (payload.label as { name: string }).name);
    assert.equal(event.delivery, '72d3162e-cc78-11e3-81ab-4c9367dc0958');
  });

  test('pull_request_review gives the review state in REST vocabulary and its commit', async () => {
    const payload = example('pull_request_review', 'submitted');
    const review = payload.review as { state: string; commit_id: string; user: { login: string } };
    const event = await deliver('pull_request_review', payload);
    assert.ok(event.event === 'pull_request_review');
    assert.equal(event.state, review.state.toUpperCase());
    assert.equal(event.commitId, review.commit_id);
    assert.equal(event.reviewer, review.user.login);
    const pr = payload.pull_request as { number: number; head: { sha: string }; base: { ref: string } };
    assert.deepEqual([event.number, event.headSha, event.baseRef], [pr.number, pr.head.sha, pr.base.ref]);
  });

  test('issue_comment carries the author, body and whether the issue is a PR', async () => {
    const payload = example('issue_comment', 'created');
    const event = await deliver('issue_comment', payload);
    assert.ok(event.event === 'issue_comment');
    assert.equal(event.author, (payload.comment as { user: { login: string } }).user.login);
    assert.equal(event.body, (payload.comment as { body: string }).body);
    assert.equal(event.isPullRequest, Boolean((payload.issue as { pull_request?: unknown }).pull_request));
  });

  test('check_run, status and push', async () => {
    const cr = await deliver('check_run', example('check_run', 'completed'));
    assert.ok(cr.event === 'check_run');
    assert.equal(cr.headSha, (example('check_run', 'completed').check_run as { head_sha: string }).head_sha);
    assert.deepEqual(cr.pullRequests, (example('check_run', 'completed').check_run as { pull_requests: { number: number }[] }).pull_requests.map((p) => p.number));

    const statusPayload = example('status');
    const st = await deliver('status', statusPayload);
    assert.ok(st.event === 'status');
    assert.equal(st.sha, statusPayload.sha);
    assert.equal(st.state, statusPayload.state);
    assert.equal(st.context, statusPayload.context);

    const pushPayload = example('push');
    const push = await deliver('push', pushPayload);
    assert.ok(push.event === 'push');
    assert.equal(push.ref, pushPayload.ref);
    assert.equal(push.after, pushPayload.after);
    assert.equal(push.forced, pushPayload.forced === true);
  });

  test('other events are verified but ignored; a payload missing a field says which', async () => {
    const star = await deliver('star', example('star'));
    assert.deepEqual(star, { event: 'ignored', name: 'star', delivery: '72d3162e-cc78-11e3-81ab-4c9367dc0958' });
    const broken = structuredClone(example('pull_request', 'opened')) as { pull_request: { head: Record<string, unknown> } };
    delete broken.pull_request.head.sha;
    await assert.rejects(deliver('pull_request', broken), /pull_request\.pull_request\.head\.sha: expected a string/);
    const brokenReview = structuredClone(example('pull_request_review', 'submitted')) as { pull_request: { base: Record<string, unknown> } };
    delete brokenReview.pull_request.base.ref;
    await assert.rejects(deliver('pull_request_review', brokenReview), /pull_request_review\.pull_request\.base\.ref: expected a string/);
  });
});

describe('github webhooks: HTTP handler', () => {
  test('over real HTTP on loopback: a signed delivery is accepted, a forged one refused with 401', async () => {
    const seen: string[] = [];
    const refused: string[] = [];
    const handler = webhookHandler({
      secret: SECRET,
      onEvent: (e) => {
        seen.push(e.event === 'ignored' ? `ignored ${e.name}` : `${e.event} ${e.repo}`);
      },
      onRefused: (e) => refused.push(e.message),
    });
    const server = createServer((req, res) => void handler(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    try {
      const body = JSON.stringify(example('push'));
      const post = (signature: string) =>
        fetch(`http://127.0.0.1:${port}/hooks/github`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-github-event': 'push', 'x-hub-signature-256': signature },
          body,
        });
      const good = await post(await sign(SECRET, body));
      assert.equal(good.status, 202);
      const forged = await post(await sign('guessed secret', body));
      assert.equal(forged.status, 401);
      assert.match(await forged.text(), /does not match the body/);
      const get = await fetch(`http://127.0.0.1:${port}/hooks/github`);
      assert.equal(get.status, 405);
      assert.deepEqual(seen, ['push Codertocat/Hello-World'], 'only the genuine delivery reaches the brain');
      assert.equal(refused.length, 1);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
