/**
 * The irc plugin against a real ngircd on loopback, watched by a second client that
 * records every line it receives: what users in the channel actually see.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import ircPlugin from '../../../plugins/irc/index.js';
import type { Outcome } from '../../../hooks/index.js';
import { applyPlugins, type Harness } from '../../support/harness.js';
import { missingCommands, suiteNeeds } from '../../support/components.js';
import { HOST, ngircdMissing, startNgircd, startWatcher, type Ngircd, type Watcher } from '../../support/ngircd.js';
import { freePort, startSilentServer, type SilentServer } from '../../support/net.js';
import { errored, failed, landed, project, proposal, rejected, started } from './fixtures.js';

const BUILD_URL = 'https://jenkins.example.org/job/brz-land/42/';

async function pluginOn(server: { port: number }, config: Record<string, unknown> = {}, secrets: Record<string, string> = {}): Promise<Harness> {
  return applyPlugins(
    [
      {
        plugin: ircPlugin,
        config: { server: HOST, port: server.port, tls: false, channels: [{ channel: '#landing' }], timeout: '5s', ...config },
        secrets,
      },
    ],
    { buildUrl: BUILD_URL },
  );
}

async function reportAll(harness: Harness, outcomes: Outcome[]): Promise<void> {
  for (const outcome of outcomes) await harness.hooks.report.promise(outcome);
  await harness.hooks.shutdown.promise({ reason: 'done' });
  harness.cleanup();
}

describe('irc plugin with a real ngircd', suiteNeeds('ngircd', ngircdMissing()), () => {
  let server: Ngircd;
  let watcher: Watcher;

  before(async () => {
    server = await startNgircd({
      channels: [{ name: '#landing' }, { name: '#brz-dev' }, { name: '#secret', key: 'sesame' }, { name: '#open', modes: '+t' }],
    });
    watcher = await startWatcher(server, { channels: ['#landing', '#brz-dev', '#open'] });
  });

  after(async () => {
    await watcher?.close();
    await server?.stop();
  });

  test('each template arrives as exactly one line in the channel, from the bot', async () => {
    const before = watcher.messages('#landing').length;
    const harness = await pluginOn(server, { events: ['started', 'landed', 'rejected', 'error'] });
    await reportAll(harness, [
      started(),
      landed(),
      rejected('The proposal does not merge cleanly into main. Conflicts in: NEWS.'),
      failed(),
      errored('git push crashed: EPIPE'),
    ]);
    const quit = await watcher.waitFor((l) => l.command === 'QUIT' && l.nick === 'byoci');
    const got = watcher.messages('#landing').slice(before);
    assert.deepEqual(
      got.map((l) => [l.nick, l.params[1]]),
      [
        ['byoci', `brz: testing Fix the frobnicator <https://code.example.org/brz/+merge/7> ${BUILD_URL}`],
        ['byoci', `brz: landed Fix the frobnicator <https://code.example.org/brz/+merge/7> as ${'b'.repeat(40)} ${BUILD_URL}`],
        ['byoci', `brz: rejected Fix the frobnicator <https://code.example.org/brz/+merge/7> ${BUILD_URL}: The proposal does not merge cleanly into main. Conflicts in: NEWS.`],
        ['byoci', `brz: tests failed for Fix the frobnicator <https://code.example.org/brz/+merge/7> ${BUILD_URL}: The tests failed (exit code 2). | FAILED (failures=1)`],
        ['byoci', `brz: internal error while landing Fix the frobnicator <https://code.example.org/brz/+merge/7> ${BUILD_URL}: git push crashed: EPIPE`],
      ],
    );
    assert.match(quit.params[0] ?? '', /byoci: done/, 'shutdown quits cleanly');
    assert.ok(harness.lines.some((l) => /INFO .*\[irc\] announced .*channel="#landing"/.test(l)));
  });

  test('started is off by default: a landing and a rejection give exactly one line each', async () => {
    const before = watcher.messages('#landing').length;
    const harness = await pluginOn(server);
    await reportAll(harness, [started(), landed(), rejected('The proposal has no commit message.', 'no-commit-message')]);
    await watcher.waitFor((l) => l.command === 'QUIT' && l.nick === 'byoci' && watcher.lines.indexOf(l) > 0 && l === watcher.lines.at(-1));
    const got = watcher.messages('#landing').slice(before).map((l) => l.params[1]);
    assert.equal(got.length, 2, got.join('\n'));
    assert.match(got[0] ?? '', /^brz: landed /);
    assert.match(got[1] ?? '', /^brz: rejected .*no commit message/);
  });

  test('a title carrying "\\r\\nQUIT :bye" arrives as one harmless line and the bot stays', async () => {
    const before = watcher.lines.length;
    const harness = await pluginOn(server);
    const evil = proposal({ title: 'Innocent\r\nQUIT :bye\r\nPRIVMSG #brz-dev :spam\x00\x02\x0304red' });
    await harness.hooks.report.promise(landed(evil));
    await harness.hooks.report.promise(landed());
    const seen = watcher.lines.slice(before);
    const fromBot = seen.filter((l) => l.nick === 'byoci');
    assert.deepEqual(fromBot.map((l) => l.command), ['JOIN', 'PRIVMSG', 'PRIVMSG'], 'no QUIT, no second PRIVMSG from the title');
    assert.equal(fromBot[1]?.params[0], '#landing');
    assert.match(fromBot[1]?.params[1] ?? '', /^brz: landed Innocent QUIT :bye PRIVMSG #brz-dev :spamred </);
    assert.equal(watcher.messages('#brz-dev').filter((l) => l.nick === 'byoci').length, 0);
    await reportAll(harness, []);
  });

  test('a 2,000-character reason is cut to fit in 512 bytes, with the build URL kept', async () => {
    const before = watcher.messages('#landing').length;
    const harness = await pluginOn(server);
    const reason = 'Ça ne marche pas — ' + 'é🦀x'.repeat(500);
    await reportAll(harness, [rejected(reason, 'source-unavailable')]);
    await watcher.waitFor((l) => l.command === 'QUIT' && l.nick === 'byoci' && l === watcher.lines.at(-1));
    const got = watcher.messages('#landing').slice(before);
    assert.equal(got.length, 1);
    const line = got[0]!;
    assert.ok(line.bytes <= 512, `${line.bytes} bytes relayed`);
    const text = line.params[1] ?? '';
    assert.ok(text.includes(BUILD_URL));
    assert.ok(text.startsWith(`brz: rejected Fix the frobnicator <https://code.example.org/brz/+merge/7> ${BUILD_URL}: Ça ne marche pas — é🦀x`));
    assert.ok(text.endsWith('…'));
    assert.ok(!text.includes('\ufffd'), 'no broken UTF-8');
  });

  test('channels per project and target; each matching channel gets the line once', async () => {
    const landingBefore = watcher.messages('#landing').length;
    const devBefore = watcher.messages('#brz-dev').length;
    const harness = await pluginOn(server, {
      channels: [
        { channel: '#landing', projects: ['other-project'] },
        { channel: '#brz-dev', projects: ['brz'], targets: ['main'] },
        { channel: '#BRZ-dev', projects: ['brz'] },
        { channel: '#secret', key: 'sesame', events: ['error'] },
      ],
    });
    await reportAll(harness, [landed(), landed(proposal({ target: { vcs: 'git', url: '/srv/brz.git', branch: '3.3' } }))]);
    await watcher.waitFor((l) => l.command === 'QUIT' && l.nick === 'byoci' && l === watcher.lines.at(-1));
    assert.equal(watcher.messages('#landing').length, landingBefore, 'not for other-project');
    const dev = watcher.messages('#brz-dev').slice(devBefore);
    assert.equal(dev.length, 2, 'one per landing, not one per matching route');
  });

  test('a keyed channel is joined with its key', async () => {
    const keyed = await startWatcher(server, { nick: 'keyed' });
    keyed.send('JOIN #secret sesame');
    await keyed.waitFor((l) => l.command === '366');
    const harness = await pluginOn(server, { channels: [{ channel: '#secret', key: 'sesame' }] });
    await reportAll(harness, [landed()]);
    const line = await keyed.waitFor((l) => l.command === 'PRIVMSG' && l.params[0] === '#secret');
    assert.match(line.params[1] ?? '', /^brz: landed /);
    await keyed.close();
  });

  test('join: auto joins a +n channel once it refuses outsiders, and the line arrives once', async () => {
    const before = watcher.lines.length;
    const harness = await pluginOn(server, { channels: [{ channel: '#landing' }, { channel: '#open' }] });
    await reportAll(harness, [landed()]);
    await watcher.waitFor((l) => l.command === 'QUIT' && l.nick === 'byoci' && watcher.lines.indexOf(l) >= before);
    const fromBot = watcher.lines.slice(before).filter((l) => l.nick === 'byoci');
    assert.deepEqual(
      fromBot.filter((l) => l.command !== 'QUIT').map((l) => `${l.command} ${l.params[0]}`),
      ['JOIN #landing', 'PRIVMSG #landing', 'PRIVMSG #open'],
      'joined #landing (+n) only; #open (-n) takes the line from outside',
    );
  });

  test('join: true joins even a channel that takes messages from outside', async () => {
    const before = watcher.lines.length;
    const harness = await pluginOn(server, { join: true, channels: [{ channel: '#open' }] });
    await reportAll(harness, [landed()]);
    await watcher.waitFor((l) => l.command === 'QUIT' && l.nick === 'byoci' && watcher.lines.indexOf(l) >= before);
    const fromBot = watcher.lines.slice(before).filter((l) => l.nick === 'byoci');
    assert.deepEqual(fromBot.map((l) => `${l.command} ${l.params[0]}`).slice(0, 2), ['JOIN #open', 'PRIVMSG #open']);
  });

  test('with join off, a +n channel refuses the message: logged, nothing thrown', async () => {
    const before = watcher.messages('#landing').length;
    const harness = await pluginOn(server, { join: false });
    await harness.hooks.report.promise(landed());
    await harness.hooks.shutdown.promise({ reason: 'done' });
    assert.equal(watcher.messages('#landing').length, before);
    assert.ok(
      harness.lines.some((l) => /WARN .*could not announce in a channel .*channel="#landing" .*Cannot send to channel/i.test(l)),
      harness.lines.join('\n'),
    );
    harness.cleanup();
  });

  test('a taken nick gets a suffix and the message still arrives', async () => {
    const squatter = await startWatcher(server, { nick: 'byoci' });
    const before = watcher.messages('#landing').length;
    const harness = await pluginOn(server);
    await reportAll(harness, [landed()]);
    const line = await watcher.waitFor((l) => l.command === 'PRIVMSG' && watcher.messages('#landing').indexOf(l) >= before);
    assert.equal(line.nick, 'byoci_1');
    await squatter.close();
  });

  test('NickServ auth sends IDENTIFY to NickServ and never logs the password', async () => {
    const nickserv = await startWatcher(server, { nick: 'NickServ' });
    const harness = await pluginOn(server, { auth: 'nickserv', account: 'lander' }, { password: 'correct-horse-battery' });
    await reportAll(harness, [landed()]);
    const identify = await nickserv.waitFor((l) => l.command === 'PRIVMSG' && l.params[0] === 'NickServ');
    assert.equal(identify.params[1], 'IDENTIFY lander correct-horse-battery');
    assert.ok(!harness.lines.some((l) => l.includes('correct-horse-battery')));
    await nickserv.close();
  });

  test('SASL on a server that does not offer it: a warning, and the message still arrives', async () => {
    const before = watcher.messages('#landing').length;
    const harness = await pluginOn(server, { auth: 'sasl' }, { password: 'sasl-password-1' });
    await reportAll(harness, [landed()]);
    await watcher.waitFor((l) => l.command === 'PRIVMSG' && watcher.messages('#landing').indexOf(l) >= before);
    assert.ok(harness.lines.some((l) => /WARN .*SASL authentication failed; going on unauthenticated reason=capability_missing/.test(l)), harness.lines.join('\n'));
    assert.ok(!harness.lines.some((l) => l.includes('sasl-password-1')));
  });

  test('verify reports a missing password and unknown projects, and notes where it announces', async () => {
    const harness = await pluginOn(server, { auth: 'sasl', channels: [{ channel: '#landing', projects: ['brzz'] }] });
    const problems: { source: string; message: string }[] = [];
    const notes: { source: string; message: string }[] = [];
    await harness.hooks.verify.promise({ projects: [project], problems, notes, signal: harness.run.signal });
    assert.deepEqual(
      problems.map((p) => p.message),
      [
        'auth is sasl but the secret irc/password is not set',
        'plugins.irc.channels.0.projects names "brzz", which is not a configured project',
      ],
    );
    assert.match(notes[0]?.message ?? '', new RegExp(`announces landed, rejected, error on 127\\.0\\.0\\.1:${server.port} in #landing`));
    await reportAll(harness, []);
  });
});

describe('irc plugin with a server password', suiteNeeds('ngircd', ngircdMissing()), () => {
  let server: Ngircd;
  let watcher: Watcher;

  before(async () => {
    server = await startNgircd({ password: 'letmein-please' });
    watcher = await startWatcher(server, { channels: ['#landing'], password: 'letmein-please' });
  });

  after(async () => {
    await watcher?.close();
    await server?.stop();
  });

  test('auth: server sends PASS and the message arrives', async () => {
    const harness = await pluginOn(server, { auth: 'server' }, { password: 'letmein-please' });
    await reportAll(harness, [landed()]);
    const line = await watcher.waitFor((l) => l.command === 'PRIVMSG' && l.nick === 'byoci');
    assert.match(line.params[1] ?? '', /^brz: landed /);
  });

  test('a wrong password is logged as a warning; the report still resolves', async () => {
    const harness = await pluginOn(server, { auth: 'server' }, { password: 'wrong-password' });
    await reportAll(harness, [landed()]);
    assert.ok(harness.lines.some((l) => /WARN .*could not announce on IRC; the landing is not affected/.test(l)), harness.lines.join('\n'));
  });
});

describe('irc plugin over TLS', suiteNeeds('ngircd and openssl', ngircdMissing() ?? missingCommands('openssl')), () => {
  let server: Ngircd;
  let watcher: Watcher;

  before(async () => {
    server = await startNgircd({ tls: true });
    watcher = await startWatcher(server, { channels: ['#landing'] });
  });

  after(async () => {
    await watcher?.close();
    await server?.stop();
  });

  test('a certificate that does not verify is refused: logged, nothing sent, nothing thrown', async () => {
    const harness = await pluginOn({ port: server.tlsPort! }, { tls: true });
    await reportAll(harness, [landed()]);
    assert.ok(
      harness.lines.some((l) => /WARN .*could not announce on IRC; the landing is not affected .*self[- ]signed certificate/i.test(l)),
      harness.lines.join('\n'),
    );
    assert.equal(watcher.messages('#landing').length, 0);
  });

  test('with tlsVerify off (test servers only) the line arrives over TLS', async () => {
    const harness = await pluginOn({ port: server.tlsPort! }, { tls: true, tlsVerify: false });
    await reportAll(harness, [landed()]);
    const line = await watcher.waitFor((l) => l.command === 'PRIVMSG' && l.nick === 'byoci');
    assert.match(line.params[1] ?? '', /^brz: landed /);
  });
});

describe('irc plugin when the server is not there', () => {
  let silent: SilentServer;

  before(async () => {
    silent = await startSilentServer(HOST);
  });

  after(() => silent.close());

  test('a refused connection is logged once; the next reports do not wait again', async () => {
    const port = await freePort();
    const harness = await pluginOn({ port }, { timeout: '3s' });
    await reportAll(harness, [landed(), rejected('Conflicts in: NEWS.'), landed()]);
    const warnings = harness.lines.filter((l) => /WARN .*could not announce on IRC; the landing is not affected/.test(l));
    assert.equal(warnings.length, 1, harness.lines.join('\n'));
    assert.match(warnings[0] ?? '', /ECONNREFUSED/);
    assert.equal(harness.lines.filter((l) => /not announcing: the IRC server was unavailable earlier/.test(l)).length, 2);
  });

  test('a server that never answers costs at most the timeout, and nothing is thrown', async () => {
    const harness = await pluginOn({ port: silent.port }, { timeout: '1s' });
    const t0 = Date.now();
    await harness.hooks.report.promise(landed());
    const waited = Date.now() - t0;
    await harness.hooks.shutdown.promise({ reason: 'done' });
    harness.cleanup();
    // The guarantee a user relies on: bounded by the configured timeout (plus slack for a busy machine).
    assert.ok(waited < 4000, `report took ${waited} ms with a 1 s timeout`);
    assert.ok(harness.lines.some((l) => /WARN .*did not finish within 1000 ms/.test(l)), harness.lines.join('\n'));
    for (let i = 0; i < 40 && silent.openConnections() > 0; i++) await new Promise((r) => setTimeout(r, 50));
    assert.equal(silent.openConnections(), 0, 'the half-open connection was dropped');
  });
});
