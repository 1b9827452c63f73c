/**
 * The brain's Jenkins client against the local Jenkins (test/support/jenkins-server.ts) on
 * CSRF: a request authenticated with an API token needs no crumb (Jenkins ≥ 2.96,
 * ApiCrumbExclusion); with a password it needs the crumb of its session, and a crumb whose
 * session ended is answered 403, after which the client fetches a fresh one, once.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { JenkinsClient } from '../../brain/jenkins.js';
import { JenkinsServer } from '../support/jenkins-server.js';
import { answerForever } from '../support/net.js';

describe('Jenkins client and CSRF crumbs', () => {
  let jenkins: JenkinsServer;
  before(async () => {
    jenkins = await new JenkinsServer({ user: 'brain', token: 'api-token', password: 'pass-word', jobs: [{ name: 'land-trunk', params: { TARGET: '' } }] }).listen();
  });
  after(() => jenkins.close());

  const post = (secret: string, headers: Record<string, string> = {}) =>
    fetch(`${jenkins.url}job/land-trunk/buildWithParameters`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`brain:${secret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded', ...headers },
      body: 'TARGET=trunk',
    });

  test('an API token needs no crumb; a password does (403 naming the crumb)', async () => {
    const byToken = await post('api-token');
    assert.equal(byToken.status, 201);
    assert.match(byToken.headers.get('location') ?? '', /\/queue\/item\/\d+\/$/);
    const byPassword = await post('pass-word');
    assert.equal(byPassword.status, 403);
    assert.match(await byPassword.text(), /No valid crumb was included in the request/);
    assert.equal((await post('wrong')).status, 401);
  });

  test('with a password the client sends its session crumb, and after the session ended fetches a fresh one once', async () => {
    const client = new JenkinsClient({ url: jenkins.url, user: 'brain', token: 'pass-word', timeoutMs: 5000 });
    const before = jenkins.builds.length;
    const first = await client.buildWithParameters('land-trunk', { TARGET: 'trunk' });
    assert.match(first, /\/queue\/item\/\d+\/$/);
    jenkins.expireSessions();
    const second = await client.buildWithParameters('land-trunk', { TARGET: 'trunk' });
    assert.notEqual(second, first);
    assert.equal(jenkins.builds.length - before, 2);
    const crumbFetches = jenkins.requests.filter((r) => r.path === '/crumbIssuer/api/json').length;
    assert.equal(crumbFetches, 2, 'one crumb per session');
    const refused = jenkins.requests.filter((r) => r.method === 'POST' && r.status === 403).length;
    assert.equal(refused, 2, 'the raw password POST of the first test and the one with the ended session');
  });
});

describe('Jenkins client behind a proxy: links on another root URL', () => {
  // Jenkins builds Location and the build links on its configured "Jenkins URL"; here that names
  // another server (the decoy), as when Jenkins is reached through a proxy under another name.
  const decoyRequests: string[] = [];
  const decoy = createServer((req, res) => {
    decoyRequests.push(`${req.method} ${req.url} ${req.headers.authorization ?? 'no credentials'}`);
    res.writeHead(404).end();
  });
  let decoyUrl = '';
  let jenkins: JenkinsServer;
  before(async () => {
    await new Promise<void>((resolve) => decoy.listen(0, '127.0.0.1', resolve));
    decoyUrl = `http://127.0.0.1:${(decoy.address() as AddressInfo).port}/ci/`;
    jenkins = await new JenkinsServer({ user: 'brain', token: 'api-token', jobs: [{ name: 'land-trunk', params: { TARGET: '', BYOCI_DECISION: '' } }], rootUrl: decoyUrl, startDelayMs: 200 }).listen();
  });
  after(async () => {
    await jenkins.close();
    await new Promise((resolve) => decoy.close(resolve));
  });

  test('the queue item is followed on brain.jenkins.url by its id; the other host never gets a request or the credentials', async () => {
    const client = new JenkinsClient({ url: jenkins.url, user: 'brain', token: 'api-token', timeoutMs: 5000 });
    try {
      const queued = await client.buildWithParameters('land-trunk', { TARGET: 'trunk', BYOCI_DECISION: 'd-proxy' });
      assert.match(queued, new RegExp(`^${jenkins.url}queue/item/\\d+/$`));
      const found = await client.find('land-trunk', 'BYOCI_DECISION', 'd-proxy', { since: 0, lookback: 100, skewMs: 0 });
      assert.deepEqual(found, { where: 'queue', queueUrl: queued }, 'found in the queue, addressed on brain.jenkins.url');
      let item = await client.queueItem(queued);
      for (let i = 0; i < 50 && !item.build; i++) {
        await new Promise((r) => setTimeout(r, 50));
        item = await client.queueItem(queued);
      }
      assert.ok(item.build, 'the build started and the item names it');
      assert.ok(item.build.url.startsWith(decoyUrl), 'the build link is what Jenkins said (recorded, shown, not fetched)');
      await assert.rejects(client.queueItem(`${decoyUrl}queue/item/1/`), /is not on .*not asked/);
      assert.deepEqual(decoyRequests, []);
    } finally {
      client.close();
    }
  });
});

describe('Jenkins client: answers are bounded', () => {
  // A broken Jenkins (or a proxy in front of it) that never ends an answer: the queue is
  // answered 200 with JSON that goes on and on, without a Content-Length.
  let endless = 0;
  let closed = 0;
  const server = createServer((req, res) => {
    if (req.url?.startsWith('/queue/api/json')) {
      endless += 1;
      const item = `${JSON.stringify({ id: 1, url: 'queue/item/1/', task: { name: 'land-trunk' }, actions: [] })},`.repeat(100);
      return answerForever(res, '{"_class":"hudson.model.Queue","items":[', item, () => (closed += 1));
    }
    // A declared length over the bound: refused before its body is read.
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(1024 * 1024) });
    res.end('{}'.padEnd(1024 * 1024));
  });
  let url = '';
  before(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });
  after(() => new Promise((resolve) => server.close(resolve)));

  test('an endless answer stops at maxBytes with an error naming the URL and the bound; the connection is dropped', async () => {
    const client = new JenkinsClient({ url, user: 'brain', token: 'api-token', timeoutMs: 10_000, maxBytes: 256 * 1024 });
    try {
      const started = Date.now();
      await assert.rejects(client.find('land-trunk', 'BYOCI_DECISION', 'd-1', { since: 0, lookback: 100, skewMs: 0 }), (error: Error) => {
        assert.match(error.message, new RegExp(`^GET ${url}queue/api/json\\S*: the answer is larger than the 262144 bytes allowed$`));
        return true;
      });
      assert.ok(Date.now() - started < 5000, 'refused as soon as the bound is passed, not at the timeout');
      assert.equal(endless, 1);
      for (let i = 0; i < 50 && closed < 1; i++) await new Promise((r) => setTimeout(r, 20));
      assert.equal(closed, 1, 'the client dropped the connection');
      await assert.rejects(client.queueItem(`${url}queue/item/7/`), /^JenkinsError: GET .*queue\/item\/7\/api\/json: the answer is 1048576 bytes, more than the 262144 allowed$/);
    } finally {
      client.close();
    }
  });
});
