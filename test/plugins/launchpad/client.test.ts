import { refSchema, repositorySchema } from '../../../plugins/launchpad/answers.js';
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { LaunchpadApiError, LaunchpadClient } from '../../../plugins/launchpad/client.js';
import {
  authorizationHeader,
  CredentialsError,
  formatCredentials,
  parseAuthorizationHeader,
  parseCredentials,
} from '../../../plugins/launchpad/credentials.js';
import { startLaunchpadServer, type LaunchpadServer } from '../../support/launchpad-server.js';
import { startSilentServer } from '../../support/net.js';

const credentials = { consumerKey: 'byoci', consumerSecret: '', accessToken: 'tok3nValue', accessSecret: 's3cr3t&value' };

describe('launchpadlib credentials', () => {
  test('reads the file launchpadlib writes', () => {
    const text = '[1]\nconsumer_key = byoci\nconsumer_secret = \naccess_token = AAA\naccess_secret: BBB\n';
    assert.deepEqual(parseCredentials(text), { consumerKey: 'byoci', consumerSecret: '', accessToken: 'AAA', accessSecret: 'BBB' });
    assert.deepEqual(parseCredentials(formatCredentials(credentials)), credentials);
  });

  test('a file without [1] or with missing keys is refused, naming what is missing and no value', () => {
    assert.throws(() => parseCredentials('[2]\naccess_token = X\n'), (e: unknown) => e instanceof CredentialsError && /no \[1\] section; found \[2\]/.test(e.message));
    assert.throws(() => parseCredentials('[1]\nconsumer_key = k\naccess_token = secretish\n'), (e: unknown) => {
      assert.ok(e instanceof CredentialsError);
      assert.match(e.message, /lacks access_secret/);
      assert.doesNotMatch(e.message, /secretish/);
      return true;
    });
  });

  test('the Authorization header is OAuth 1.0 PLAINTEXT with a timestamp and a nonce', () => {
    const header = authorizationHeader(credentials);
    const p = parseAuthorizationHeader(header)!;
    assert.equal(p.oauth_signature_method, 'PLAINTEXT');
    assert.equal(p.oauth_signature, '&s3cr3t%26value');
    assert.equal(p.oauth_token, 'tok3nValue');
    assert.match(p.oauth_timestamp!, /^\d+$/);
    assert.notEqual(p.oauth_nonce, parseAuthorizationHeader(authorizationHeader(credentials))!.oauth_nonce);
    assert.match(header, /oauth_signature="%26s3cr3t%2526value"/);
  });
});

