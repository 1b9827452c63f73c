/**
 * Fuzz-style robustness of what users hand byoci (issue 12 acceptance): a seeded corpus
 * of mutants of a config file, of proposal files and of real webhook deliveries. Bounded
 * by count and by seconds; the same seed gives the same corpus (BYOCI_FUZZ_SEED to vary,
 * BYOCI_FUZZ_COUNT to grow it). Asserts: no internal error (exit 3) and no stack trace for
 * bad input, every other proposal still lands, no byte lost in rewritten files, peak
 * memory under a stated bound.
 */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createRequire } from 'node:module';
import { parseDocument } from 'yaml';
import type { LandSummary } from '../../core/bot.js';
import { loadConfig } from '../../core/config.js';
import { ConfigError, exitCodeFor, formatProblem } from '../../core/errors.js';
import { validatePluginConfig } from '../../core/plugin-api.js';
import gitPlugin from '../../plugins/git/index.js';
import host from '../../plugins/host/index.js';
import irc from '../../plugins/irc/index.js';
import local from '../../plugins/local/index.js';
import { reportOutcome } from '../../plugins/local/report.js';
import { readProposalFile } from '../../plugins/local/store.js';
import { receiveWebhook, WebhookError as GithubWebhookError } from '../../plugins/github/webhooks.js';
import { parseWebhook, WebhookError as LaunchpadWebhookError } from '../../plugins/launchpad/webhooks.js';
import { withTestBot } from '../support/bot.js';
import { missingCommands, suiteNeeds } from '../support/components.js';
import { branchWith, makeRepos, tempDir, type Repos } from '../support/git-repos.js';
import { prng } from '../support/junk.js';

const require = createRequire(import.meta.url);
const webhookExamples = require('@octokit/webhooks-examples') as unknown;
const SEED = Number(process.env.BYOCI_FUZZ_SEED ?? 20261201);
const COUNT = Number(process.env.BYOCI_FUZZ_COUNT ?? 300);
/** Wall-time budget of one corpus, ms: the loop stops there whatever COUNT says. */
const BUDGET_MS = 6000;
/** Peak resident memory of this test process, stated bound. */
const MAX_RSS_BYTES = 1024 * 1024 * 1024;
const STACK = /\n\s+at |ReferenceError|TypeError|RangeError|SyntaxError|Cannot read properties|is not a function/;

/** Text mutations that people and tools really produce, plus YAML's dangerous corners. */
const INSERTS = [
  '*nope', '&a', '!!binary', '!!js/function "x"', '__proto__', 'constructor', '{toString}', '{vars.loop}', '<<: *a', '? ', '- ', ': ', '\t', '\0', '\u00e9', '\uFEFF',
  '"', "'", '|', '>', '[', ']', '{', '}', '#', '%YAML 1.1\n---\n', '...\n', '---\n', '99999999999999999999', '25d', '-1', '1e999', 'null', '~', 'true', '0x1F',
];

function mutateText(text: string, rand: ReturnType<typeof prng>): string {
  const lines = text.split('\n');
  const i = rand.int(lines.length);
  switch (rand.int(7)) {
    case 0:
      lines.splice(i, 1);
      break;
    case 1:
      lines.splice(i, 0, lines[rand.int(lines.length)]!);
      break;
    case 2: {
      const line = lines[i]!;
      const at = rand.int(line.length + 1);
      lines[i] = line.slice(0, at) + rand.pick(INSERTS) + line.slice(at);
      break;
    }
    case 3:
      lines[i] = lines[i]!.replace(/: .*$/, `: ${rand.pick(INSERTS)}`);
      break;
    case 4:
      lines[i] = ' '.repeat(rand.int(6)) + lines[i]!.trimStart();
      break;
    case 5: {
      const bytes = Buffer.from(text);
      bytes[rand.int(bytes.length)] = rand.int(256);
      return bytes.toString('latin1');
    }
    default:
      lines.splice(i, 0, `${rand.pick(['__proto__', 'constructor', 'brnach', 'x'])}: ${rand.pick(INSERTS)}`);
  }
  return lines.join('\n');
}

function mutants(base: string, seed: number, rounds = 3): Generator<string> {
  const rand = prng(seed);
  return (function* () {
    for (let n = 0; n < COUNT; n++) {
      let text = base;
      for (let r = 1 + rand.int(rounds); r > 0; r--) text = mutateText(text, rand);
      yield text;
    }
  })();
}

