/**
 * The dispatcher of a brain that starts with a backlog (dispatcher.ts start): the moment it
 * starts counts as a delivery, so for its first BURST_GAP_MS it sends as during a burst (one
 * trigger in flight, one started every BURST_PACE_MS) and leaves the event loop to the
 * deliveries the forges send again after an outage; then the backlog drains at full
 * concurrency, each decision once.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { silentLogger } from '../../core/index.js';
import { brainConfigSchema, startBrain } from '../../brain/index.js';
import { startJenkinsServer } from '../support/jenkins-server.js';
import { GITHUB_SECRET, JENKINS, postGithub, push, until } from './helpers.js';

const N = 12;
const JOB = { name: 'calc-test', params: { BYOCI_DECISION: '', REVISION: '' } };

function config(jenkinsUrl: string) {
  return brainConfigSchema.parse({
    listen: { host: '127.0.0.1', port: 0 },
    sources: ['github'],
    jenkins: { url: jenkinsUrl, user: JENKINS.user, timeout: '2s', retryMin: '10ms', retryMax: '20ms', concurrency: 4 },
    rules: [{ name: 'calc-push', on: ['push'], source: 'github', repo: 'octo/calc', job: 'calc-test', params: { REVISION: '${revision}' } }],
  });
}

describe('dispatcher: a brain starting with a backlog', () => {
  test('sends one trigger, the next one BURST_PACE_MS later, then the rest at full concurrency; each once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'byoci-start-'));
    const storePath = join(dir, 'byoci.db');
    const secrets = { github: GITHUB_SECRET, jenkinsToken: JENKINS.token };
    const rev = (i: number) => i.toString(16).padStart(40, '0');
    // A first brain journals the decisions while Jenkins is down (nothing listens on its port).
    const down = await startJenkinsServer({ ...JENKINS, jobs: [JOB] });
    const downUrl = down.url;
    await down.close();
    const first = await startBrain({ config: config(downUrl), storePath, secrets, log: silentLogger() });
    try {
      for (let i = 0; i < N; i++) {
        const answer = await postGithub(first.url, 'push', `start-${i}`, push({ repo: 'octo/calc', branch: 'main', after: rev(i) }));
        assert.equal(answer.status, 202, answer.body);
      }
    } finally {
      await first.close();
    }
    const jenkins = await startJenkinsServer({ ...JENKINS, jobs: [JOB] });
    const restarted = Date.now();
    const second = await startBrain({ config: config(jenkins.url), storePath, secrets, log: silentLogger() });
    try {
      await until(() => jenkins.builds.length === N, `${N} builds from the backlog`, 10_000);
      await second.dispatcher.idle();
      // When each attempt began (journaled before it is sent). At full concurrency from the
      // start, the first 4 would begin in the same turn of the event loop.
      const begun = (second.db.prepare('SELECT at FROM brain_attempts WHERE at >= ? ORDER BY at').pluck().all(restarted) as number[]);
      assert.ok(begun.length >= N, `${begun.length} attempts after the restart`);
      const gap = (begun[1] as number) - (begun[0] as number);
      assert.ok(gap >= 10, `the second attempt began ${gap} ms after the first`);
      const revisions = jenkins.builds.map((b) => b.params.REVISION).sort();
      assert.deepEqual(revisions, Array.from({ length: N }, (_, i) => rev(i)).sort(), 'each decision reached Jenkins once');
    } finally {
      await second.close();
      await jenkins.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
