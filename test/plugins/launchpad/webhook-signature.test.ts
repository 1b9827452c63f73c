/**
 * Webhook signatures, exactly (issue 12, item 9): Launchpad's `X-Hub-Signature` is
 * `sha1=` + the lowercase hex HMAC-SHA1 of the raw bytes, nothing else; an empty secret
 * is refused. GitHub's `X-Hub-Signature-256` covers the raw bytes, not the decoded text;
 * a handler without a secret is a startup error.
 */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, test } from 'node:test';
import { parseWebhook, verifySignature as launchpadVerify, WebhookError } from '../../../plugins/launchpad/webhooks.js';
import { receiveWebhook, verifySignature as githubVerify, webhookHandler } from '../../../plugins/github/webhooks.js';

const SECRET = 'webhook-secret-for-tests';
const body = Buffer.from('{"git_repository": "/~brz/brz/+git/brz", "note": "caf\u00e9"}');
const hex = (alg: string, data: Buffer | string, secret = SECRET) => createHmac(alg, secret).update(data).digest('hex');

describe('webhook signatures', () => {
  test('Launchpad: only the exact lowercase sha1=<hex> of the raw bytes is accepted', () => {
    const good = `sha1=${hex('sha1', body)}`;
    assert.equal(launchpadVerify(SECRET, body, good), true);
    for (const bad of [good.toUpperCase(), `SHA1=${hex('sha1', body)}`, `sha1=${hex('sha1', body).toUpperCase()}`, ` ${good}`, `${good}\n`, `${good} `, [good], [good, good], '', undefined]) {
      assert.equal(launchpadVerify(SECRET, body, bad as never), false, JSON.stringify(bad));
    }
    const headers = { 'X-Launchpad-Event-Type': 'ping', 'X-Launchpad-Delivery': '1', 'X-Hub-Signature': [good, good] };
    assert.throws(() => parseWebhook(headers, body, SECRET), (e: unknown) => e instanceof WebhookError && e.status === 401);
  });

  test('Launchpad: an empty secret is refused, not used to check signatures', () => {
    const headers = { 'X-Launchpad-Event-Type': 'ping', 'X-Launchpad-Delivery': '1', 'X-Hub-Signature': `sha1=${hex('sha1', body, '')}` };
    assert.throws(() => parseWebhook(headers, body, ''), /secret is empty/);
  });

  test('GitHub: the signature covers the raw bytes; invalid UTF-8 signed correctly is accepted, a signature of the decoded text is not', async () => {
    const raw = Buffer.concat([Buffer.from('{"zen": "caf'), Buffer.from([0xe9]), Buffer.from('", "hook_id": 1}')]);
    assert.equal(await githubVerify(SECRET, raw, `sha256=${hex('sha256', raw)}`), true);
    assert.equal(await githubVerify(SECRET, raw, `sha256=${hex('sha256', raw.toString('utf8'))}`), false);
    const event = await receiveWebhook({ secret: SECRET, headers: { 'x-github-event': 'ping', 'x-github-delivery': 'd1', 'x-hub-signature-256': `sha256=${hex('sha256', raw)}` }, body: raw });
    assert.equal(event.event, 'ping');
    await assert.rejects(
      receiveWebhook({ secret: SECRET, headers: { 'x-github-event': 'ping', 'x-hub-signature-256': `sha256=${hex('sha256', raw.toString('utf8'))}` }, body: raw }),
      /does not match the body/,
    );
  });

  test('GitHub: webhookHandler({ secret: "" }) is a startup error', () => {
    assert.throws(() => webhookHandler({ secret: '', onEvent: () => undefined }), /secret is empty/);
  });
});
