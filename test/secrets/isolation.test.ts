/**
 * Proof of isolation (issue 4): canaries in every store (env, file, keyring) and the push
 * key, a real landing through core with the git, lxd and local-forge plugins, and a
 * hostile test command, committed on the proposal branch, that searches the container's
 * environment, /proc, the workspace and every mount, every unix socket for an ssh-agent,
 * and every loopback port. It finds nothing (its positive controls prove each search
 * works), no output of the landing shows a canary in any form, and the landing still
 * pushes over ssh with the key. A second proposal, rejected with a message that carries
 * every canary, gets a comment and an IRC line (real ngircd) in which all are masked.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Bot, type LandSummary } from '../../core/bot.js';
import { loadConfig } from '../../core/config.js';
import { Rejection } from '../../core/errors.js';
import { createLogger, type Logger } from '../../core/logger.js';
import { definePlugin, type AnyPlugin } from '../../core/plugin.js';
import gitPlugin from '../../plugins/git/index.js';
import ircPlugin from '../../plugins/irc/index.js';
import localPlugin from '../../plugins/local/index.js';
import lxdPlugin from '../../plugins/lxd/index.js';
import { Redactor, REDACTION_MASK, createKeyringStore, createStores, secretsConfigSchema } from '../../secrets/index.js';
import { missingCommands, needs, suiteNeeds, REQUIRE_ALL } from '../support/components.js';
import { branchWith, gitIn, makeRepos, tempDir, type Repos } from '../support/git-repos.js';
import { missingSecretService, startSecretService, type SecretService } from '../support/keyring.js';
import { LXD_SOCKET, LXD_TEST_IMAGE, instancesWithPrefix, lxdMissing, testPrefix } from '../support/lxd.js';
import { ngircdMissing, startNgircd, startWatcher, type Ngircd, type Watcher } from '../support/ngircd.js';
import { sshdMissing, startSshd, type Sshd } from '../support/sshd.js';

const ROOT = resolve(import.meta.dirname, '../..');
const PREFIX = 'BYOCICANARY';
const short = (s: string) => createHash('sha256').update(s).digest('hex').slice(0, 16);
const canary = (where: string) => `${PREFIX}-${where}-${randomBytes(12).toString('hex')}`;

const CANARIES = {
  env: canary('env'),
  file: canary('file'),
  keyring: canary('keyring'),
  port: canary('port'),
};
const DECOY_FILE = canary('decoyfile');
const DECOY_ENV = canary('decoyenv');

/**
 * A plugin of the test: declares one secret per store, proves it received them (hashes
 * only), logs them (the logger must mask them), and, for the proposal titled "leaky",
 * rejects with a reason carrying every value (a plugin leaking secrets into an error).
 */
function spyPlugin(received: Record<string, string>): AnyPlugin {
  return definePlugin({
    name: 'canary',
    description: 'test spy holding canary secrets',
    secrets: {
      'env-token': { description: 'canary in the env store' },
      'file-token': { description: 'canary in the file store' },
      'keyring-token': { description: 'canary in the keyring store' },
    },
    apply(hooks, api) {
      const names = ['env-token', 'file-token', 'keyring-token'] as const;
      const values = () => names.map((n) => api.secrets.require(n));
      hooks.verify.tapPromise(async () => {
        for (const n of names) received[n] = short(api.secrets.require(n));
        api.log.info('spy: verify sees its secrets', { values: values(), url: `https://u:${encodeURIComponent(values()[0]!)}@example.invalid/` });
      });
      hooks.merge.tapPromise(
        async ({ proposal }) => {
          if (!proposal.title.includes('leaky')) return undefined;
          const [a, b, c] = values();
          throw new Rejection('merge-conflict', { target: proposal.target.branch, files: `${a}, ${Buffer.from(b!).toString('base64')}, ${encodeURIComponent(c!)}` }, `details: ${a} ${b} ${c}`);
        },
        { stage: -10 },
      );
    },
  });
}

/** A logger writing every line to both `a` and `b`. */
function tee(a: Logger, b: Logger): Logger {
  return {
    debug: (m, f) => (a.debug(m, f), b.debug(m, f)),
    info: (m, f) => (a.info(m, f), b.info(m, f)),
    warn: (m, f) => (a.warn(m, f), b.warn(m, f)),
    error: (m, f) => (a.error(m, f), b.error(m, f)),
    child: (scope) => tee(a.child(scope), b.child(scope)),
  };
}

interface Report {
  found: Map<string, string[]>;
  lines: string[];
}

