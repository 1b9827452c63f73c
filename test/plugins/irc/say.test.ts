/**
 * `byoci irc say <channel> <text>` against a real ngircd: through the real CLI (config
 * file, secrets from the env store) and through its logic, watched by a second client.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { silentLogger } from '../../../core/index.js';
import { ircSay } from '../../../plugins/irc/cli.js';
import { ircConfig } from '../../../plugins/irc/config.js';
import { UsageError } from '../../../core/errors.js';
import { suiteNeeds } from '../../support/components.js';
import { HOST, ngircdMissing, startNgircd, startWatcher, type Ngircd, type Watcher } from '../../support/ngircd.js';
import { freePort } from '../../support/net.js';

function byoci(args: string[], env: Record<string, string>, cwd: string) {
  return spawnSync(process.execPath, ['--import', import.meta.resolve('tsx'), join(process.cwd(), 'cli/main.ts'), ...args], {
    cwd,
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '', HOME: cwd, ...env },
  });
}

describe('byoci irc say', suiteNeeds('ngircd', ngircdMissing()), () => {
  let server: Ngircd;
  let watcher: Watcher;
  let dir: string;

  before(async () => {
    server = await startNgircd({ password: 'pass-for-jobs' });
    watcher = await startWatcher(server, { channels: ['#landing'], password: 'pass-for-jobs' });
    dir = mkdtempSync(join(tmpdir(), 'byoci-irc-say-'));
  });

  after(async () => {
    await watcher?.close();
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('the CLI says the text in the channel with the configured server, password from the env store', async () => {
    const config = join(dir, 'byoci.yaml');
    writeFileSync(
      config,
      [
        'secrets:',
        '  order: [env]',
        'plugins:',
        '  irc:',
        `    server: ${HOST}`,
        `    port: ${server.port}`,
        '    tls: false',
        '    nick: jobbot',
        '    auth: server',
        '    channels:',
        "      - channel: '#landing'",
        '    templates:',
        "      landed: '${project}: ${title} landed[[ ${buildUrl}]]'",
        '',
      ].join('\n'),
    );
    const result = byoci(['-c', config, 'irc', 'say', '#landing', 'nightly', 'build', '42', 'passed'], { BYOCI_SECRET_IRC_PASSWORD: 'pass-for-jobs' }, dir);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /^said 1 line in #landing as jobbot$/m);
    assert.ok(!result.stderr.includes('pass-for-jobs'));
    const line = await watcher.waitFor((l) => l.command === 'PRIVMSG' && l.nick === 'jobbot');
    assert.equal(line.params[0], '#landing');
    assert.equal(line.params[1], 'nightly build 42 passed');
  });

  test('the CLI refuses a bad channel name with a usage error (exit 2)', () => {
    const config = join(dir, 'byoci.yaml');
    const result = byoci(['-c', config, 'irc', 'say', 'landing', 'hello'], {}, dir);
    assert.equal(result.status, 2, result.stderr);
    assert.match(result.stderr, /"landing" must be an IRC channel name/);
  });

  test('without plugins.irc the CLI says what to configure (exit 2)', () => {
    const config = join(dir, 'empty.yaml');
    writeFileSync(config, 'projects: {}\n');
    const result = byoci(['-c', config, 'irc', 'say', '#landing', 'hello'], {}, dir);
    assert.equal(result.status, 2, result.stderr);
    assert.match(result.stderr, /plugins\.irc: not configured/);
  });

  test('--dry-run prints the lines it would say and connects nowhere; the real server sees nothing of it', async () => {
    const write = (file: string, port: number, nick: string) =>
      writeFileSync(
        file,
        ['secrets:', '  order: [env]', 'plugins:', '  irc:', `    server: ${HOST}`, `    port: ${port}`, '    tls: false', `    nick: ${nick}`, '    auth: server', '    channels:', "      - channel: '#landing'", ''].join('\n'),
      );
    const dry = join(dir, 'dry.yaml');
    write(dry, server.port, 'dryrunner');
    const result = byoci(['-c', dry, '--dry-run', 'irc', 'say', '#landing', 'would', 'you', '\x07ring'], { BYOCI_SECRET_IRC_PASSWORD: 'pass-for-jobs' }, dir);
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout, `would say 1 line in #landing as dryrunner on ${HOST}:${server.port} (dry run: not connecting):\n  would you ring\n`);
    // Nothing listens on this port: a dry run that connected would fail.
    const closed = join(dir, 'closed.yaml');
    write(closed, await freePort(), 'dryrunner');
    const json = byoci(['-c', closed, '--dry-run', '--json', 'irc', 'say', '#landing', 'hi'], {}, dir);
    assert.equal(json.status, 0, json.stderr);
    assert.deepEqual(JSON.parse(json.stdout), { channel: '#landing', lines: ['hi'], nick: 'dryrunner', dryRun: true });
    // A real say after the dry runs: the watcher, in the channel all along, saw no line of the dry runner.
    const real = join(dir, 'real.yaml');
    write(real, server.port, 'realsayer');
    assert.equal(byoci(['-c', real, 'irc', 'say', '#landing', 'for real'], { BYOCI_SECRET_IRC_PASSWORD: 'pass-for-jobs' }, dir).status, 0);
    await watcher.waitFor((l) => l.command === 'PRIVMSG' && l.nick === 'realsayer');
    assert.deepEqual(watcher.lines.filter((l) => l.nick === 'dryrunner'), []);
  });

  test('the password, from the stores, is redacted in what is said and in an error', () => {
    const config = join(dir, 'byoci.yaml');
    const said = byoci(['-c', config, '--dry-run', 'irc', 'say', '#landing', 'the', 'password', 'is', 'pass-for-jobs'], { BYOCI_SECRET_IRC_PASSWORD: 'pass-for-jobs' }, dir);
    assert.equal(said.status, 0, said.stderr);
    assert.match(said.stdout, /^ {2}the password is \[REDACTED\]$/m);
    assert.ok(!said.stdout.includes('pass-for-jobs'));
    const failed = byoci(['-c', config, 'irc', 'say', '#no pass-for-jobs', 'hello'], { BYOCI_SECRET_IRC_PASSWORD: 'pass-for-jobs' }, dir);
    assert.equal(failed.status, 2, failed.stderr);
    assert.match(failed.stderr, /irc say: "#no \[REDACTED\]" must be an IRC channel name/);
    assert.ok(!failed.stderr.includes('pass-for-jobs'), failed.stderr);
  });

  test('an invalid plugins.irc is reported with file and line', () => {
    const config = join(dir, 'invalid.yaml');
    writeFileSync(config, ['plugins:', '  irc:', `    server: ${HOST}`, '    port: seventy', "    channels: [{ channel: '#landing' }]", ''].join('\n'));
    const result = byoci(['-c', config, 'irc', 'say', '#landing', 'hello'], {}, dir);
    assert.equal(result.status, 2, result.stderr);
    assert.match(result.stderr, /invalid\.yaml:4:\d+: plugins\.irc\.port: /);
  });

  test('long text is split into lines of at most 512 bytes, control characters removed, rate limited', async () => {
    const config = ircConfig.parse({
      server: HOST,
      port: server.port,
      tls: false,
      nick: 'sayer',
      auth: 'server',
      channels: [{ channel: '#landing' }],
      sayMaxLines: 6,
      rate: { lines: 2, per: '1s' },
    });
    const text = 'start\r\nQUIT :bye\x00 ' + Array.from({ length: 800 }, (_, i) => `w${i}`).join(' ');
    const result = await ircSay({ config, password: 'pass-for-jobs', log: silentLogger(), redact: (s) => s }, '#landing', text);
    assert.equal(result.lines.length, 6);
    const lines: typeof watcher.lines = [];
    for (let i = 0; i < 6; i++) {
      lines.push(await watcher.waitFor((l) => l.command === 'PRIVMSG' && l.nick === 'sayer' && !lines.includes(l)));
    }
    assert.deepEqual(lines.map((l) => l.params[1]), result.lines);
    assert.ok(lines[0]?.params[1]?.startsWith('start QUIT :bye w0 w1 '));
    assert.ok(lines[5]?.params[1]?.endsWith('…'));
    for (const line of lines) assert.ok(line.bytes <= 512, `${line.bytes} bytes`);
    assert.ok(!watcher.lines.some((l) => l.command === 'QUIT' && l.params[0] === 'bye'));
    // Rate limit: never more than 2 lines from the bot within any 1 s window (a floor on
    // spacing, which a slow machine only makes larger).
    for (let i = 2; i < lines.length; i++) {
      assert.ok(lines[i]!.at - lines[i - 2]!.at >= 900, `lines ${i - 2}..${i} within ${lines[i]!.at - lines[i - 2]!.at} ms`);
    }
  });

  test('an unreachable server makes the command fail with the reason', async () => {
    const port = await freePort();
    const config = ircConfig.parse({ server: HOST, port, tls: false, channels: [{ channel: '#landing' }], timeout: '2s' });
    await assert.rejects(
      ircSay({ config, password: undefined, log: silentLogger(), redact: (s) => s }, '#landing', 'hello'),
      /cannot connect to 127\.0\.0\.1:\d+: .*ECONNREFUSED/,
    );
  });

  test('a channel name that could inject a command is refused before connecting', async () => {
    const config = ircConfig.parse({ server: HOST, port: server.port, tls: false, channels: [{ channel: '#landing' }] });
    await assert.rejects(
      ircSay({ config, password: undefined, log: silentLogger(), redact: (s) => s }, '#landing :x\r\nQUIT', 'hello'),
      (error: unknown) => error instanceof UsageError && /must be an IRC channel name/.test(error.message),
    );
  });
});
