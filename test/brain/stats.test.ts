/**
 * BYOCI_BRAIN_STATS (brain/stats.ts): the brain writes one JSON line per second with its
 * event loop's delay, the time accepted deliveries took inside it, the fdatasyncs and the
 * trigger attempts, here checked against what the test sent over loopback HTTP.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { silentLogger } from '../../core/index.js';
import { startBrain } from '../../brain/index.js';
import { startJenkinsServer, type JenkinsServer } from '../support/jenkins-server.js';
import { GITHUB_SECRET, JENKINS, JOBS, LAUNCHPAD_SECRET, config, postGithub, push, until } from './helpers.js';

type Part = { n: number; p50: number; p99: number; max: number };
type Line = { at: number; eld: Part; total: Part; body: Part; parse: Part; commit: Part; sync: Part; attempts: { started: number; ended: number } };

describe('brain: BYOCI_BRAIN_STATS', () => {
  let dir: string;
  let jenkins: JenkinsServer;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'byoci-brain-stats-'));
    jenkins = await startJenkinsServer({ ...JENKINS, jobs: JOBS });
  });
  after(async () => {
    await jenkins?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('one line per second: the deliveries answered 202, their parts, the syncs, the attempts', async () => {
    const file = join(dir, 'stats.jsonl');
    const previous = process.env.BYOCI_BRAIN_STATS;
    process.env.BYOCI_BRAIN_STATS = file;
    let brain;
    try {
      brain = await startBrain({ config: config(jenkins.url), storePath: join(dir, 'byoci.db'), secrets: { github: GITHUB_SECRET, launchpad: LAUNCHPAD_SECRET, jenkinsToken: JENKINS.token }, log: silentLogger() });
    } finally {
      if (previous === undefined) delete process.env.BYOCI_BRAIN_STATS;
      else process.env.BYOCI_BRAIN_STATS = previous;
    }
    try {
      const answers = await Promise.all([1, 2, 3, 4, 5].map((k) => postGithub(brain.url, 'push', `stats-${process.pid}-${k}`, push({ branch: `stats-${k}`, after: String(k).repeat(40) }))));
      assert.deepEqual(answers.map((a) => a.status), [202, 202, 202, 202, 202]);
      const forged = await postGithub(brain.url, 'push', `stats-${process.pid}-forged`, push({ branch: 'x', after: 'f'.repeat(40) }), 'not the secret');
      assert.equal(forged.status, 401);
      await until(() => jenkins.builds.filter((b) => b.job === 'hello-test').length >= 5, 'five builds');
      await brain.dispatcher.idle();
    } finally {
      await brain.close();
    }
    assert.ok(existsSync(file), 'the stats file is written');
    const lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Line);
    assert.ok(lines.length >= 1);
    const sum = (f: (l: Line) => number) => lines.reduce((s, l) => s + f(l), 0);
    // Only deliveries answered 202 are timed (not the 401).
    assert.equal(sum((l) => l.total.n), 5);
    assert.equal(sum((l) => l.commit.n), 5);
    assert.ok(sum((l) => l.sync.n) >= 1, 'at least one fdatasync');
    assert.ok(sum((l) => l.eld.n) > 0, 'event-loop delay sampled');
    // In ms: a 1 ms timer is late by well under a minute (nanoseconds read as ms would not be).
    for (const l of lines) assert.ok(l.eld.max < 60_000, `event-loop delay in ms: ${l.eld.max}`);
    assert.ok(sum((l) => l.attempts.started) >= 5 && sum((l) => l.attempts.ended) === sum((l) => l.attempts.started), 'every attempt started ended');
    for (const l of lines.filter((x) => x.total.n)) {
      assert.ok(l.total.max >= l.commit.p50 && l.total.max > 0, 'the whole is at least its part');
      assert.ok(l.sync.n === 0 || l.sync.max > 0);
    }
  });
});
