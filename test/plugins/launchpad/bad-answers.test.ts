/**
 * Junk from Launchpad is Launchpad's fault (issue 12, items 2 and 3): a wrong-shaped answer
 * is an internal error naming the resource and what was expected, the proposal keeps its
 * status and nothing is posted, the other proposals go on; every read is bounded in size,
 * pages and origin. Against the local Launchpad, with the answers overridden.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { ForgeAnswerError } from '../../../core/errors.js';
import { LaunchpadClient } from '../../../plugins/launchpad/client.js';
import type { LaunchpadServer } from '../../support/launchpad-server.js';
import { endless, gzipBomb, json, neverEndingPages, otherOrigin, redirect, text } from '../../support/junk.js';
import { CREDENTIALS, discover, FORK, harness, idOf, startLaunchpad, TRUNK } from './helpers.js';

const REV = 'c'.repeat(40);
const RAW_JS = /Cannot read properties|Unexpected token|is not a function|is not iterable|undefined is not|null is not/;

describe('launchpad: junk answers', () => {
  let lp: LaunchpadServer;
  let a: number;
  let b: number;
  before(async () => {
    lp = await startLaunchpad();
    lp.addPerson('maintainer');
    lp.repos.get(TRUNK)!.trusted.add('maintainer');
    for (const [name, reviewer] of [['a', 'reviewer'], ['b', 'maintainer']] as const) {
      lp.setRef(FORK, name, REV);
      const p = lp.addProposal({ source: { git: FORK, path: name }, target: { git: TRUNK, path: 'master' }, commitMessage: `Land ${name}` });
      lp.approve(p.id, REV);
      lp.vote(p.id, reviewer, 'Approve');
      if (name === 'a') a = p.id;
      else b = p.id;
    }
  });
  after(() => lp.close());
  beforeEach(() => lp.clearOverrides());

  async function discovered() {
    const h = await harness(lp);
    try {
      const before = lp.requests.length;
      const found = await discover(h);
      return { found, posts: lp.requests.slice(before).filter((r) => r.method === 'POST') };
    } finally {
      h.cleanup();
    }
  }

  test('isPersonTrustedReviewer answering null: the proposal waits on an internal error, nothing is posted, the other is ready', async () => {
    lp.override(/ws\.op=isPersonTrustedReviewer.*maintainer/, json(200, null));
    const { found, posts } = await discovered();
    assert.deepEqual(found.get(idOf(lp, a))?.readiness, { state: 'ready' });
    const waiting = found.get(idOf(lp, b))?.readiness;
    assert.ok(waiting?.state === 'waiting' && waiting.internal === true, JSON.stringify(waiting));
    assert.match(waiting.reason, /^internal error, not the proposal's fault: Launchpad answered GET ~brz-team\/brz\/\+git\/brz \(ws\.op=isPersonTrustedReviewer\) with something byoci cannot use: expected true or false, got null$/);
    assert.deepEqual(posts, []);
    assert.equal(lp.proposal(b).status, 'Approved');
    assert.deepEqual(lp.botComments(b), []);
  });

  test('an HTML page with status 200, entries: [null] and a vote without its comment are named, never raw JavaScript errors', async () => {
    const cases: Array<[RegExp, Parameters<LaunchpadServer['override']>[1], RegExp]> = [
      [/\+merge\/\d+\/comments\/\d+/, text(200, '<html><body>Launchpad is down for maintenance</body></html>'), /expected JSON, got text\/html text starting "<html><body>Launchpad is down/],
      [/\/votes/, json(200, { start: 0, total_size: 1, entries: [null] }), /entries\[0\]: expected a mapping, got null/],
      [/\/votes/, json(200, { start: 0, total_size: 1, entries: [{ self_link: 'x', reviewer_link: null, is_pending: false, comment_link: null }] }), /comment_link: a vote that is not pending must link its comment/],
    ];
    for (const [match, respond, expected] of cases) {
      lp.clearOverrides();
      lp.override(match, respond);
      const { found, posts } = await discovered();
      for (const id of [a, b]) {
        const r = found.get(idOf(lp, id))?.readiness;
        assert.ok(r?.state === 'waiting' && r.internal === true, JSON.stringify(r));
        assert.match(r.reason, expected);
        assert.doesNotMatch(r.reason, RAW_JS);
      }
      assert.deepEqual(posts, []);
    }
  });

  test('a proposal answering null when the rejection is reported: nothing is posted, the status stays', async () => {
    const h = await harness(lp);
    try {
      const found = await discover(h);
      const proposal = found.get(idOf(lp, a))!;
      lp.override(new RegExp(`GET /devel/.*\\+merge/${a}$`), json(200, null));
      const before = lp.requests.length;
      // Core isolates reporters: the failure is logged, the outcome is unchanged.
      await h.hooks.report.promise({ kind: 'rejected', proposal, project: {} as never, rejection: { code: 'tests-failed', reason: 'The tests failed (exit code 1).' } });
      const logged = h.lines.filter((l) => /Launchpad answered GET .*\+merge\/\d+ with something byoci cannot use: expected a mapping, got null/.test(l));
      assert.equal(logged.length, 1, h.lines.join('\n'));
      assert.doesNotMatch(logged[0]!, RAW_JS);
      assert.deepEqual(lp.requests.slice(before).filter((r) => r.method === 'POST'), []);
      assert.equal(lp.proposal(a).status, 'Approved');
    } finally {
      h.cleanup();
    }
  });

  describe('bounded reads', () => {
    // One retry, as the client's default of 3 would: a GET sent on a kept-alive connection the
    // server is closing at that moment is reset ('read ECONNRESET', seen once under load);
    // the refusals tested here are never retried (a ForgeAnswerError ends the request).
    const client = () => new LaunchpadClient({ serviceRoot: lp.root, credentials: CREDENTIALS, retries: 1, retryDelayMs: 10, maxBytes: 1024 * 1024, maxPages: 50 });
    const refuses = (e: unknown, pattern: RegExp) => e instanceof ForgeAnswerError && pattern.test(e.message);

    test('an endless body stops at the size cap', async () => {
      lp.override(/getByPath/, endless());
      const rss = process.memoryUsage().rss;
      await assert.rejects(client().get('+git', { 'ws.op': 'getByPath', path: 'brz' }), (e) => refuses(e, /larger than the 1048576 bytes allowed/));
      assert.ok(process.memoryUsage().rss - rss < 200 * 1024 * 1024, 'memory stays bounded');
    });

    test('a gzip bomb stops at the size cap after decompression', async () => {
      lp.override(/getByPath/, gzipBomb());
      await assert.rejects(client().get('+git', { 'ws.op': 'getByPath', path: 'brz' }), (e) => refuses(e, /larger than the 1048576 bytes allowed \(after decompression\)/));
    });

    test('a collection whose next page never ends stops at the page cap', async () => {
      lp.override(/landing_candidates/, neverEndingPages());
      const before = lp.requests.length;
      await assert.rejects(
        (async () => {
          for await (const _ of client().collection('~brz-team/brz/+git/brz/+ref/master/landing_candidates'));
        })(),
        (e) => refuses(e, /the collection has more than 50 pages/),
      );
      assert.equal(lp.requests.length - before, 50);
    });

    test('a redirect to another origin is refused and its answer never used', async () => {
      const other = await otherOrigin({ self_link: 'http://elsewhere/', unique_name: 'evil' });
      try {
        lp.override(/getByPath/, redirect(`${other.url}devel/+git?ws.op=getByPath&path=brz`));
        await assert.rejects(client().get('+git', { 'ws.op': 'getByPath', path: 'brz' }), (e) => refuses(e, /a redirect to another origin \(http:\/\/localhost:\d+\) was refused/));
        assert.equal(other.hits(), 0);
      } finally {
        await other.close();
      }
    });
  });
});
