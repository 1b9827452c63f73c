// /metrics' journal counts scan the whole journal; they are read by a worker thread on a
// connection of its own, so a scrape of a big journal does not hold the webhooks behind it.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { silentLogger } from '../../core/index.js';
import { BRAIN_MIGRATIONS } from '../../brain/journal.js';
import { startBrain } from '../../brain/index.js';
import { QUEUE_MIGRATIONS } from '../../core/queue/index.js';
import { TESTS_MIGRATIONS } from '../../core/test-report/index.js';
import { openStore } from '../../store/index.js';
import { startJenkinsServer } from '../support/jenkins-server.js';
import { GITHUB_SECRET, JENKINS, JOBS, LAUNCHPAD_SECRET, config, http } from './helpers.js';

const ROWS = 150_000;

describe('brain /metrics on a big journal', () => {
  test('the counts are right, and /healthz is answered while they are being read', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'byoci-brain-metrics-'));
    const storePath = join(dir, 'byoci.db');
    // A journal with a long history, written directly (as years of deliveries would leave it).
    const seed = openStore(storePath, { migrations: [...QUEUE_MIGRATIONS, ...TESTS_MIGRATIONS, ...BRAIN_MIGRATIONS] });
    const insert = seed.prepare(
      `INSERT INTO brain_deliveries (source, delivery_id, name, kind, repo, summary, event_json, body_bytes, received_at)
       VALUES (?, ?, 'pull_request_review', ?, 'o/r', 's', '{}', 8000, ?)`,
    );
    seed.transaction(() => {
      for (let i = 0; i < ROWS; i++) insert.run(i % 5 ? 'github' : 'launchpad', `old-${i}`, i % 2 ? 'approved' : 'push', i);
    })();
    seed.close();
    const jenkins = await startJenkinsServer({ ...JENKINS, jobs: JOBS });
    const brain = await startBrain({
      config: config(jenkins.url, { retention: 'forever' }), // its history is from 1970: kept for the counts
      storePath,
      secrets: { github: GITHUB_SECRET, launchpad: LAUNCHPAD_SECRET, jenkinsToken: JENKINS.token },
      log: silentLogger(),
    });
    try {
      const order: string[] = [];
      const metrics = http(new URL('metrics', brain.url).toString()).then((a) => (order.push('metrics'), a));
      // Asked after the scrape: answered before it, as the intake thread is not scanning.
      await new Promise((resolve) => setTimeout(resolve, 5));
      const health = http(new URL('healthz', brain.url).toString()).then((a) => (order.push('healthz'), a));
      const [m, h] = await Promise.all([metrics, health]);
      assert.equal(h.status, 200, h.body);
      assert.equal(m.status, 200, m.body);
      assert.deepEqual(order, ['healthz', 'metrics'], 'the health check waited for the scrape: the counts ran on the intake thread');
      const count = (source: string, kind: string) => Number(new RegExp(`^byoci_brain_journaled_deliveries\\{source="${source}",kind="${kind}"\\} (\\d+)$`, 'm').exec(m.body)?.[1]);
      assert.equal(count('github', 'approved') + count('github', 'push') + count('launchpad', 'approved') + count('launchpad', 'push'), ROWS);
      assert.equal(count('launchpad', 'push'), ROWS / 10);
    } finally {
      await brain.close();
      await jenkins.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
