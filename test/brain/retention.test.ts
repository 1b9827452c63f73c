/**
 * brain.retention on the real store: old deliveries whose decisions are all finished go
 * with their links, those decisions and their attempts; a pending or sending decision and
 * its deliveries stay (exactly once), recent rows stay, PR routes stay; the deletes run in
 * the worker thread in batches; /metrics and the status page agree with what is left; the
 * option's errors; and the intake keeps answering while a purge of a big journal runs.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { createLogger, silentLogger, type Fields } from '../../core/index.js';
import { brainConfigSchema, startBrain } from '../../brain/index.js';
import { fromGithub } from '../../brain/events.js';
import { BRAIN_MIGRATIONS, decisionId, Journal } from '../../brain/journal.js';
import { startRetention } from '../../brain/retention.js';
import { decide } from '../../brain/rules.js';
import { QUEUE_MIGRATIONS } from '../../core/queue/index.js';
import { TESTS_MIGRATIONS } from '../../core/test-report/index.js';
import { parseEvent } from '../../plugins/github/webhooks.js';
import { openStore, type Db } from '../../store/index.js';
import { byoci } from '../support/cli.js';
import { startJenkinsServer, type JobDef } from '../support/jenkins-server.js';
import { approval, GITHUB_SECRET, http, JENKINS, LAUNCHPAD_SECRET, postGithub, push, until } from './helpers.js';

const DAY = 86_400_000;
const MIGRATIONS = [...QUEUE_MIGRATIONS, ...TESTS_MIGRATIONS, ...BRAIN_MIGRATIONS];

const BRAIN = {
  listen: { host: '127.0.0.1', port: 0 },
  sources: ['github'],
  coalesce: '1s',
  rules: [
    { name: 'main-push', on: ['push'], repo: 'octo/calc', branch: 'main', job: 'calc-test', params: { REVISION: '${revision}' } },
    // Two decisions for one delivery: a push to `both`.
    { name: 'both-test', on: ['push'], repo: 'octo/calc', branch: 'both', job: 'calc-test', params: { REVISION: '${revision}' } },
    { name: 'both-lint', on: ['push'], repo: 'octo/calc', branch: 'both', job: 'calc-lint', params: { REVISION: '${revision}' } },
    { name: 'calc-land', on: ['pr-approved'], repo: 'octo/calc', branch: 'main', job: 'calc-land', land: true },
  ],
};
const JOBS: JobDef[] = [
  { name: 'calc-test', params: { BYOCI_DECISION: '', REVISION: '' } },
  { name: 'calc-lint', params: { BYOCI_DECISION: '', REVISION: '' } },
  { name: 'calc-land', params: { BYOCI_DECISION: '' } },
];
const rules = brainConfigSchema.parse({ ...BRAIN, jenkins: { url: 'http://127.0.0.1:9/', user: 'u' } }).rules;

const rev = (name: string) => Buffer.from(name).toString('hex').padEnd(40, '0').slice(0, 40);
function pushTo(id: string, branch: string) {
  return fromGithub(parseEvent('push', id, push({ repo: 'octo/calc', branch, after: rev(id) })), id);
}
function approve(id: string) {
  return fromGithub(parseEvent('pull_request_review', id, approval({ repo: 'octo/calc', number: 7, base: 'main' })), id);
}

function capture(): { log: ReturnType<typeof createLogger>; records: Fields[] } {
  const records: Fields[] = [];
  return { log: createLogger({ json: true, level: 'debug', write: (line) => records.push(JSON.parse(line) as Fields) }), records };
}

const ids = (db: Db, sql: string) => (db.prepare(sql).pluck().all() as string[]).sort();

/**
 * A journal 100 days old and 1 day old, made by the real Journal with its clock set back:
 * which decisions are finished, pending and sending is said by each name.
 */
