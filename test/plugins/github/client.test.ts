/**
 * The REST client against the local GitHub: GitHub Enterprise base URL, token auth,
 * `retry-after` and rate-limit resets honoured, and a clear error when the wait is too long.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createLogger } from '../../../core/logger.js';
import { RateLimitError, createClient } from '../../../plugins/github/client.js';
import { startGithubServer, type GithubServer } from '../../support/github-server.js';
import { missingCommands, suiteNeeds } from '../../support/components.js';
import { makeRepos, type Repos } from '../../support/git-repos.js';

describe('github client', suiteNeeds('git', missingCommands('git')), () => {
  let gh: GithubServer;
  let repos: Repos;
  const lines: string[] = [];
  const log = createLogger({ level: 'debug', write: (l) => lines.push(l) });
  before(async () => {
    repos = await makeRepos();
    gh = await startGithubServer();
    gh.addRepo({ owner: 'acme', name: 'widget', bare: repos.target });
  });
  after(async () => {
    await gh.close();
    repos.remove();
  });
  const client = (maxWaitSeconds = 60, token: string | undefined = gh.token) => createClient({ baseUrl: gh.url, token, log, maxWaitSeconds });

  test('talks to the configured base URL with the token', async () => {
    const { data } = await client().rest.repos.get({ owner: 'acme', repo: 'widget' });
    assert.equal(data.full_name, 'acme/widget');
    assert.equal(data.permissions?.push, true);
    await assert.rejects(client(60, 'wrong').rest.repos.get({ owner: 'acme', repo: 'widget' }), /Bad credentials/);
  });

  test('a secondary rate limit with retry-after is waited out and the request succeeds', async () => {
    const before = gh.requests.length;
    gh.failNext({ status: 403, headers: { 'retry-after': '1' }, match: /^GET \/repos\/acme\/widget$/ });
    const { data } = await client().rest.repos.get({ owner: 'acme', repo: 'widget' });
    assert.equal(data.name, 'widget');
    assert.deepEqual(
      gh.requests.slice(before).map((r) => r.path),
      ['/repos/acme/widget', '/repos/acme/widget'],
      'one refused request, then the retry',
    );
    assert.ok(lines.some((l) => /rate limited or server error, retrying .*status=403 waitSeconds=1/.test(l)));
  });

  test('an exhausted primary rate limit waits for x-ratelimit-reset', async () => {
    const before = gh.requests.length;
    const reset = Math.floor(Date.now() / 1000);
    gh.failNext({
      status: 429,
      headers: { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(reset) },
      message: 'API rate limit exceeded',
    });
    await client().rest.repos.get({ owner: 'acme', repo: 'widget' });
    assert.equal(gh.requests.length - before, 2);
  });

  test('a wait longer than maxRateLimitWait fails at once, saying how long GitHub asked for', async () => {
    gh.failNext({ status: 403, headers: { 'retry-after': '3600' } });
    await assert.rejects(client(30).rest.repos.get({ owner: 'acme', repo: 'widget' }), (error: unknown) => {
      assert.ok(error instanceof RateLimitError);
      assert.match(error.message, /asks to wait 3600 s before retrying GET \/repos\/\{owner\}\/\{repo\}, more than maxRateLimitWait \(30 s\)/);
      return true;
    });
  });

  test('a server error is retried; a 404 is not', async () => {
    gh.failNext({ status: 502, message: 'Server Error' });
    const { data } = await client().rest.repos.get({ owner: 'acme', repo: 'widget' });
    assert.equal(data.name, 'widget');
    const before = gh.requests.length;
    await assert.rejects(client().rest.repos.get({ owner: 'acme', repo: 'nope' }), (e: { status?: number }) => e.status === 404);
    assert.equal(gh.requests.length - before, 1);
  });
});
