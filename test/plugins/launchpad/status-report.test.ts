/**
 * byoci's result as a Launchpad revision status report (devel `newStatusReport`, then
 * `update` with the result and the log URL), through the launchpad plugin's report tap,
 * against a local Launchpad that keeps reports as the WADL describes them.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Outcome, Proposal } from '../../../hooks/index.js';
import launchpad from '../../../plugins/launchpad/index.js';
import { formatCredentials } from '../../../plugins/launchpad/credentials.js';
import type { LaunchpadMeta } from '../../../plugins/launchpad/discover.js';
import { applyPlugins } from '../../support/harness.js';
import { startLaunchpadSite, type LaunchpadSite } from '../../support/remote-ci-servers.js';
import { testSpec } from '../../support/spec.js';
import { CREDENTIALS } from './helpers.js';

const SOURCE = '~alice/calc/+git/calc';
const TARGET = '~calc-team/calc/+git/calc';
const APPROVED = 'a1'.repeat(20);
const MERGED = 'b2'.repeat(20);
const BUILD = 'https://jenkins.example.invalid/job/calc-land/9/console';

let lp: LaunchpadSite;
before(async () => {
  lp = await startLaunchpadSite();
});
after(() => lp.close());

function proposal(): Proposal {
  return {
    id: 'launchpad:~alice/calc/+git/calc/+merge/7',
    forge: 'launchpad',
    url: 'https://code.launchpad.net/~alice/calc/+git/calc/+merge/7',
    title: 'lp:~alice/calc:mul into lp:calc:main',
    source: { vcs: 'git', url: 'https://git.launchpad.net/~alice/calc', branch: 'mul' },
    target: { vcs: 'git', url: 'https://git.launchpad.net/calc', branch: 'main' },
    approvedRevision: APPROVED,
    commitMessage: 'Add mul.',
    votes: [],
    readiness: { state: 'ready' },
    meta: {
      selfLink: `${lp.url}/devel/${SOURCE}/+merge/7`,
      targetLink: `${lp.url}/devel/${TARGET}`,
      sourceRepositoryLink: `${lp.url}/devel/${SOURCE}`,
      vcs: 'git',
      queueStatus: 'Approved',
      reviewedRevid: APPROVED,
      dateReviewed: null,
      subject: 'Re: [Merge] lp:~alice/calc:mul into lp:calc:main',
    },
  };
}

async function report(outcome: Outcome, config: Record<string, unknown> = {}): Promise<string[]> {
  const h = await applyPlugins([{ plugin: launchpad, config: { serviceRoot: lp.url, retryDelayMs: 1, retries: 0, ...config }, secrets: { oauth: formatCredentials(CREDENTIALS) } }], { buildUrl: BUILD });
  try {
    await h.hooks.report.promise(outcome);
    return h.lines;
  } finally {
    h.cleanup();
  }
}

test('started → Running with the log URL; landed → Succeeded, and a report on the merged revision; reruns add none', async () => {
  const project = { name: 'calc', targets: [], test: testSpec() };
  const p = proposal();
  await report({ kind: 'started', proposal: p, project });
  const started = lp.reportsOf(SOURCE, APPROVED);
  assert.deepEqual(started.map((r) => [r.title, r.result, r.url]), [['byoci', 'Running', BUILD]]);
  assert.match(String(started[0]!.result_summary), /landing this revision/);

  await report({ kind: 'started', proposal: p, project });
  assert.equal(lp.reportsOf(SOURCE, APPROVED).length, 1, 'a rerun updates, it does not add');

  await report({ kind: 'landed', proposal: p, project, revision: MERGED });
  assert.deepEqual(lp.reportsOf(SOURCE, APPROVED).map((r) => [r.title, r.result, r.result_summary]), [['byoci', 'Succeeded', `Landed as ${MERGED}`]]);
  assert.deepEqual(lp.reportsOf(TARGET, MERGED).map((r) => [r.title, r.result, r.url]), [['byoci', 'Succeeded', BUILD]]);
  const writes = lp.requests.filter((r) => r.startsWith('POST'));
  assert.equal(writes.filter((w) => w.includes(`/devel/${SOURCE}`) && !w.includes('+status') && !w.includes('+merge')).length, 1, 'one newStatusReport on the source');
});

test('rejected → Failed with the reason; a bzr proposal or statusReport: null writes none', async () => {
  const project = { name: 'calc', targets: [], test: testSpec() };
  const p = { ...proposal(), approvedRevision: 'c3'.repeat(20) };
  await report({ kind: 'rejected', proposal: p, project, rejection: { code: 'tests-failed', reason: 'The tests failed (exit code 1): 1 of 5 failed: t.A.test_b.' } });
  assert.deepEqual(lp.reportsOf(SOURCE, 'c3'.repeat(20)).map((r) => [r.result, r.result_summary]), [['Failed', 'The tests failed (exit code 1): 1 of 5 failed: t.A.test_b.']]);

  const before = lp.requests.length;
  const bzr = { ...proposal(), approvedRevision: 'd4'.repeat(20), meta: { ...(proposal().meta as LaunchpadMeta), vcs: 'bzr', sourceRepositoryLink: undefined } };
  await report({ kind: 'started', proposal: bzr, project });
  await report({ kind: 'started', proposal: { ...proposal(), approvedRevision: 'e5'.repeat(20) }, project }, { statusReport: null });
  assert.equal(lp.requests.slice(before).filter((r) => r.includes('StatusReport') || r.includes('getStatusReports')).length, 0);
});