const CONFIG = `# byoci configuration
byoci: production
vars:
  owner: brz-team
  loop: "{vars.owner}/x"
landing:
  user: lander
  fullname: The Lander
  email: lander@example.invalid
workdir: /tmp/byoci-work
plugins:
  local:
    dir: ./proposals
  irc:
    server: irc.example.invalid
    channels: ["#brz"]
    timeout: 15s
projects:
  demo:
    targets:
      - forge: local
        repo: ./target.git
        branch: main
    test:
      backend: unsafe-host
      command: make check
      timeout: 1h
      noOutputTimeout: 10m
      env: [HOME]
      limits: {memory: 2GiB, processes: 100}
testing:
  landing:
    user: "{vars.owner}-tester"
`;

describe('fuzz: configuration files', () => {
  test(`${COUNT} mutants of a config: each loads or is a located config error, never an internal error`, () => {
    const started = Date.now();
    let errors = 0;
    let n = 0;
    for (const text of mutants(CONFIG, SEED)) {
      if (Date.now() - started > BUDGET_MS) break;
      n++;
      try {
        const config = loadConfig({ text, file: '/etc/byoci/byoci.yaml', env: {} });
        // Plugin sections are validated by each plugin's schema: named problems too.
        for (const plugin of [local, irc]) {
          for (const p of validatePluginConfig(plugin, config.settings.plugins[plugin.name]).problems) {
            assert.ok(p.path?.startsWith(`plugins.${plugin.name}`), `mutant ${n}: ${JSON.stringify(p)}`);
            assert.notEqual(p.message, 'Invalid input', `mutant ${n}: ${JSON.stringify(p)}`);
            assert.doesNotMatch(p.message, STACK);
          }
        }
      } catch (error) {
        assert.ok(error instanceof ConfigError, `mutant ${n}: ${(error as Error)?.stack}\n---\n${text}`);
        assert.equal(exitCodeFor(error), 2);
        errors++;
        for (const p of error.problems) {
          const line = formatProblem(p);
          assert.doesNotMatch(line, STACK, `mutant ${n}: ${line}`);
          assert.notEqual(p.message, 'Invalid input', `mutant ${n}: ${line}`);
          assert.ok(p.file || p.path, `mutant ${n}: a problem without a place: ${line}`);
        }
      }
    }
    assert.ok(n >= Math.min(COUNT, 10), `only ${n} mutants in the budget`);
    assert.ok(errors > 0 && errors < n, `some mutants load (${n - errors}) and some are errors (${errors})`);
  });
});

