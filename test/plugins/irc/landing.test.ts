/**
 * The acceptance of issue 7 through the real CLI: `byoci land` on the demo setup (local
 * forge, real git repositories, one good and one bad proposal) with the irc plugin
 * configured. With a real ngircd, the landing and the rejection each give exactly one
 * line in the channel; with a server that never answers, nothing else changes.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { createDemo, type DemoSetup } from '../../../demo/setup.js';
import { run } from '../../../core/process.js';
import { missingCommands, suiteNeeds } from '../../support/components.js';
import { HOST, ngircdMissing, startNgircd, startWatcher, type Ngircd, type Watcher } from '../../support/ngircd.js';
import { startSilentServer, type SilentServer } from '../../support/net.js';

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

function land(demo: DemoSetup, irc: string): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', import.meta.resolve('tsx'), join(process.cwd(), 'cli/main.ts'), '-c', demo.config, '-O', `plugins.irc=${irc}`, 'land'],
      { cwd: demo.dir, env: { PATH: process.env.PATH ?? '', HOME: join(demo.dir, '.home') }, encoding: 'utf8' },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

async function trunkTip(demo: DemoSetup): Promise<string> {
  return (await run(['git', '--git-dir', demo.trunk, 'rev-parse', 'main'])).stdout.trim();
}

const missing = ngircdMissing() ?? missingCommands('git');

describe('byoci land with IRC reporting', suiteNeeds('ngircd and git', missing), () => {
  let server: Ngircd;
  let watcher: Watcher;
  let silent: SilentServer | undefined;
  const dirs: string[] = [];

  async function demo(): Promise<DemoSetup> {
    const dir = mkdtempSync(join(tmpdir(), 'byoci-irc-land-'));
    dirs.push(dir);
    return createDemo(dir);
  }

  before(async () => {
    server = await startNgircd({ channels: [{ name: '#calc' }] });
    watcher = await startWatcher(server, { channels: ['#calc'] });
    silent = await startSilentServer(HOST);
  });

  after(async () => {
    await watcher?.close();
    await server?.stop();
    await silent?.close();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  test('a landing and a rejection each produce exactly one line in the project channel', async () => {
    const setup = await demo();
    const result = await land(setup, `{server: ${HOST}, port: ${server.port}, tls: false, channels: [{channel: "#calc", projects: [calc]}]}`);
    assert.equal(result.code, 1, `one proposal is rejected: exit 1\n${result.stderr}`);
    const tip = await trunkTip(setup);
    const quit = await watcher.waitFor((l) => l.command === 'QUIT' && l.nick === 'byoci', 10_000);
    const lines = watcher.messages('#calc').filter((l) => l.nick === 'byoci' && l.at <= quit.at);
    // Titles and test output are the demo's; what matters is one line per outcome, in order.
    const url = (n: number) => pathToFileURL(join(setup.proposals, `${n}.yaml`)).href.replace(/[.+]/g, '\\$&');
    assert.equal(lines.length, 2, lines.map((l) => l.raw).join('\n'));
    assert.match(lines[0]?.params[1] ?? '', new RegExp(`^calc: landed \\S.* <${url(1)}> as ${tip}$`));
    assert.match(lines[1]?.params[1] ?? '', new RegExp(`^calc: tests failed for \\S.* <${url(2)}>: The tests failed \\(exit code [1-9]\\d*\\): 1 of 3 failed: add 2 3\\. \\| \\S`), 'the line names the failing test (from the JUnit report)');
  });

  test('a server that never answers changes nothing: same exit code, same landing, one warning', async () => {
    const setup = await demo();
    const result = await land(setup, `{server: ${HOST}, port: ${silent!.port}, tls: false, timeout: 2s, channels: [{channel: "#calc"}]}`);
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stdout, /^landed +local:1 +\S.* +-> [0-9a-f]{40}$/m);
    assert.match(result.stdout, /^rejected +local:2 +\S.*: The tests failed \(exit code [1-9]\d*\): 1 of 3 failed: add 2 3\.$/m);
    const tip = await trunkTip(setup);
    assert.ok(result.stdout.includes(tip), 'the landed revision is on trunk');
    const warnings = result.stderr.split('\n').filter((l) => /WARN .*\[irc\] could not announce on IRC; the landing is not affected/.test(l));
    assert.equal(warnings.length, 1, result.stderr);
    assert.match(warnings[0] ?? '', /did not finish within 2000 ms/);
  });
});