function parseReport(text: string): Report {
  const lines = text.trim().split('\n');
  const found = new Map<string, string[]>();
  for (const l of lines) {
    const m = /^FOUND (\S+) ([0-9a-f]{16})$/.exec(l);
    if (m) found.set(m[2]!, [...(found.get(m[2]!) ?? []), m[1]!]);
  }
  return { found, lines };
}

describe('secrets never reach the test container', () => {
  const skip =
    suiteNeeds('Secret Service', missingSecretService()).skip ??
    suiteNeeds('sshd', sshdMissing()).skip ??
    suiteNeeds('git', missingCommands('git', 'ssh-agent')).skip ??
    suiteNeeds('ngircd', ngircdMissing()).skip;

  describe('landing with canaries in every store', { skip }, () => {
    let keyring: SecretService;
    let sshd: Sshd;
    let repos: Repos;
    let work: { dir: string; remove(): void };
    let hostServer: Server;
    let irc: Ngircd;
    let watcher: Watcher;
    let lxdReason: string | undefined;
    const prefix = testPrefix('sec');
    const savedEnv = { ...process.env };

    before(async () => {
      lxdReason = await lxdMissing();
      if (lxdReason) {
        if (REQUIRE_ALL) throw new Error(`LXD unavailable: ${lxdReason} (BYOCI_REQUIRE_ALL=1 turns this skip into a failure)`);
        return;
      }
      keyring = await startSecretService();
      sshd = await startSshd();
      repos = await makeRepos();
      work = tempDir('byoci-isolation-');
      irc = await startNgircd();
      watcher = await startWatcher(irc, { channels: ['#landing'] });
      // A service of the slave on loopback that would hand out a canary to anyone.
      hostServer = createServer((c) => c.end(`${CANARIES.port}\n`));
      await new Promise<void>((r) => hostServer.listen(0, '127.0.0.1', r));

      process.env.DBUS_SESSION_BUS_ADDRESS = keyring.address;
      // keyring store
      await createKeyringStore({ service: 'byoci-isolation' }).set!('canary/keyring-token', CANARIES.keyring);
      // file store, laid out like the seed's secrets branch; the push key under slaves/ssh/keys/
      const secrets = join(work.dir, 'secrets');
      mkdirSync(join(secrets, 'canary'), { recursive: true, mode: 0o700 });
      mkdirSync(join(secrets, 'slaves', 'ssh', 'keys'), { recursive: true, mode: 0o700 });
      chmodSync(secrets, 0o700);
      writeFileSync(join(secrets, 'canary', 'file-token'), CANARIES.file + '\n', { mode: 0o600 });
      writeFileSync(join(secrets, 'slaves', 'ssh', 'keys', 'jenkins@slave'), sshd.clientKey, { mode: 0o600 });
    });

    after(async () => {
      for (const k of ['BYOCI_SECRET_CANARY_ENV_TOKEN', 'DBUS_SESSION_BUS_ADDRESS']) {
        if (savedEnv[k] === undefined) delete process.env[k];
        else process.env[k] = savedEnv[k];
      }
      await new Promise<void>((r) => (hostServer ? hostServer.close(() => r()) : r()));
      await watcher?.close();
      await irc?.stop();
      await keyring?.stop();
      await sshd?.stop();
      repos?.remove();
      work?.remove();
    });

    function writeProposal(id: string, title: string, branch: string, approved: string): string {
      const file = join(work.dir, 'proposals', `${id}.yaml`);
      mkdirSync(join(work.dir, 'proposals'), { recursive: true });
      writeFileSync(
        file,
        [
          `title: ${JSON.stringify(title)}`,
          'source:',
          `  repo: ${JSON.stringify(sshd.url(repos.source))}`,
          `  branch: ${branch}`,
          'target:',
          `  repo: ${JSON.stringify(sshd.url(repos.target))}`,
          '  branch: main',
          `approved_revision: ${approved}`,
          'status: Approved',
          `commit_message: ${JSON.stringify(title)}`,
          'votes:',
          '  - reviewer: alice',
          '    vote: Approve',
          '',
        ].join('\n'),
      );
      return file;
    }

    async function land(received: Record<string, string>): Promise<{ summary: LandSummary; output: string; artefacts: string }> {
      const artefacts = join(work.dir, 'artefacts');
      const yaml = [
        `workdir: ${JSON.stringify(join(work.dir, 'runs'))}`,
        `artefacts: ${JSON.stringify(artefacts)}`,
        'secrets:',
        '  order: [env, file, keyring]',
        `  dir: ${JSON.stringify(join(work.dir, 'secrets'))}`,
        '  service: byoci-isolation',
        '  aliases:',
        '    git/ssh-key: slaves/ssh/keys/jenkins@slave',
        'plugins:',
        '  git:',
        `    knownHosts: ${JSON.stringify(sshd.knownHosts)}`,
        '  lxd:',
        `    socket: ${JSON.stringify(LXD_SOCKET)}`,
        `    prefix: ${prefix}`,
        `    image: ${LXD_TEST_IMAGE}`,
        '    user: 0', // the hostile code runs as root of the container
        '    group: 0',
        '  local:',
        `    dir: ${JSON.stringify(join(work.dir, 'proposals'))}`,
        '  canary: {}',
        '  irc:',
        '    server: 127.0.0.1',
        `    port: ${irc.port}`,
        '    tls: false',
        '    channels: [{ channel: "#landing" }]',
        'projects:',
        '  demo:',
        '    targets:',
        '      - forge: local',
        `        repo: ${JSON.stringify(sshd.url(repos.target))}`,
        '        branch: main',
        '    test:',
        '      backend: lxd',
        `      command: [node, hostile.mjs, ${PREFIX}]`,
        `      setEnv: { DECOY: ${DECOY_ENV} }`,
        // (naming BYOCI_SECRET_* here is refused by the config schema; see test/core/config.test.ts)
        '      env: [DBUS_SESSION_BUS_ADDRESS]',
        '      artefacts: [report.txt]',
        '      timeout: 600',
        '',
      ].join('\n');
      const config = loadConfig({ text: yaml, namespace: 'selftest', env: {} });
      const redactor = new Redactor();
      const lines: string[] = [];
      const jsonLines: string[] = [];
      const text = createLogger({ level: 'debug', redactor, write: (l) => lines.push(l) });
      const json = createLogger({ json: true, level: 'debug', redactor, write: (l) => jsonLines.push(l) });
      const log = tee(text, json); // every line both as console text and as --json
      const secretsConfig = secretsConfigSchema.parse(config.settings.secrets);
      // env store: in the bot's own environment, as a Jenkins credentials binding puts it;
      // scrubbed from process.env when the stores are made, as the CLI does.
      process.env.BYOCI_SECRET_CANARY_ENV_TOKEN = CANARIES.env;
      const stores = createStores(secretsConfig, { baseDir: config.configDir, scrubEnv: true });
      assert.equal(process.env.BYOCI_SECRET_CANARY_ENV_TOKEN, undefined);
      const bot = await Bot.create({
        config,
        registry: new Map([gitPlugin, lxdPlugin, localPlugin, ircPlugin, spyPlugin(received)].map((p) => [p.name, p])),
        defaultPlugins: ['git', 'lxd'],
        stores,
        log,
        redactor,
      });
      let summary: LandSummary;
      try {
        await bot.verifyOrThrow();
        summary = await bot.landAll();
      } finally {
        await bot.shutdown('done');
      }
      const copied = readdirSync(artefacts, { recursive: true, encoding: 'utf8' })
        .filter((f) => f.endsWith('report.txt'))
        .map((f) => readFileSync(join(artefacts, f), 'utf8'))
        .join('\n');
      return { summary, output: [...lines, ...jsonLines, JSON.stringify(summary)].join('\n'), artefacts: copied };
    }

    function assertNoCanary(where: string, text: string): void {
      const all = new Redactor();
      for (const v of [...Object.values(CANARIES), sshd.clientKey]) all.add(v);
      assert.ok(!all.leaks(text), `${where} shows a secret: ${text.split('\n').filter((l) => all.leaks(l)).slice(0, 3).join(' | ')}`);
      // the raw key lines too (the Redactor masks lines of 16+ characters)
      for (const line of sshd.clientKey.split('\n').filter((l) => l.length > 30)) assert.ok(!text.includes(line), `${where} shows a line of the push key`);
    }

    test('the hostile test command finds no secret, outputs show none, and the landing pushes with the key', async (t) => {
      if (!needs(t, 'LXD', lxdReason)) return;
      writeFileSync(join(repos.source, 'hostile.mjs'), readFileSync(join(ROOT, 'test/fixtures/secrets/hostile.mjs')));
      const approved = await branchWith(repos, 'hostile', { 'hostile.mjs': readFileSync(join(ROOT, 'test/fixtures/secrets/hostile.mjs'), 'utf8'), 'decoy.txt': `${DECOY_FILE}\n` }, 'Add a test suite');
      const file = writeProposal('hostile', 'Add a test suite', 'hostile', approved);
      const received: Record<string, string> = {};

      const { summary, output, artefacts } = await land(received);

      // The plugin that declared the canaries got each of them from its store.
      assert.deepEqual(received, { 'env-token': short(CANARIES.env), 'file-token': short(CANARIES.file), 'keyring-token': short(CANARIES.keyring) });
      assert.equal(summary.results.length, 1);
      const result = summary.results[0]!;
      assert.equal(result.kind, 'landed', JSON.stringify(result).slice(0, 2000));

      // Pushed over ssh with the key: main is the tested merge, which holds the hostile suite.
      const main = await gitIn(repos.target, ['rev-parse', 'refs/heads/main']);
      assert.equal(result.kind === 'landed' && result.revision, main);
      assert.equal(await gitIn(repos.target, ['show', 'main:decoy.txt']), DECOY_FILE);

      // What the hostile command reported (copied back as an artefact).
      const report = parseReport(artefacts);
      assert.equal(report.lines.at(-1), 'DONE', artefacts);
      // Positive controls: each search works.
      assert.ok(report.found.get(short(DECOY_FILE))?.some((w) => w.endsWith('/decoy.txt')), 'the file search finds the decoy in the tree');
      assert.ok(report.found.get(short(DECOY_ENV))?.includes('env:DECOY'), 'the environment search finds the decoy variable');
      assert.ok(report.found.get(short(DECOY_ENV))?.includes('/proc/environ'), 'the /proc search finds the decoy variable');
      assert.ok(report.lines.includes('AGENT self keys=0'), 'the socket search finds an ssh-agent (its own)');
      assert.ok(report.lines.includes('PORT 127.0.0.1 self'), 'the port scan finds a listener (its own)');
      assert.ok(report.lines.includes('FILES some'));
      // ...and nothing else: no canary, no key line, no agent, no port of the slave.
      const canaryHashes = new Set(Object.values(CANARIES).map(short));
      const leaks = [...report.found.entries()].filter(([hash]) => canaryHashes.has(hash));
      assert.deepEqual(leaks, [], 'no canary anywhere in the container');
      const unknown = [...report.found.keys()].filter((h) => ![short(DECOY_FILE), short(DECOY_ENV), short(`${PREFIX}-selfport-control`)].includes(h));
      assert.deepEqual(unknown, [], 'no other token of ours either');
      assert.deepEqual(report.lines.filter((l) => l.startsWith('FOUND-BASE64')), []);
      assert.deepEqual(report.lines.filter((l) => l.startsWith('KEY ')), [], 'no private key readable in the container');
      assert.deepEqual(report.lines.filter((l) => l.startsWith('AGENT') && l !== 'AGENT self keys=0'), [], 'no ssh-agent of the slave');
      assert.deepEqual(report.lines.filter((l) => l.startsWith('PORT') && l !== 'PORT 127.0.0.1 self'), [], 'no loopback port of the slave');

      // No output of the landing shows a secret in any form: console, --json, summary,
      // the proposal file (comment/status), the artefacts.
      assert.match(output, /\[REDACTED\]/, 'the spy logged its secrets, masked');
      assertNoCanary('the console and --json output', output);
      assertNoCanary('the artefacts', artefacts);
      assertNoCanary('the proposal file', readFileSync(file, 'utf8'));
      assert.match(readFileSync(file, 'utf8'), /status: Merged/);
      assert.deepEqual(await instancesWithPrefix(prefix), [], 'the container is gone');
      const announced = await watcher.waitFor((l) => l.command === 'PRIVMSG' && /landed Add a test suite/.test(l.params[1] ?? ''), 20_000);
      assertNoCanary('the IRC line', announced.raw);
    });

    test('a rejection whose message carries every secret is posted masked', async (t) => {
      if (!needs(t, 'LXD', lxdReason)) return;
      await gitIn(repos.source, ['fetch', '--quiet', 'origin']);
      await gitIn(repos.source, ['checkout', '--quiet', '-B', 'leaky', 'origin/main']);
      const approved = await branchWith(repos, 'leaky', { 'leaky.txt': 'x\n' }, 'A leaky change');
      const file = writeProposal('leaky', 'A leaky change', 'leaky', approved);
      const { summary, output } = await land({});
      const result = summary.results.find((r) => r.proposal.id === 'local:leaky');
      assert.equal(result?.kind, 'rejected');
      const proposalText = readFileSync(file, 'utf8');
      assert.match(proposalText, /Re: \[Merge\]/);
      assert.ok(proposalText.includes(REDACTION_MASK), 'the comment shows the masks');
      assertNoCanary('the rejection comment', proposalText);
      const announced = await watcher.waitFor((l) => l.command === 'PRIVMSG' && /rejected A leaky change/.test(l.params[1] ?? ''), 20_000);
      assert.ok(announced.raw.includes(REDACTION_MASK), announced.raw);
      assertNoCanary('the IRC line', watcher.lines.map((l) => l.raw).join('\n'));
      assertNoCanary('the console and --json output', output);
    });
  });
});
