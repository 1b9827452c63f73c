/**
 * The brain's Jenkins client against the local Jenkins (test/support/jenkins-server.ts) on
 * CSRF: a request authenticated with an API token needs no crumb (Jenkins ≥ 2.96,
 * ApiCrumbExclusion); with a password it needs the crumb of its session, and a crumb whose
 * session ended is answered 403, after which the client fetches a fresh one, once.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { JenkinsClient } from '../../brain/jenkins.js';
import { JenkinsServer } from '../support/jenkins-server.js';

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