describe('LaunchpadClient against the local Launchpad', () => {
  let lp: LaunchpadServer;
  let client: LaunchpadClient;
  before(async () => {
    lp = await startLaunchpadServer({ credentials, pageSize: 2 });
    lp.addGitRepository({ owner: 'brz-team', project: 'brz', name: 'brz', httpsUrl: '/nonexistent', isDefault: true });
    lp.setRef('~brz-team/brz/+git/brz', 'master', 'a'.repeat(40));
    lp.addGitRepository({ owner: 'alice', project: 'brz', name: 'brz', httpsUrl: '/nonexistent' });
    for (const b of ['f1', 'f2', 'f3', 'f4', 'f5']) lp.setRef('~alice/brz/+git/brz', b, 'b'.repeat(40));
    for (const b of ['f1', 'f2', 'f3', 'f4', 'f5']) {
      lp.addProposal({ source: { git: '~alice/brz/+git/brz', path: b }, target: { git: '~brz-team/brz/+git/brz', path: 'master' } });
    }
    client = new LaunchpadClient({ serviceRoot: lp.root, credentials, retries: 2, retryDelayMs: 1 });
  });
  after(() => lp.close());

  test('named reads find a repository (or null) and follow its links', async () => {
    const repo = await client.named('+git', 'getByPath', { path: 'brz' }, repositorySchema);
    assert.equal(repo.unique_name, '~brz-team/brz/+git/brz');
    assert.equal(await client.named('+git', 'getByPath', { path: 'nope' }, repositorySchema.nullable()), null);
    const ref = await client.named(repo.self_link, 'getRefByPath', { path: 'master' }, refSchema.passthrough());
    assert.equal(ref.commit_sha1, 'a'.repeat(40));
  });

  test('collections are read across pages through next_collection_link', async () => {
    const ref = await client.named('~brz-team/brz/+git/brz', 'getRefByPath', { path: 'master' }, refSchema);
    const entries = await client.all(ref.landing_candidates_collection_link!);
    assert.equal(entries.length, 5);
    assert.deepEqual(entries.map((e) => e.source_git_path), ['f1', 'f2', 'f3', 'f4', 'f5'].map((b) => `refs/heads/${b}`));
    const pages = lp.requests.filter((r) => r.path.endsWith('/landing_candidates'));
    assert.equal(pages.length, 3);
  });

  test('writes are form-encoded named operations; Location comes back', async () => {
    const id = [...lp.proposals.keys()][0]!;
    const res = await client.post(lp.proposalLink(id), 'createComment', { subject: 'Re: x', content: 'a & b = c' });
    assert.equal(res.status, 201);
    assert.match(res.location!, /\/comments\/\d+$/);
    assert.equal(lp.botComments(id)[0]!.content, 'a & b = c');
  });

  test('an illegal status change surfaces Launchpad\'s 400 text', async () => {
    const p = lp.addProposal({ source: { git: '~alice/brz/+git/brz', path: 'f1' }, target: { git: '~brz-team/brz/+git/brz', path: 'master' }, status: 'Merged' });
    await assert.rejects(client.post(lp.proposalLink(p.id), 'setStatus', { status: 'Needs review' }), (e: unknown) => {
      assert.ok(e instanceof LaunchpadApiError);
      assert.equal(e.status, 400);
      assert.match(e.message, /Invalid state transition for merge proposal: Merged -> Needs review/);
      return true;
    });
  });

  test('503 twice then 200: the request succeeds after retrying', async () => {
    lp.failNext(2, 503);
    const before = lp.requests.length;
    const repo = await client.named('+git', 'getByPath', { path: 'brz' }, repositorySchema);
    assert.equal(repo.unique_name, '~brz-team/brz/+git/brz');
    assert.deepEqual(lp.requests.slice(before).map((r) => r.status), [503, 503, 200]);
  });

  test('a server error that persists beyond the retries names the resource', async () => {
    lp.failNext(3, 502);
    await assert.rejects(client.get('~alice/brz/+git/brz'), /Launchpad answered 502 to GET ~alice\/brz\/\+git\/brz/);
  });

  test('401, 403 and 404 are clear and name the resource, never the token', async () => {
    const wrong = new LaunchpadClient({ serviceRoot: lp.root, credentials: { ...credentials, accessSecret: 'wrong' }, retries: 0 });
    await assert.rejects(wrong.get('~alice/brz/+git/brz'), (e: unknown) => {
      assert.ok(e instanceof LaunchpadApiError);
      assert.match(e.message, /refused the credentials \(401 Unauthorized\) for GET ~alice\/brz\/\+git\/brz: Invalid signature.*launchpad\/oauth/);
      assert.doesNotMatch(e.message, /tok3nValue|s3cr3t/);
      return true;
    });
    lp.failNext(1, 403);
    await assert.rejects(client.get('~alice'), /forbids GET ~alice to the landing user \(403 Forbidden\)/);
    // Launchpad's own text follows (zope's NotFound: the object and the Python-quoted name).
    await assert.rejects(
      client.get('~nobody/brz/+git/nothing'),
      /Launchpad has no ~nobody\/brz\/\+git\/nothing \(404 Not Found\): Object: <lp\.systemhomes\.WebServiceApplication object at 0x[0-9a-f]+>, name: '~nobody\/brz\/\+git\/nothing'/,
    );
  });

  test('links outside the service root are not followed (credentials stay home)', async () => {
    await assert.rejects(client.get('https://example.com/devel/~alice'), /refusing to follow https:\/\/example.com\/devel\/~alice/);
  });

  test('a request that times out is retried, then reported naming the resource', async () => {
    const hang = await startSilentServer();
    try {
      const slow = new LaunchpadClient({ serviceRoot: `http://127.0.0.1:${hang.port}/`, credentials, retries: 1, retryDelayMs: 1, timeoutMs: 100 });
      await assert.rejects(slow.get('~alice'), /Launchpad GET ~alice timed out after 100 ms/);
    } finally {
      await hang.close();
    }
  });
});