describe('fuzz: proposal files', suiteNeeds('git', missingCommands('git')), () => {
  let repos: Repos;
  let work: { dir: string; remove(): void };
  let approved: string;
  before(async () => {
    repos = await makeRepos();
    work = tempDir('byoci-fuzz-');
    approved = await branchWith(repos, 'good', { 'good.txt': 'good\n' }, 'good');
  });
  after(() => {
    work.remove();
    repos.remove();
  });

  const proposal = (target: string) => `# proposal written by a human
id: "{id}"
title: Add the frobnicator
source:
  repo: ${JSON.stringify(repos.source)}
  branch: good
target:
  repo: ${JSON.stringify(target)}
  branch: main
approved_revision: "{rev}"
status: Approved
commit_message: |
  Add the frobnicator
description: It frobs.
votes:
  - reviewer: alice
    vote: Approve
comments: []
x-note: kept as it is # not the bot's
`;

  test('mutants are read as proposals or listed as invalid files, never thrown', async () => {
    const dir = join(work.dir, 'read');
    mkdirSync(dir);
    const started = Date.now();
    let invalid = 0;
    let n = 0;
    for (const text of mutants(proposal(repos.target).replace('{rev}', approved), SEED + 1)) {
      if (Date.now() - started > BUDGET_MS) break;
      n++;
      const file = join(dir, `${n}.yaml`);
      writeFileSync(file, Buffer.from(text.replace('{id}', String(n)), 'latin1'));
      const result = await readProposalFile({ id: String(n), file });
      if (!result.ok) {
        invalid++;
        assert.doesNotMatch(result.error, STACK, `mutant ${n}: ${result.error}`);
        assert.ok(result.error.startsWith(file), `mutant ${n}: the error names the file: ${result.error}`);
      }
    }
    assert.ok(invalid > 0 && invalid < n, `${invalid} of ${n} invalid`);
  });

  test('rewrites of readable mutants keep every byte of the fields the bot does not own', async () => {
    const dir = join(work.dir, 'rewrite');
    mkdirSync(dir);
    const started = Date.now();
    let rewritten = 0;
    let refused = 0;
    let n = 0;
    const owned = new Set(['status', 'comments', 'merged_revision']);
    for (const text of mutants(proposal(repos.target).replace('{rev}', approved), SEED + 2)) {
      if (Date.now() - started > BUDGET_MS) break;
      n++;
      const file = join(dir, `${n}.yaml`);
      const bytes = Buffer.from(text.replace('{id}', String(n)), 'latin1');
      writeFileSync(file, bytes);
      const read = await readProposalFile({ id: String(n), file });
      if (!read.ok) continue;
      const meta = { invalid: false as const, file, localId: String(n), sourceLabel: 'a:b', targetLabel: 'c:main' };
      const outcome = { kind: 'rejected' as const, proposal: { id: `local:${n}`, meta } as never, project: {} as never, rejection: { code: 'tests-failed', reason: 'The tests failed (exit code 1).' } };
      let changed = false;
      try {
        changed = await reportOutcome(outcome, meta, { author: 'byoci', redact: (t) => t, now: () => new Date(0) });
      } catch (error) {
        assert.match((error as Error).message, /was left as it was/, `mutant ${n}: ${(error as Error).stack}`);
        assert.deepEqual(readFileSync(file), bytes, `mutant ${n}: a refused rewrite leaves the file as it was`);
        refused++;
        continue;
      }
      if (!changed) continue;
      rewritten++;
      const after = readFileSync(file).toString('latin1');
      // Every top-level field the bot does not own keeps its exact bytes (key, value, comments).
      const doc = parseDocument(bytes.toString('latin1'), { keepSourceTokens: true, uniqueKeys: false });
      const map = doc.contents as { items?: Array<{ key: { value?: unknown; range?: number[] } | null; value: { range?: number[] } | null }> };
      for (const pair of map.items ?? []) {
        const key = String(pair.key?.value);
        if (owned.has(key) || !pair.key?.range || !pair.value?.range) continue;
        const slice = bytes.toString('latin1').slice(pair.key.range[0], pair.value.range[1]);
        assert.ok(after.includes(slice), `mutant ${n}: the bytes of ${key} were changed:\n${JSON.stringify(slice)}\n---\n${after}`);
      }
    }
    assert.ok(rewritten > 0, `some mutants were rewritten (${rewritten}; ${refused} refused)`);
  });

  test('one landing run with a directory full of mutants: every good proposal still lands', async () => {
    const proposals = join(work.dir, 'land');
    mkdirSync(proposals);
    writeFileSync(join(proposals, '1.yaml'), proposal(repos.target).replace('{id}', '1').replace('{rev}', approved));
    let n = 1;
    for (const text of mutants(proposal(repos.target).replace('{rev}', approved).replace('branch: good', 'branch: nope'), SEED + 3)) {
      if (++n > 41) break;
      writeFileSync(join(proposals, `${n}.yaml`), Buffer.from(text.replace('{id}', String(n)), 'latin1'));
    }
    const yaml = [
      `workdir: ${JSON.stringify(join(work.dir, 'w'))}`,
      `artefacts: ${JSON.stringify(join(work.dir, 'a'))}`,
      'plugins:',
      '  local:',
      `    dir: ${JSON.stringify(proposals)}`,
      'projects:',
      '  demo:',
      '    targets:',
      `      - {forge: local, repo: ${JSON.stringify(repos.target)}, branch: main}`,
      '    test: {backend: unsafe-host, command: "true", timeout: 60}',
      '',
    ].join('\n');
    const run = await withTestBot({ yaml, plugins: [local, gitPlugin, host], defaultPlugins: ['git', 'host'] }, async (bot, lines): Promise<LandSummary & { lines: string[] }> => ({ ...(await bot.landAll()), lines }));
    assert.notEqual(run.exitCode, 3, run.lines.join('\n'));
    assert.deepEqual(run.results.filter((r) => r.kind === 'landed').map((r) => r.proposal.id), ['local:1'], run.lines.join('\n'));
    for (const r of run.results) assert.notEqual(r.kind, 'error', JSON.stringify(r));
    for (const line of run.lines) assert.doesNotMatch(line, STACK);
  });
});

