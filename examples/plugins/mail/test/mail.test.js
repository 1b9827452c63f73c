// The mail reporter's own tests, with byoci's test kit: a real landing on the local forge,
// the plugin loaded by path, a real SMTP server (smtp-server) on 127.0.0.1 as the sink.
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { SMTPServer } from 'smtp-server';
import { createKit } from 'byoci/testing';

const PLUGIN = fileURLToPath(new URL('../index.js', import.meta.url));
const mails = [];
let server;
let port;

before(async () => {
  server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, session, callback) {
      let raw = '';
      stream.on('data', (chunk) => (raw += chunk));
      stream.on('end', () => {
        mails.push({ from: session.envelope.mailFrom.address, to: session.envelope.rcptTo.map((r) => r.address), raw });
        callback();
      });
    },
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = server.server.address().port;
});
after(() => new Promise((resolve) => server.close(resolve)));

test('a landing and a rejection each send one mail to the configured recipients', async () => {
  const kit = await createKit({
    plugins: { [PLUGIN]: { host: '127.0.0.1', port, from: 'lander@example.invalid', to: ['dev@example.invalid', 'ops@example.invalid'] } },
    test: { command: 'test ! -f broken.txt' },
  });
  try {
    const good = await kit.propose({ branch: 'good', title: 'Add the\nfrobnicator' });
    const bad = await kit.propose({ branch: 'bad', files: { 'broken.txt': 'x\n' }, title: 'Break it' });
    const landing = await kit.land();
    assert.deepEqual(landing.results.map((r) => [r.proposal.id, r.kind]).sort(), [[good, 'landed'], [bad, 'rejected']].sort());
    assert.equal(mails.length, 2);
    for (const mail of mails) {
      assert.equal(mail.from, 'lander@example.invalid');
      assert.deepEqual(mail.to, ['dev@example.invalid', 'ops@example.invalid']);
    }
    const landed = mails.find((m) => m.raw.includes('Subject: [byoci] landed'));
    assert.ok(landed, 'a "landed" mail');
    assert.match(landed.raw, new RegExp(`Subject: \\[byoci\\] landed: Add the frobnicator \\(${good}\\)`), 'the title is one line');
    assert.ok(landed.raw.includes(`Landed as ${await kit.trunkTip()}.`));
    const rejected = mails.find((m) => m.raw.includes('Subject: [byoci] rejected'));
    assert.ok(rejected?.raw.includes('The tests failed (exit code 1).'), 'the rejection reason is in the mail');
  } finally {
    await kit.cleanup();
  }
});
