/**
 * The dispatcher during and after a burst of webhooks (dispatcher.ts): while deliveries keep
 * arriving one trigger is in flight, and the pokes of the deliveries meanwhile are skipped
 * (nothing could start); so the look after the burst must come from the timer, not from the
 * attempt in flight. Here that attempt hangs (Jenkins does not answer it): the other
 * decisions must still reach Jenkins right after the burst, long before the hung request's
 * timeout, and the hung one once Jenkins refuses it and it is retried: each exactly once.
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

const N = 30;

describe('dispatcher: a burst with its one attempt in flight hung', () => {
  test('after the burst the other decisions go out at once; the hung one after its refusal; each once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'byoci-burst-'));
    const jenkins = await startJenkinsServer({ ...JENKINS, jobs: [{ name: 'calc-test', params: { BYOCI_DECISION: '', REVISION: '' } }] });
    jenkins.holdNext(1);
    const brain = await startBrain({
      config: brainConfigSchema.parse({
        listen: { host: '127.0.0.1', port: 0 },
        sources: ['github'],
        // The hung request would time out after 20 s: everything below must happen long before.
        jenkins: { url: jenkins.url, user: JENKINS.user, timeout: '20s', retryMin: '10ms', retryMax: '50ms', concurrency: 4 },
        rules: [{ name: 'calc-push', on: ['push'], source: 'github', repo: 'octo/calc', job: 'calc-test', params: { REVISION: '${revision}' } }],
      }),
      storePath: join(dir, 'byoci.db'),
      secrets: { github: GITHUB_SECRET, jenkinsToken: JENKINS.token },
      log: silentLogger(),
    });
    try {
      const rev = (i: number) => i.toString(16).padStart(40, '0');
      // Back to back: less than 50 ms apart, a burst. The first decision's POST hangs.
      for (let i = 0; i < N; i++) {
        const answer = await postGithub(brain.url, 'push', `burst-${i}`, push({ repo: 'octo/calc', branch: 'main', after: rev(i) }));
        assert.equal(answer.status, 202, answer.body);
      }
      const burstEnded = Date.now();
      await until(() => jenkins.builds.length === N - 1, `${N - 1} builds while the first request hangs`, 5_000);
      assert.equal(jenkins.held.length, 1, 'the first request is still unanswered');
      assert.ok(Date.now() - burstEnded < 5_000);
      jenkins.release(); // 503: refused, nothing queued; the decision is retried
      await until(() => jenkins.builds.length === N, 'the refused decision, retried', 5_000);
      await brain.dispatcher.idle();
      const revisions = jenkins.builds.map((b) => b.params.REVISION).sort();
      assert.deepEqual(revisions, Array.from({ length: N }, (_, i) => rev(i)).sort(), 'each decision reached Jenkins once');
      assert.equal(new Set(jenkins.builds.map((b) => b.params.BYOCI_DECISION)).size, N);
    } finally {
      jenkins.release();
      await brain.close();
      await jenkins.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