async function history(db: Db, now: number) {
  let clock = now - 100 * DAY;
  const journal = new Journal({ db, decide: (e) => decide(rules, e), coalesceMs: 1000, now: () => clock });
  const accept = async (e: ReturnType<typeof pushTo>) => {
    const r = await journal.accept(e, 100);
    assert.equal(r.outcome, 'accepted');
    return r.outcome === 'accepted' ? r.triggers : [];
  };
  const sent = async (id: string, build = false) => {
    const row = await journal.beginAttempt(id);
    assert.ok(row);
    await journal.recordQueued(id, row.attempts, `http://jenkins/queue/item/${row.attempts}/`, 'sent', build ? 'http://jenkins/job/x/1/' : undefined);
  };
  const t: Record<string, string | undefined> = {};
  // Old, finished: one queued after a failed attempt, one started.
  [t.queued] = await accept(pushTo('old-queued', 'main'));
  const first = await journal.beginAttempt(t.queued!);
  await journal.recordFailure(t.queued!, first!.attempts, 'HTTP 503', clock + 1000);
  clock += 2000;
  await sent(t.queued!);
  [t.started] = await accept(pushTo('old-started', 'main'));
  await sent(t.started!, true);
  // Old, not finished: pending, and sending (an attempt under way).
  [t.pending] = await accept(pushTo('old-pending', 'main'));
  [t.sending] = await accept(pushTo('old-sending', 'main'));
  await journal.beginAttempt(t.sending!);
  // Old, two decisions: one finished, one pending: the delivery stays.
  [t.bothTest, t.bothLint] = await accept(pushTo('old-both', 'both'));
  await sent(t.bothTest!);
  // Old, no decision (no rule for this branch).
  assert.deepEqual(await accept(pushTo('old-none', 'other')), []);
  // Old, a burst of five approvals coalesced into one land decision, finished.
  for (let i = 1; i <= 5; i++) [t.land] = await accept(approve(`old-approval-${i}`));
  assert.equal(journal.trigger(t.land!)?.events, 5);
  clock += 20_000;
  assert.ok(journal.due(10).includes(t.land!));
  await sent(t.land!);
  // Commit → branch routes (as Launchpad pushes teach them): an old one (older than the
  // retention, younger than the 90 days after which the brain's start forgets it anyway) and a recent one.
  const route = db.prepare(`INSERT INTO brain_routes (source, repo, key, branch, delivery_id, learnt_at) VALUES ('launchpad', '~brz/brz/+git/brz', ?, 'master', 'lp-1', ?)`);
  route.run('rev:0000000000000000000000000000000000000001', now - 60 * DAY);
  route.run('rev:0000000000000000000000000000000000000002', now - DAY);
  // Recent: finished, and without a decision.
  clock = now - DAY;
  [t.recent] = await accept(pushTo('recent-queued', 'main'));
  await sent(t.recent!);
  await accept(pushTo('recent-none', 'other'));
  await journal.close();
  return t;
}

