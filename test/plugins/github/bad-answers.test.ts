/**
 * Junk from GitHub is GitHub's fault (issue 12, items 2 and 3): a wrong-shaped answer is an
 * internal error naming the route and what was expected; the pull request waits, nothing is
 * posted, the other pull requests go on; reads are bounded in size, pages and origin.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, test } from 'node:test';
import { ForgeAnswerError } from '../../../core/errors.js';
import { silentLogger } from '../../../core/logger.js';
import { createClient } from '../../../plugins/github/client.js';
import { missingCommands, suiteNeeds } from '../../support/components.js';
import type { Harness } from '../../support/harness.js';
import { endless, gzipBomb, json, neverEndingGithubPages, otherOrigin, redirect, text } from '../../support/junk.js';
import { REPO, discover, githubHarness, makeWorld, only, type World } from './helpers.js';

const RAW_JS = /Cannot read properties|Unexpected token|is not a function|is not iterable|Cannot use 'in' operator/;

describe('github: junk answers', suiteNeeds('git', missingCommands('git')), () => {
  let world: World;
  let h: Harness;
  let first: number;
  let second: number;
  before(async () => {
    world = await makeWorld();
    h = await githubHarness(world);
    for (const branch of ['one', 'two']) {
      const { number } = await world.openPull(branch, { [`${branch}.txt`]: `${branch}\n` });
      world.gh.label(REPO, number, 'byoci:land', branch === 'one' ? 'carol' : 'dave');
      await world.gh.review(REPO, number, { user: branch === 'one' ? 'carol' : 'dave', state: 'APPROVED' });
      if (branch === 'one') first = number;
      else second = number;
    }
  });
  after(async () => {
    h.cleanup();
    await world.close();
  });
  beforeEach(() => world.gh.clearOverrides());

  const writes = (since: number) => world.gh.requests.slice(since).filter((r) => r.method !== 'GET');

  test('a permission answer of the wrong shape: that pull request waits on an internal error, the other is ready, nothing is written', async () => {
    world.gh.override(/collaborators\/dave\/permission/, json(200, { permission: null }));
    const since = world.gh.requests.length;
    const found = await discover(h, world);
    assert.deepEqual(only(found, first).readiness, { state: 'ready' });
    const r = only(found, second).readiness;
    assert.ok(r.state === 'waiting' && r.internal === true, JSON.stringify(r));
    assert.match(r.reason, /GitHub answered GET \/repos\/\{owner\}\/\{repo\}\/collaborators\/\{username\}\/permission with something byoci cannot use: expected a permission; permission: expected a string, got null/);
    assert.deepEqual(writes(since), []);
  });

  test('an HTML page with status 200 for the reviews, and null for the pull requests, are named errors', async () => {
    world.gh.override(new RegExp(`pulls/${second}/reviews`), text(200, '<!DOCTYPE html><html>Unicorn!</html>'));
    const found = await discover(h, world);
    const r = only(found, second).readiness;
    assert.ok(r.state === 'waiting' && r.internal);
    assert.match(r.reason, /expected a list of reviews: got text starting "<!DOCTYPE html><html>Unicorn!/);
    assert.doesNotMatch(r.reason, RAW_JS);

    world.gh.clearOverrides();
    world.gh.override(/^GET \/repos\/acme\/widget\/pulls\?/, json(200, null));
    await assert.rejects(discover(h, world), (e: Error) => /expected a list of pull requests; expected a list, got null/.test(e.message) && !RAW_JS.test(e.message));
  });

  describe('bounded reads', () => {
    const client = (maxPages = 20) => createClient({ baseUrl: world.gh.url, token: world.gh.token, log: silentLogger(), maxWaitSeconds: 0, maxRetries: 0, maxBytes: 1024 * 1024, maxPages });
    const list = (c: ReturnType<typeof client>) => c.paginate(c.rest.pulls.list, { owner: 'acme', repo: 'widget', per_page: 100 });
    const refuses = (pattern: RegExp) => (e: unknown) => e instanceof ForgeAnswerError && pattern.test(e.message);

    test('an endless body and a gzip bomb stop at the size cap', async () => {
      world.gh.override(/pulls/, endless(), 1);
      await assert.rejects(list(client()), refuses(/larger than the 1048576 bytes allowed/));
      world.gh.override(/pulls/, gzipBomb(), 1);
      await assert.rejects(list(client()), refuses(/larger than the 1048576 bytes allowed \(after decompression\)/));
    });

    test('a list whose next page never ends stops at the page cap', async () => {
      world.gh.override(/pulls/, neverEndingGithubPages(world.gh.url));
      const since = world.gh.requests.length;
      await assert.rejects(list(client(20)), refuses(/a list of pull requests has more than 20 pages/));
      assert.equal(world.gh.requests.length - since, 20);
    });

    test('redirects and next-page links to another origin are refused, their answers never used', async () => {
      const other = await otherOrigin([]);
      try {
        world.gh.override(/pulls/, redirect(`${other.url}repos/acme/widget/pulls`), 1);
        await assert.rejects(list(client()), refuses(/a redirect to another origin \(http:\/\/localhost:\d+\) was refused/));
        world.gh.override(/pulls/, (res) => {
          res.writeHead(200, { 'Content-Type': 'application/json', Link: `<${other.url}repos/acme/widget/pulls?page=2>; rel="next"` });
          res.end('[]');
        }, 1);
        await assert.rejects(list(client()), refuses(/a next-page link to another origin \(http:\/\/localhost:\d+\) was refused/));
        assert.equal(other.hits(), 0);
      } finally {
        await other.close();
      }
    });

    test('a next-page link to another host written without slashes (http:host/…) is refused too; the token never leaves', async () => {
      // Octokit takes any link starting "http" as absolute; URL parsing reads http:host/path
      // and http:/host/path as http://host/path.
      const seen: string[] = [];
      const decoy = createServer((req, res) => {
        seen.push(`${req.method} ${req.url} ${req.headers.authorization ?? 'no credentials'}`);
        res.writeHead(200, { 'Content-Type': 'application/json' }).end('[]');
      });
      await new Promise<void>((resolve) => decoy.listen(0, '127.0.0.1', resolve));
      const host = `127.0.0.1:${(decoy.address() as AddressInfo).port}`;
      try {
        for (const link of [`http:${host}/repos/acme/widget/pulls?page=2`, `http:/${host}/repos/acme/widget/pulls?page=2`]) {
          world.gh.override(/pulls/, (res) => {
            res.writeHead(200, { 'Content-Type': 'application/json', Link: `<${link}>; rel="next"` });
            res.end('[]');
          }, 1);
          await assert.rejects(list(client()), refuses(/a next-page link to another origin \(http:\/\/127\.0\.0\.1:\d+\) was refused/), link);
        }
        assert.deepEqual(seen, []);
      } finally {
        await new Promise((resolve) => decoy.close(resolve));
      }
    });
  });
});
