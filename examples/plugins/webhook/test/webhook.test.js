// The webhook reporter's own tests, with byoci's test kit: a real landing on the local
// forge (real git repositories), the plugin loaded by path, a local HTTP server receiving.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { assertHookOrder, createKit } from 'byoci/testing';
import { sign } from '../index.js';

const PLUGIN = fileURLToPath(new URL('../index.js', import.meta.url));
const KEY = 'test-hmac-key-0123456789';
const received = [];
let server;
let url;

before(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      received.push({ headers: req.headers, body });
      res.writeHead(204).end();
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${server.address().port}/hook`;
});
after(() => new Promise((resolve) => server.close(resolve)));

test('each outcome is POSTed as JSON with a valid HMAC signature', async () => {
  received.length = 0;
  const kit = await createKit({
    plugins: { [PLUGIN]: { url, events: ['started', 'landed', 'rejected'] } },
    secrets: { 'webhook/hmac-key': KEY },
    test: { command: 'test ! -f broken.txt' },
  });
  try {
    const good = await kit.propose({ branch: 'good', files: { 'good.txt': 'good\n' }, title: 'A good change' });
    const landing = await kit.land();
    assert.deepEqual(landing.results.map((r) => [r.proposal.id, r.kind]), [[good, 'landed']]);
    assertHookOrder(landing.calls, ['report:started', 'fetch', 'merge', 'testInContainer', 'push', 'report:landed'], good);
    const bad = await kit.propose({ branch: 'bad', files: { 'broken.txt': 'x\n' } });
    const second = await kit.land();
    assert.deepEqual(second.results.map((r) => [r.proposal.id, r.kind]), [[bad, 'rejected']]);

    assert.deepEqual(received.map((r) => r.headers['x-byoci-event']), ['started', 'landed', 'started', 'rejected']);
    for (const r of received) {
      assert.equal(r.headers['content-type'], 'application/json');
      assert.equal(r.headers['x-byoci-signature-256'], sign(KEY, r.body), 'the signature covers the exact body');
    }
    const landed = JSON.parse(received[1].body);
    assert.equal(landed.kind, 'landed');
    assert.equal(landed.proposal.id, good);
    assert.equal(landed.proposal.title, 'A good change');
    assert.equal(landed.revision, await kit.trunkTip());
    const rejected = JSON.parse(received[3].body);
    assert.equal(rejected.rejection.code, 'tests-failed');
    assert.ok(!received.some((r) => r.body.includes(KEY)), 'the key never travels');
  } finally {
    await kit.cleanup();
  }
});

test('a receiver that refuses is logged; the landing is unchanged', async () => {
  const refusing = createServer((_req, res) => res.writeHead(500).end());
  await new Promise((resolve) => refusing.listen(0, '127.0.0.1', resolve));
  const kit = await createKit({
    plugins: { [PLUGIN]: { url: `http://127.0.0.1:${refusing.address().port}/` } },
    secrets: { 'webhook/hmac-key': KEY },
  });
  try {
    const id = await kit.propose({ branch: 'fix' });
    const landing = await kit.land();
    assert.deepEqual(landing.results.map((r) => [r.proposal.id, r.kind]), [[id, 'landed']]);
    assert.ok(landing.lines.some((l) => l.includes('tap failed; outcome unchanged') && l.includes('answered 500')));
  } finally {
    await kit.cleanup();
    await new Promise((resolve) => refusing.close(resolve));
  }
});