describe('journal retention', () => {
  test('old deliveries whose decisions are all finished go with their links, decisions and attempts; pending ones stay', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'byoci-retention-'));
    const storePath = join(dir, 'byoci.db');
    const db = openStore(storePath, { migrations: MIGRATIONS });
    try {
      const now = Date.now();
      const t = await history(db, now);
      const { log, records } = capture();
      // Batches of 3 rows: the land decision's 5 links span batches, as a big burst's would.
      const retention = startRetention({ db, storePath, retentionMs: 30 * DAY, log, lastDeliveryAt: () => -Infinity, batchRows: 3, pauseMs: 0, intervalMs: 3_600_000, now: () => now });
      const again = await retention.runNow(); // after the round run at start
      await retention.stop();
      assert.deepEqual(again, { deliveries: 0, links: 0, triggers: 0, attempts: 0, routes: 0 }, 'a second round finds nothing more');
      const done = records.find((r) => r.msg === 'journal retention: deleted what is older than brain.retention');
      assert.ok(done, JSON.stringify(records));
      assert.equal(done.level, 'info');
      // 8 deliveries: queued, started, none and the 5 approvals; 4 decisions: queued, started,
      // both-test and land; their 8 links; 5 attempts (queued's 2, started's, both-test's, land's); 1 route.
      assert.deepEqual(
        { deliveries: done.deliveries, links: done.links, triggers: done.triggers, attempts: done.attempts, routes: done.routes },
        { deliveries: 8, links: 8, triggers: 4, attempts: 5, routes: 1 },
      );
      assert.ok(Number(done.batches) >= 26 / 3, `in batches of at most 3 rows (${done.batches} batches)`);
      assert.equal(done.before, new Date(now - 30 * DAY).toISOString());

      assert.deepEqual(ids(db, `SELECT delivery_id FROM brain_deliveries`), ['old-both', 'old-pending', 'old-sending', 'recent-none', 'recent-queued']);
      assert.deepEqual(ids(db, `SELECT id FROM brain_triggers`), [t.bothLint, t.pending, t.recent, t.sending].sort());
      assert.deepEqual(ids(db, `SELECT trigger_id || ' ' || delivery_id FROM brain_trigger_deliveries`), [
        `${t.bothLint} old-both`,
        `${t.pending} old-pending`,
        `${t.recent} recent-queued`,
        `${t.sending} old-sending`,
      ].sort());
      assert.deepEqual(ids(db, `SELECT trigger_id || ' ' || attempt || ' ' || outcome FROM brain_attempts`), [`${t.recent} 1 queued`, `${t.sending} 1 sending`].sort());
      assert.deepEqual(ids(db, `SELECT key FROM brain_routes`), ['pr:7', 'rev:0000000000000000000000000000000000000002'], 'the PR route (old) and the recent commit route stay');
      assert.deepEqual(db.pragma('foreign_key_check'), []);

      // Exactly once holds for what is kept: the pending decision is still due, its delivery still a duplicate.
      const journal = new Journal({ db, decide: (e) => decide(rules, e), coalesceMs: 1000 });
      assert.ok(journal.due(10).includes(t.pending!));
      assert.deepEqual(await journal.accept(pushTo('old-pending', 'main'), 100), { outcome: 'duplicate' });
      assert.deepEqual(await journal.accept(pushTo('recent-none', 'other'), 100), { outcome: 'duplicate' });
      // What retention costs: a forgotten delivery id is new again (hence its minimum, above the forges' redelivery windows).
      assert.equal((await journal.accept(pushTo('old-queued', 'main'), 100)).outcome, 'accepted');
      await journal.close();
    } finally {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('old deliveries of a pending decision do not stall the rounds: kept rows are stepped over (cursor), even sharing one timestamp', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'byoci-retention-'));
    const storePath = join(dir, 'byoci.db');
    const db = openStore(storePath, { migrations: MIGRATIONS });
    try {
      const at = Date.now() - 60 * DAY;
      const delivery = db.prepare(
        `INSERT INTO brain_deliveries (source, delivery_id, name, kind, repo, summary, event_json, body_bytes, received_at) VALUES ('github', ?, 'push', 'push', 'octo/calc', 's', '{}', 1, ?)`,
      );
      const trigger = db.prepare(`INSERT INTO brain_triggers (id, rule, job, params_json, state, created_at, next_at) VALUES (?, 'main-push', 'calc-test', '{}', ?, ?, ?)`);
      const link = db.prepare(`INSERT INTO brain_trigger_deliveries (trigger_id, source, delivery_id) VALUES (?, 'github', ?)`);
      const pending = decisionId(at);
      db.transaction(() => {
        // 20 deliveries of one burst (one millisecond) on a pending decision, then 20 of a finished one.
        trigger.run(pending, 'pending', at, at);
        for (let i = 0; i < 20; i++) (delivery.run(`p-${i}`, at), link.run(pending, `p-${i}`));
        const done = decisionId(at);
        trigger.run(done, 'queued', at, at);
        for (let i = 0; i < 20; i++) (delivery.run(`q-${i}`, at), link.run(done, `q-${i}`));
      })();
      const retention = startRetention({ db, storePath, retentionMs: 30 * DAY, log: silentLogger(), lastDeliveryAt: () => -Infinity, batchRows: 4, pauseMs: 0, intervalMs: 3_600_000 });
      await retention.runNow();
      await retention.stop();
      assert.deepEqual(ids(db, `SELECT delivery_id FROM brain_deliveries`), Array.from({ length: 20 }, (_, i) => `p-${i}`).sort());
      assert.deepEqual(ids(db, `SELECT id FROM brain_triggers`), [pending]);
      assert.equal((db.prepare(`SELECT COUNT(*) FROM brain_trigger_deliveries WHERE trigger_id = ?`).pluck().get(pending) as number), 20);
    } finally {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('commit → branch routes go after 90 days whatever the retention: with forever, and with 180d without any old delivery', async () => {
    for (const retentionMs of [null, 180 * DAY]) {
      const dir = mkdtempSync(join(tmpdir(), 'byoci-retention-'));
      const storePath = join(dir, 'byoci.db');
      const db = openStore(storePath, { migrations: MIGRATIONS });
      try {
        const now = Date.now();
        const route = db.prepare(`INSERT INTO brain_routes (source, repo, key, branch, delivery_id, learnt_at) VALUES ('launchpad', '~brz/brz/+git/brz', ?, 'master', 'lp-1', ?)`);
        route.run('rev:0000000000000000000000000000000000000001', now - 100 * DAY);
        route.run('rev:0000000000000000000000000000000000000002', now - 30 * DAY);
        route.run('pr:7', now - 200 * DAY);
        // Kept by both retentions (the 180d one finds no delivery old enough: the routes alone start the round).
        db.prepare(`INSERT INTO brain_deliveries (source, delivery_id, name, kind, repo, summary, event_json, body_bytes, received_at) VALUES ('github', 'old', 'push', 'push', 'o/r', 's', '{}', 1, ?)`).run(now - 150 * DAY);
        const { log, records } = capture();
        const retention = startRetention({ db, storePath, retentionMs, log, lastDeliveryAt: () => -Infinity, pauseMs: 0, intervalMs: 3_600_000, now: () => now });
        try {
          const again = await retention.runNow(); // after the round at start; steps over the old PR route
          assert.deepEqual(again, { deliveries: 0, links: 0, triggers: 0, attempts: 0, routes: 0 });
          const done = records.find((r) => r.msg === 'journal retention: deleted what is older than brain.retention');
          assert.equal(done?.routes, 1, JSON.stringify(records));
          assert.deepEqual(ids(db, `SELECT key FROM brain_routes`), ['pr:7', 'rev:0000000000000000000000000000000000000002'], `retention ${retentionMs}`);
          assert.deepEqual(ids(db, `SELECT delivery_id FROM brain_deliveries`), ['old']);
          // The next look starts after the PR routes already stepped over: a commit route past the cutoff since is found.
          route.run('rev:0000000000000000000000000000000000000003', now - 95 * DAY);
          assert.equal((await retention.runNow()).routes, 1);
          assert.deepEqual(ids(db, `SELECT key FROM brain_routes`), ['pr:7', 'rev:0000000000000000000000000000000000000002']);
        } finally {
          await retention.stop();
        }
      } finally {
        db.close();
        rmSync(dir, { recursive: true, force: true });
      }
    }
  });

  for (const threads of [false, true]) {
    test(`a round waits for a gap in the webhooks${threads ? ' (BYOCI_BRAIN_THREADS=1: the intake thread sees the deliveries it hands over)' : ''}`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'byoci-retention-'));
      const previous = process.env.BYOCI_BRAIN_THREADS;
      if (threads) process.env.BYOCI_BRAIN_THREADS = '1';
      else delete process.env.BYOCI_BRAIN_THREADS;
      const brain = await startBrain({
        config: brainConfigSchema.parse({ ...BRAIN, jenkins: { url: 'http://127.0.0.1:9/', user: 'u' }, retention: '30d' }),
        storePath: join(dir, 'byoci.db'),
        secrets: { github: GITHUB_SECRET, launchpad: LAUNCHPAD_SECRET, jenkinsToken: JENKINS.token },
        log: silentLogger(),
        retention: { pauseMs: 0, intervalMs: 3_600_000 },
      }).finally(() => {
        if (previous === undefined) delete process.env.BYOCI_BRAIN_THREADS;
        else process.env.BYOCI_BRAIN_THREADS = previous;
      });
      try {
        const old = brain.db.prepare(`INSERT INTO brain_deliveries (source, delivery_id, name, kind, repo, summary, event_json, body_bytes, received_at) VALUES ('github', ?, 'push', 'push', 'o/r', 's', '{}', 1, ?)`);
        // A first round without webhooks: the worker thread is started (hundreds of ms under tsx) before the burst.
        old.run('old-1', Date.now() - 60 * DAY);
        assert.equal((await brain.retention.runNow()).deliveries, 1);
        old.run('old-2', Date.now() - 60 * DAY);
        // A delivery every 10 ms for 1.2 s (to a branch no rule names): a burst.
        const answers: Promise<number>[] = [];
        const t0 = performance.now();
        let i = 0;
        const burst = setInterval(() => answers.push(postGithub(brain.url, 'push', `gap-${threads}-${i}`, push({ repo: 'octo/calc', branch: 'other', after: rev(`gap-${i++}`) })).then((a) => a.status)), 10);
        await new Promise((resolve) => setTimeout(resolve, 100));
        const purged = await brain.retention.runNow();
        const waited = performance.now() - t0;
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, 1_200 - (performance.now() - t0))));
        clearInterval(burst);
        assert.deepEqual([...new Set(await Promise.all(answers))], [202]);
        assert.equal(purged.deliveries, 1);
        // Without the gap's wait the round takes a few ms; with it, until the burst ends or 2 s.
        assert.ok(waited >= 600, `the round waited for the burst (done ${Math.round(waited)} ms after its start)`);
      } finally {
        await brain.close();
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }

  test('a failed round is logged as a warning and retried at the next one, never thrown', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'byoci-retention-'));
    const storePath = join(dir, 'byoci.db');
    const db = openStore(storePath, { migrations: MIGRATIONS });
    try {
      db.prepare(`INSERT INTO brain_deliveries (source, delivery_id, name, kind, repo, summary, event_json, body_bytes, received_at) VALUES ('github', 'old', 'push', 'push', 'o/r', 's', '{}', 1, 0)`).run();
      const { log, records } = capture();
      // The worker is pointed at a store without the journal's tables: each of its batches fails.
      const retention = startRetention({ db, storePath: join(dir, 'elsewhere', 'byoci.db'), retentionMs: 30 * DAY, log, lastDeliveryAt: () => -Infinity, intervalMs: 3_600_000 });
      assert.deepEqual(await retention.runNow(), { deliveries: 0, links: 0, triggers: 0, attempts: 0, routes: 0 });
      assert.equal(retention.rounds, 2);
      await retention.stop();
      const warnings = records.filter((r) => r.level === 'warn' && r.msg === 'journal retention failed: retried at the next round');
      assert.equal(warnings.length, 2, JSON.stringify(records));
      assert.match(String(warnings[0]?.error), /no such table: brain_triggers/);
      assert.ok(db.prepare(`SELECT 1 FROM brain_deliveries WHERE delivery_id = 'old'`).get(), 'nothing deleted');
    } finally {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('brain.retention: a duration of at least the sources\' redelivery windows, or forever', () => {
    const parse = (extra: Record<string, unknown>) => brainConfigSchema.safeParse({ jenkins: { url: 'http://127.0.0.1:9/', user: 'u' }, ...extra });
    const message = (extra: Record<string, unknown>) => {
      const r = parse(extra);
      assert.equal(r.success, false, JSON.stringify(extra));
      return r.success ? '' : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('\n');
    };
    const ok = (extra: Record<string, unknown>) => {
      const r = parse(extra);
      assert.ok(r.success, r.success ? '' : r.error.message);
      return r.data.retention;
    };
    assert.equal(ok({}), 90 * DAY, 'default 90d');
    assert.equal(ok({ retention: 'forever' }), null);
    assert.equal(ok({ retention: '14d', sources: ['github'] }), 14 * DAY);
    assert.equal(ok({ retention: '31d' }), 31 * DAY);
    assert.match(message({ retention: '3d', sources: ['github'] }), /^retention: must be at least 14d with source github \(got 3d\): GitHub redelivers deliveries of the past 3 days \(7 on GitHub Enterprise Server\)/);
    assert.match(message({ retention: '20d' }), /^retention: must be at least 31d with source launchpad \(got 20d\): Launchpad keeps a finished delivery for 30 days/);
    assert.match(message({ retention: 'soon' }), /^retention: not a duration: "soon" \(use e\.g\. 90d, or forever/);
    assert.match(message({ retention: -5 }), /^retention: not a duration: -5/);
  });

  test('byoci brain with a retention under the minimum: exit 2, naming brain.retention and the minimum', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'byoci-retention-'));
    try {
      const config = join(dir, 'byoci.yaml');
      writeFileSync(config, JSON.stringify({ workdir: join(dir, 'work'), brain: { ...BRAIN, jenkins: { url: 'http://127.0.0.1:9/', user: 'u' }, retention: '7d' } }));
      const r = await byoci(['--config', config, 'brain']);
      assert.equal(r.code, 2, r.stdout + r.stderr);
      assert.match(r.stderr, /brain\.retention: must be at least 14d with source github \(got 7d\)/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a brain purges at start; /metrics and the status page agree with what is left; the pending decisions still reach Jenkins', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'byoci-retention-'));
    const storePath = join(dir, 'byoci.db');
    const seed = openStore(storePath, { migrations: MIGRATIONS });
    const t = await history(seed, Date.now());
    seed.close();
    const jenkins = await startJenkinsServer({ ...JENKINS, jobs: JOBS });
    // Down at first: the old pending decisions stay pending during the round at start.
    jenkins.down();
    const { log, records } = capture();
    const brain = await startBrain({
      config: brainConfigSchema.parse({ ...BRAIN, jenkins: { url: jenkins.url, user: JENKINS.user, timeout: '2s', retryMin: '20ms', retryMax: '200ms', clockSkew: '1s' }, retention: '30d' }),
      storePath,
      secrets: { github: GITHUB_SECRET, launchpad: LAUNCHPAD_SECRET, jenkinsToken: JENKINS.token },
      log,
      retention: { pauseMs: 0 },
    });
    try {
      const round = () => records.find((r) => r.msg === 'journal retention: deleted what is older than brain.retention');
      await until(() => round() !== undefined, 'the round at start');
      const done = round() as Fields;
      assert.deepEqual(
        { deliveries: done.deliveries, links: done.links, triggers: done.triggers, attempts: done.attempts, routes: done.routes },
        { deliveries: 8, links: 8, triggers: 4, attempts: 5, routes: 1 },
      );
      assert.equal(done.scope, 'retention');
      // Each failed once while Jenkins was down: due again recently, so no later round takes the decisions.
      await until(() => [t.pending, t.sending, t.bothLint].every((d) => (brain.journal.trigger(d!)?.lastError ?? null) !== null), 'a failed attempt of each old pending decision');
      jenkins.up();
      await until(() => [t.pending, t.sending, t.bothLint].every((d) => jenkins.builds.some((b) => b.params.BYOCI_DECISION === d)), 'the old pending decisions reach Jenkins');
      await brain.dispatcher.idle();
      const sentDecisions = jenkins.builds.map((b) => b.params.BYOCI_DECISION);
      for (const kept of [t.pending, t.sending, t.bothLint]) assert.equal(sentDecisions.filter((d) => d === kept).length, 1, `${kept} reached Jenkins once`);

      // The store read before and after the scrape is the same (a best-effort follow of a queue item may still record a build).
      const statesNow = () => JSON.stringify(brain.db.prepare(`SELECT job, state, COUNT(*) AS n FROM brain_triggers GROUP BY job, state`).all());
      let metrics = '';
      for (let tries = 0; ; tries++) {
        const before = statesNow();
        metrics = (await http(new URL('metrics', brain.url).toString())).body;
        if (before === statesNow()) break;
        assert.ok(tries < 20, 'the decisions settle');
      }
      const sample = (name: string, labels: string) => Number(new RegExp(`^${name}\\{${labels}\\} (\\d+)$`, 'm').exec(metrics)?.[1] ?? 0);
      const kinds = brain.db.prepare(`SELECT kind, COUNT(*) AS n FROM brain_deliveries GROUP BY kind`).all() as { kind: string; n: number }[];
      assert.deepEqual(kinds.map((k) => k.kind).sort(), ['push'], 'the five old approvals went');
      for (const { kind, n } of kinds) assert.equal(sample('byoci_brain_journaled_deliveries', `source="github",kind="${kind}"`), n, `${kind}: ${metrics}`);
      assert.equal(sample('byoci_brain_journaled_deliveries', 'source="github",kind="pr-approved"'), 0);
      const states = brain.db.prepare(`SELECT job, state, COUNT(*) AS n FROM brain_triggers GROUP BY job, state`).all() as { job: string; state: string; n: number }[];
      for (const { job, state, n } of states) assert.equal(sample('byoci_brain_triggers', `job="${job}",state="${state}"`), n, `${job} ${state}`);
      assert.equal(sample('byoci_brain_triggers', 'job="calc-land",state="queued"'), 0, 'the land decision went');
      const failed = brain.db.prepare(`SELECT t.job, COUNT(*) AS n FROM brain_attempts a JOIN brain_triggers t ON t.id = a.trigger_id WHERE a.outcome = 'failed' GROUP BY t.job`).all() as { job: string; n: number }[];
      for (const { job, n } of failed) assert.equal(sample('byoci_brain_trigger_failures', `job="${job}"`), n, job);
      assert.equal(sample('byoci_brain_purged_rows_total', 'table="deliveries"'), 8);
      assert.equal(sample('byoci_brain_purged_rows_total', 'table="attempts"'), 5);
      assert.match(metrics, /^# TYPE byoci_brain_purged_rows_total counter$/m);

      const status = JSON.parse((await http(new URL('status.json', brain.url).toString())).body) as { deliveries: number; triggers: { id: string; state: string }[] };
      assert.equal(status.deliveries, brain.db.prepare(`SELECT COUNT(*) FROM brain_deliveries`).pluck().get() as number);
      const shown = new Map(status.triggers.map((x) => [x.id, x.state]));
      for (const gone of [t.queued, t.started, t.bothTest, t.land]) assert.ok(!shown.has(gone!), `${gone} was deleted and is not shown`);
      // queued, or started when the dispatcher's follow of the queue item (best effort, not awaited by idle()) already recorded the build
      for (const kept of [t.recent, t.pending, t.sending, t.bothLint]) assert.ok(['queued', 'started'].includes(shown.get(kept!) ?? ''), `${kept} is shown, queued or started: ${shown.get(kept!)}`);
      assert.equal((await http(brain.url)).status, 200);

      // A new delivery is journaled and triggers as before.
      const answer = await postGithub(brain.url, 'push', 'new-1', push({ repo: 'octo/calc', branch: 'main', after: rev('new-1') }));
      assert.equal(answer.status, 202, answer.body);
      await until(() => jenkins.builds.some((b) => b.params.REVISION === rev('new-1')), "the new delivery's build");
      await brain.dispatcher.idle();
      // The old deliveries' decisions are finished now: the next round takes the deliveries.
      // Their decisions were due again after their failed attempts (recently): they stay until that is old.
      const next = await brain.retention.runNow();
      assert.equal(next.deliveries, 3);
      assert.equal(next.triggers, 0);
      assert.deepEqual(ids(brain.db, `SELECT delivery_id FROM brain_deliveries`), ['new-1', 'recent-none', 'recent-queued']);
      assert.ok(ids(brain.db, `SELECT id FROM brain_triggers`).includes(t.pending!));
    } finally {
      await brain.close();
      await jenkins.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the intake keeps answering while a purge of a big journal runs (100,000 old deliveries)', async () => {
    const ROWS = 100_000;
    const dir = mkdtempSync(join(tmpdir(), 'byoci-retention-'));
    const storePath = join(dir, 'byoci.db');
    // Years of history written directly: each delivery with a finished decision, its link and attempt.
    const seed = openStore(storePath, { migrations: MIGRATIONS });
    const old = Date.now() - 200 * DAY;
    const ins = {
      d: seed.prepare(`INSERT INTO brain_deliveries (source, delivery_id, name, kind, repo, summary, event_json, body_bytes, received_at) VALUES ('github', ?, 'push', 'push', 'octo/calc', 'octo/calc main', '{}', 8000, ?)`),
      t: seed.prepare(`INSERT INTO brain_triggers (id, rule, job, params_json, state, created_at, next_at, attempts, sent_at, queue_url) VALUES (?, 'main-push', 'calc-test', '{}', 'queued', ?, ?, 1, ?, 'q')`),
      l: seed.prepare(`INSERT INTO brain_trigger_deliveries (trigger_id, source, delivery_id) VALUES (?, 'github', ?)`),
      a: seed.prepare(`INSERT INTO brain_attempts (trigger_id, attempt, at, outcome, detail) VALUES (?, 1, ?, 'queued', 'q')`),
    };
    const first = decisionId(old);
    seed.transaction(() => {
      for (let i = 0; i < ROWS; i++) {
        const at = old + i * 100;
        const id = i === 0 ? first : decisionId(at);
        ins.d.run(`old-${i}`, at);
        ins.t.run(id, at, at, at);
        ins.l.run(id, `old-${i}`);
        ins.a.run(id, at);
      }
    })();
    seed.close();
    const jenkins = await startJenkinsServer({ ...JENKINS, jobs: JOBS });
    const brain = await startBrain({
      config: brainConfigSchema.parse({ ...BRAIN, jenkins: { url: jenkins.url, user: JENKINS.user, timeout: '2s', retryMin: '20ms', retryMax: '200ms' } }),
      storePath,
      secrets: { github: GITHUB_SECRET, launchpad: LAUNCHPAD_SECRET, jenkinsToken: JENKINS.token },
      log: silentLogger(),
    });
    let closed = false;
    try {
      const gone = (id: string) => brain.db.prepare(`SELECT 1 FROM brain_triggers WHERE id = ?`).get(id) === undefined;
      await until(() => gone(first), 'the purge under way', 30_000);
      const answers: number[] = [];
      for (let i = 0; i < 30; i++) answers.push((await postGithub(brain.url, 'push', `new-${i}`, push({ repo: 'octo/calc', branch: 'main', after: rev(`new-${i}`) }))).status);
      assert.deepEqual(answers, Array(30).fill(202));
      // Every answer came while old rows were still to be deleted: the purge did not hold them.
      assert.ok(brain.db.prepare(`SELECT 1 FROM brain_deliveries WHERE delivery_id = ?`).get(`old-${ROWS - 1}`), 'the purge is still under way');
      await brain.dispatcher.idle();
      await brain.close(); // mid-round: stops after the batch under way
      closed = true;
      const db = openStore(storePath, { migrations: MIGRATIONS });
      try {
        assert.deepEqual(db.pragma('foreign_key_check'), []);
        assert.equal(db.prepare(`SELECT COUNT(*) FROM brain_deliveries WHERE delivery_id LIKE 'new-%'`).pluck().get(), 30);
        assert.equal(db.prepare(`SELECT COUNT(*) FROM brain_triggers WHERE created_at > ?`).pluck().get(Date.now() - DAY), 30, 'the new decisions are kept');
        const left = db.prepare(`SELECT COUNT(*) FROM brain_triggers`).pluck().get() as number;
        assert.ok(left > 30 && left < ROWS + 30, `part of the old decisions went (${ROWS + 30 - left})`);
      } finally {
        db.close();
      }
      assert.equal(new Set(jenkins.builds.map((b) => b.params.REVISION)).size, 30);
    } finally {
      if (!closed) await brain.close();
      await jenkins.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
