/**
 * Nothing lost, nothing doubled: Jenkins failing 30% of triggers (half of those after it
 * queued the build, the answer lost), and the real `byoci brain` killed with SIGKILL in the
 * middle of a burst then started again on the same store. Every accepted delivery's
 * decision reaches Jenkins exactly once. Bounded: 400 and 300 deliveries (the 10,000 of
 * the acceptance run in `npm run bench:brain`).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { silentLogger } from '../../core/index.js';
import { brainConfigSchema, startBrain } from '../../brain/index.js';
import { fire, pushDelivery, spawnBrain, SECRET, TOKEN, USER, type Delivery } from '../support/brain-process.js';
import { startJenkinsServer, type JenkinsServer } from '../support/jenkins-server.js';
import { example, http, until } from './helpers.js';

const JOBS = 4;

function loadBrain(jenkinsUrl: string): Record<string, unknown> {
  return {
    listen: { host: '127.0.0.1', port: 0 },
    sources: ['github'],
    coalesce: '100ms',
    jenkins: { url: jenkinsUrl, user: USER, timeout: '1s', retryMin: '10ms', retryMax: '100ms', concurrency: 8, clockSkew: '1s' },
    rules: Array.from({ length: JOBS }, (_, j) => ({
      name: `load-${j}`,
      on: ['push'],
      source: 'github',
      repo: 'octo/load',
      branch: `b${j}`,
      job: `load-${j}`,
      params: { REVISION: '${revision}', BRANCH: '${branch}' },
    })),
  };
}

function jobs() {
  return Array.from({ length: JOBS }, (_, j) => ({ name: `load-${j}`, params: { BYOCI_DECISION: '', REVISION: '', BRANCH: '' } }));
}

function deliveries(n: number, runId: string): (Delivery & { revision: string })[] {
  const base = example('push');
  return Array.from({ length: n }, (_, i) => pushDelivery(base, i, `b${i % JOBS}`, 2048, runId));
}

/** Every revision reached Jenkins exactly once, and nothing else did. */
function assertExactlyOnce(jenkins: JenkinsServer, sent: { revision: string }[]): void {
  const counts = new Map<string, number>();
  for (const b of jenkins.builds) counts.set(b.params.REVISION ?? '', (counts.get(b.params.REVISION ?? '') ?? 0) + 1);
  const lost = sent.filter((d) => !counts.has(d.revision)).length;
  const doubled = [...counts.values()].filter((c) => c > 1).length;
  assert.deepEqual({ lost, doubled, builds: jenkins.builds.length }, { lost: 0, doubled: 0, builds: sent.length });
  assert.equal(new Set(jenkins.builds.map((b) => b.params.BYOCI_DECISION)).size, sent.length, 'one decision id per build');
}

async function drained(url: string): Promise<boolean> {
  const h = JSON.parse((await http(new URL('healthz', url).toString())).body) as { inFlight: number; nextDue: number | null };
  return h.inFlight === 0 && h.nextDue === null;
}

// Both ways the brain can run: on one thread (the default), and with BYOCI_BRAIN_THREADS=1
// (the journal and the dispatcher on the journal thread, brain/journal-thread.ts).
for (const threads of [false, true]) describe(threads ? 'exactly once, BYOCI_BRAIN_THREADS=1 (journal thread)' : 'exactly once', () => {
  let dir: string;
  const previous = process.env.BYOCI_BRAIN_THREADS;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'byoci-once-'));
    if (threads) process.env.BYOCI_BRAIN_THREADS = '1';
    else delete process.env.BYOCI_BRAIN_THREADS;
  });
  after(() => {
    if (previous === undefined) delete process.env.BYOCI_BRAIN_THREADS;
    else process.env.BYOCI_BRAIN_THREADS = previous;
    rmSync(dir, { recursive: true, force: true });
  });

  test('400 deliveries, Jenkins failing 30% of triggers (half with the answer lost): each decision once', async () => {
    const jenkins = await startJenkinsServer({ user: USER, token: TOKEN, jobs: jobs(), failRate: 0.3, loseAnswerShare: 0.5, seed: 7 });
    const brain = await startBrain({
      config: brainConfigSchema.parse(loadBrain(jenkins.url)),
      storePath: join(dir, 'flaky.db'),
      secrets: { github: SECRET, jenkinsToken: TOKEN },
      log: silentLogger(),
    });
    try {
      assert.equal(JSON.parse((await http(new URL('healthz', brain.url).toString())).body).threads, threads ? 2 : 1);
      const sent = deliveries(400, 'flaky');
      const answers = await fire(brain.url, sent, { concurrency: 16 });
      assert.deepEqual([...new Set([...answers.values()].map((a) => a.status))], [202]);
      await until(() => drained(brain.url), 'the backlog', 60_000);
      assertExactlyOnce(jenkins, sent);
      const lost = jenkins.requests.filter((r) => r.status === 0).length;
      const refused = jenkins.requests.filter((r) => r.status === 503).length;
      assert.ok(lost > 15 && refused > 15, `failures really happened (answers lost ${lost}, 503 ${refused})`);
      const found = (brain.db.prepare(`SELECT COUNT(*) AS n FROM brain_triggers WHERE found_by IN ('queue', 'build')`).get() as { n: number }).n;
      // A timeout on a loaded machine is one more lost answer: the check finds those too.
      assert.ok(found >= lost, `every build whose answer was lost was found by the check, not sent again (${found} found, ${lost} lost)`);
    } finally {
      await brain.close();
      await jenkins.close();
    }
  });

  test('kill -9 of byoci brain mid-burst, then a restart: every accepted delivery triggers exactly once', async () => {
    const jenkins = await startJenkinsServer({ user: USER, token: TOKEN, jobs: jobs(), failRate: 0.3, loseAnswerShare: 0.5, seed: 11 });
    const home = mkdtempSync(join(dir, 'kill-'));
    try {
      const sent = deliveries(300, 'kill');
      let brain = await spawnBrain(home, loadBrain(jenkins.url));
      let killed = false;
      const first = await fire(brain.url, sent, {
        concurrency: 16,
        onAnswer: (_d, _shot, done) => {
          if (done === 150 && !killed) {
            killed = true;
            process.kill(brain.pid, 'SIGKILL');
          }
        },
      });
      await brain.kill9().catch(() => undefined);
      const accepted = [...first.entries()].filter(([, s]) => s.status === 202).map(([id]) => id);
      const unanswered = sent.filter((d) => first.get(d.id)?.status !== 202);
      assert.ok(accepted.length >= 150 && unanswered.length > 0, `killed midway (${accepted.length} accepted before the kill)`);

      brain = await spawnBrain(home, loadBrain(jenkins.url));
      assert.equal(JSON.parse((await http(new URL('healthz', brain.url).toString())).body).threads, threads ? 2 : 1);
      try {
        // What a forge does with deliveries that got no answer: it delivers them again.
        const second = await fire(brain.url, unanswered, { concurrency: 16 });
        const statuses = [...second.values()].map((s) => s.status);
        assert.ok(statuses.every((s) => s === 202 || s === 200), `redeliveries accepted or known: ${[...new Set(statuses)].join(',')}`);
        await until(() => drained(brain.url), 'the backlog after the restart', 60_000);
        assertExactlyOnce(jenkins, sent);
      } finally {
        assert.equal(await brain.stop(), 0);
      }
    } finally {
      await jenkins.close();
    }
  });
});
