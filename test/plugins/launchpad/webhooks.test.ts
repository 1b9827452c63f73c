import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, test } from 'node:test';
import { parseWebhook, verifySignature, WebhookError } from '../../../plugins/launchpad/webhooks.js';

const secret = 'webhook-secret-for-tests';
// Payloads as Launchpad documents them (help.launchpad.net/API/Webhooks).
const mp = JSON.stringify({
  merge_proposal: '/~alice/brz/+git/brz/+merge/101',
  action: 'modified',
  old: { queue_status: 'Needs review', commit_message: null, source_git_repository: '/~alice/brz/+git/brz', source_git_path: 'refs/heads/fix' },
  new: { queue_status: 'Approved', commit_message: 'Fix it', source_git_repository: '/~alice/brz/+git/brz', source_git_path: 'refs/heads/fix' },
});
const push = JSON.stringify({
  git_repository: '/~brz/brz/+git/brz',
  git_repository_path: '~brz/brz/+git/brz',
  ref_changes: {
    'refs/heads/master': { old: { commit_sha1: 'a'.repeat(40) }, new: { commit_sha1: 'b'.repeat(40) } },
    'refs/heads/gone': { old: { commit_sha1: 'c'.repeat(40) }, new: null },
  },
});
const bzr = JSON.stringify({ bzr_branch: '/~brz/brz/trunk', bzr_branch_path: '~brz/brz/trunk', old: { revision_id: 'r1' }, new: { revision_id: 'r2' } });

function headers(type: string, body: string, signature = `sha1=${createHmac('sha1', secret).update(body).digest('hex')}`) {
  return { 'X-Launchpad-Event-Type': type, 'X-Launchpad-Delivery': '1234', 'X-Hub-Signature': signature, 'Content-Type': 'application/json' };
}

describe('Launchpad webhooks', () => {
  test('a signed merge-proposal:0.1 delivery is parsed with its old and new state', () => {
    const e = parseWebhook(headers('merge-proposal:0.1', mp), Buffer.from(mp), secret);
    assert.equal(e.type, 'merge-proposal:0.1');
    if (e.type !== 'merge-proposal:0.1') return;
    assert.equal(e.mergeProposal, '/~alice/brz/+git/brz/+merge/101');
    assert.equal(e.action, 'modified');
    assert.equal(e.new?.queue_status, 'Approved');
    assert.equal(e.delivery, '1234');
  });

  test('git:push:0.1 reports every ref change, deletions as null', () => {
    const e = parseWebhook(headers('git:push:0.1', push), push, secret);
    assert.deepEqual(e.type === 'git:push:0.1' && e.refChanges, {
      'refs/heads/master': { old: 'a'.repeat(40), new: 'b'.repeat(40) },
      'refs/heads/gone': { old: 'c'.repeat(40), new: null },
    });
  });

  test('git:push:0.1 with a ref named __proto__ keeps it as a ref: the ref changes object keeps its prototype', () => {
    // refChanges[ref] = ... with ref `__proto__` set the object's prototype to that change instead.
    const body = `{"git_repository":"/~brz/brz/+git/brz","git_repository_path":"~brz/brz/+git/brz","ref_changes":{"__proto__":{"old":null,"new":{"commit_sha1":"${'e'.repeat(40)}"}},"constructor":{"old":null,"new":null}}}`;
    const e = parseWebhook(headers('git:push:0.1', body), body, secret);
    assert.equal(e.type, 'git:push:0.1');
    if (e.type !== 'git:push:0.1') return;
    assert.equal(Object.getPrototypeOf(e.refChanges), Object.prototype);
    assert.deepEqual(Object.keys(e.refChanges), ['__proto__', 'constructor']);
    assert.deepEqual(Object.getOwnPropertyDescriptor(e.refChanges, '__proto__')?.value, { old: null, new: 'e'.repeat(40) });
    assert.equal((e.refChanges as Record<string, unknown>).new, undefined);
  });

  test('ci:build:0.1 (a Launchpad CI build changed status) is parsed with the documented keys', () => {
    // help.launchpad.net/API/Webhooks, "CI build": build, action, git_repository, commit_sha1, status.
    const body = JSON.stringify({
      build: '/~brz/brz/+git/brz/+build/7',
      action: 'status-changed',
      git_repository: '/~brz/brz/+git/brz',
      commit_sha1: 'd'.repeat(40),
      status: 'Successfully built',
    });
    assert.deepEqual(parseWebhook(headers('ci:build:0.1', body), body, secret), {
      type: 'ci:build:0.1',
      delivery: '1234',
      build: '/~brz/brz/+git/brz/+build/7',
      action: 'status-changed',
      repository: '/~brz/brz/+git/brz',
      commitSha1: 'd'.repeat(40),
      status: 'Successfully built',
    });
  });

  test('bzr:push:0.1 and ping are parsed', () => {
    const e = parseWebhook(headers('bzr:push:0.1', bzr), bzr, secret);
    assert.deepEqual(e, { type: 'bzr:push:0.1', delivery: '1234', branch: '/~brz/brz/trunk', branchPath: '~brz/brz/trunk', old: 'r1', new: 'r2' });
    const ping = '{"ping": true}';
    assert.deepEqual(parseWebhook(headers('ping', ping), ping, secret), { type: 'ping', delivery: '1234' });
  });

  test('a tampered body, a wrong or missing signature is refused with 401', () => {
    const sig = headers('merge-proposal:0.1', mp)['X-Hub-Signature'];
    const tampered = mp.replace('Approved', 'Merged');
    for (const [h, body] of [
      [headers('merge-proposal:0.1', mp, sig), tampered],
      [headers('merge-proposal:0.1', mp, 'sha1=0000'), mp],
      [{ 'X-Launchpad-Event-Type': 'ping' }, '{"ping":true}'],
    ] as const) {
      assert.throws(() => parseWebhook(h, body, secret), (e: unknown) => e instanceof WebhookError && e.status === 401);
    }
    // Exactly the lowercase hex Launchpad sends (issue 12): an upper-case copy is refused.
    assert.equal(verifySignature(secret, mp, sig.toUpperCase().replace('SHA1=', 'sha1=')), false);
  });

  test('unknown event types and broken payloads are refused with 400, naming the problem', () => {
    const build = '{"snap": "/x"}';
    assert.throws(() => parseWebhook(headers('snap:build:0.1', build), build, secret), /unsupported Launchpad event type "snap:build:0.1"/);
    const lacking = '{"build": "/x", "action": "status-changed", "git_repository": "/~brz/brz/+git/brz", "status": "Failed to build"}';
    assert.throws(() => parseWebhook(headers('ci:build:0.1', lacking), lacking, secret), /ci:build:0.1 payload lacks commit_sha1/);
    const broken = '{"action": "created"}';
    assert.throws(() => parseWebhook(headers('merge-proposal:0.1', broken), broken, secret), /merge-proposal:0.1 payload lacks merge_proposal/);
    assert.throws(() => parseWebhook(headers('ping', 'not json'), 'not json', secret), /ping payload is not JSON/);
  });
});