describe('fuzz: webhook deliveries', () => {
  const SECRET = 'fuzz-webhook-secret';
  const sign = (alg: 'sha1' | 'sha256', body: Buffer) => `${alg}=${createHmac(alg, SECRET).update(body).digest('hex')}`;
  const examples = (webhookExamples as Array<{ name: string; examples: unknown[] }>).flatMap((e) => e.examples.map((payload) => ({ name: e.name, payload })));

  test(`${examples.length} real GitHub payloads and their mutants: an event or a 400/401, nothing else`, async () => {
    const rand = prng(SEED + 4);
    const started = Date.now();
    let accepted = 0;
    let n = 0;
    for (let i = 0; i < Math.max(COUNT, examples.length) && Date.now() - started < BUDGET_MS; i++) {
      const { name, payload } = examples[i % examples.length]!;
      let body = Buffer.from(JSON.stringify(payload));
      if (i >= examples.length) body = Buffer.from(mutateText(body.toString('latin1'), rand), 'latin1');
      const headers: Record<string, string | string[]> = { 'x-github-event': name, 'x-github-delivery': `d-${i}`, 'x-hub-signature-256': sign('sha256', body) };
      if (rand.int(6) === 0) headers['x-hub-signature-256'] = rand.pick([sign('sha256', Buffer.from(body.toString('utf8'))).toUpperCase(), '', 'sha1=00', [sign('sha256', body), sign('sha256', body)]]);
      if (rand.int(8) === 0) delete headers['x-github-event'];
      n++;
      try {
        await receiveWebhook({ secret: SECRET, headers, body });
        accepted++;
      } catch (error) {
        assert.ok(error instanceof GithubWebhookError, `delivery ${i} (${name}): ${(error as Error).stack}`);
        assert.ok(error.status === 400 || error.status === 401);
        assert.doesNotMatch(error.message, STACK);
      }
    }
    assert.ok(accepted > 0 && accepted < n, `${accepted} of ${n} accepted`);
  });

  test('Launchpad deliveries and their mutants: an event or a 400/401, nothing else', () => {
    const rand = prng(SEED + 5);
    const bases = [
      ['merge-proposal:0.1', { merge_proposal: '/~alice/brz/+git/brz/+merge/101', action: 'modified', old: { queue_status: 'Needs review' }, new: { queue_status: 'Approved', commit_message: 'Fix it' } }],
      ['git:push:0.1', { git_repository: '/~brz/brz/+git/brz', git_repository_path: '~brz/brz/+git/brz', ref_changes: { 'refs/heads/master': { old: { commit_sha1: 'a'.repeat(40) }, new: { commit_sha1: 'b'.repeat(40) } } } }],
      ['bzr:push:0.1', { bzr_branch: '/~brz/brz/trunk', bzr_branch_path: '~brz/brz/trunk', old: { revision_id: 'r1' }, new: { revision_id: 'r2' } }],
      ['ci:build:0.1', { build: '/~brz/brz/+git/brz/+build/7', action: 'status-changed', git_repository: '/~brz/brz/+git/brz', commit_sha1: 'd'.repeat(40), status: 'Failed to build' }],
      ['ping', { ping: true }],
    ] as const;
    const started = Date.now();
    let accepted = 0;
    let n = 0;
    for (let i = 0; i < Math.max(COUNT, bases.length) && Date.now() - started < BUDGET_MS; i++) {
      const [type, payload] = bases[i % bases.length]!;
      const body = Buffer.from(i < bases.length ? JSON.stringify(payload) : mutateText(JSON.stringify(payload, null, 1), rand), 'latin1');
      const headers: Record<string, string | string[]> = { 'X-Launchpad-Event-Type': type, 'X-Launchpad-Delivery': `${i}`, 'X-Hub-Signature': sign('sha1', body) };
      if (rand.int(6) === 0) headers['X-Hub-Signature'] = rand.pick([sign('sha1', body).toUpperCase(), ` ${sign('sha1', body)}`, [sign('sha1', body)], 'sha1=']);
      if (rand.int(8) === 0) headers['X-Launchpad-Event-Type'] = rand.pick(['', 'snap:build:0.1', '__proto__']);
      n++;
      try {
        const event = parseWebhook(headers, body, SECRET);
        assert.equal(typeof event.type, 'string', `delivery ${i}`);
        accepted++;
      } catch (error) {
        assert.ok(error instanceof LaunchpadWebhookError, `delivery ${i}: ${(error as Error).stack}`);
        assert.ok(error.status === 400 || error.status === 401, `delivery ${i}: status ${error.status}`);
        assert.doesNotMatch(error.message, STACK);
      }
    }
    assert.ok(accepted > 0 && accepted < n, `${accepted} of ${n} accepted`);
  });
});

test('peak memory of the fuzz run stays under the stated bound (1 GiB)', () => {
  const peak = process.resourceUsage().maxRSS * 1024;
  assert.ok(peak < MAX_RSS_BYTES, `peak RSS ${Math.round(peak / 1024 / 1024)} MiB`);
});
