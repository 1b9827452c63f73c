/**
 * The remote-ci plugin's gate, driven through the real hooks and interceptor against local
 * GitHub, Jenkins and Launchpad sites that answer with the documented shapes: green, red,
 * never reporting, flapping, slow and 5xx; a Jenkins job triggered for the revision; a
 * JUnit file at a URL; `byoci list`'s view from discover.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { Rejection, asRejection } from '../../../core/errors.js';
import type { Checkout, MergeResult, ProjectConfig, Proposal } from '../../../hooks/index.js';
import remoteCi from '../../../plugins/remote-ci/index.js';
import { applyPlugins, verifyPlugin } from '../../support/harness.js';
import { startGithubSite, startJenkinsSite, startLaunchpadSite, type GithubSite, type JenkinsSite, type LaunchpadSite } from '../../support/remote-ci-servers.js';
import { testSpec } from '../../support/spec.js';

const APPROVED = 'a'.repeat(40);
const MERGED = 'b'.repeat(40);
const project: ProjectConfig = { name: 'calc', targets: [{ forge: 'local', branch: { vcs: 'git', url: '/trunk', branch: 'main' }, options: {} }], test: testSpec() };
const proposal: Proposal = {
  id: 'local:7',
  forge: 'local',
  url: 'file:///proposals/7.yaml',
  title: 'Add mul',
  source: { vcs: 'git', url: '/src', branch: 'mul' },
  target: { vcs: 'git', url: '/trunk', branch: 'main' },
  approvedRevision: APPROVED,
  commitMessage: 'Add mul.',
  votes: [],
  readiness: { state: 'ready' },
};
const checkout: Checkout = { dir: '/nowhere', targetRevision: 'c'.repeat(40), sourceRevision: APPROVED };
const merge: MergeResult = { revision: MERGED };

let gh: GithubSite;
let jenkins: JenkinsSite;
let lp: LaunchpadSite;

before(async () => {
  [gh, jenkins, lp] = await Promise.all([startGithubSite('octo/calc'), startJenkinsSite(), startLaunchpadSite()]);
});
after(async () => {
  await Promise.all([gh.close(), jenkins.close(), lp.close()]);
});

function sites() {
  return {
    gh: { type: 'github', url: gh.url, repo: 'octo/calc' },
    ci: { type: 'jenkins', url: jenkins.url, user: 'lander' },
    lp: { type: 'launchpad', url: lp.url, repository: '~calc/calc/+git/calc' },
  };
}

interface GateRun {
  error: unknown;
  waits: string[];
  lines: string[];
  ms: number;
}

async function gate(require: unknown[], options: Record<string, unknown> = {}, harness: { dryRun?: boolean } = {}): Promise<GateRun> {
  const h = await applyPlugins(
    [{ plugin: remoteCi, config: { sites: sites(), require: { calc: require }, timeout: 5, interval: 0.05, requestTimeout: 1, retries: 1, ...options }, secrets: { 'github-token': 'ghp_t0ken', 'jenkins-token': 'jt0ken' } }],
    harness,
  );
  const waits: string[] = [];
  const started = Date.now();
  let error: unknown;
  try {
    await h.hooks.gate.promise({ proposal, project, checkout, merge, waiting: (w) => waits.push(w.join('; ')), signal: h.run.signal });
  } catch (e) {
    error = e;
  } finally {
    h.cleanup();
  }
  return { error, waits, lines: h.lines, ms: Date.now() - started };
}

function rejection(run: GateRun): Rejection {
  const r = asRejection(run.error);
  assert.ok(r, `expected a rejection, got ${String(run.error)}`);
  return r;
}

describe('github statuses and check runs', () => {
  test('green: every matching context and check run succeeded', async () => {
    const sha = APPROVED;
    gh.status(sha, 'ci/unit', 'success');
    gh.status(sha, 'ci/lint', 'success');
    gh.checkRun(sha, 'build', 'completed', 'success');
    gh.checkRun(sha, 'docs', 'completed', 'skipped');
    const run = await gate([{ site: 'gh', name: 'ci/*' }, { site: 'gh', name: 'build' }]);
    assert.equal(run.error, undefined);
    assert.deepEqual(run.waits, []);
    // The token went with every request (the site answered 200, not 401, to what was asked).
    assert.ok(gh.requests.some((r) => r.startsWith(`GET /repos/octo/calc/commits/${sha}/status`)));
  });

  test('red: rejected naming the context, its result and its link', async () => {
    const sha = 'd'.repeat(40);
    gh.status(sha, 'ci/unit', 'success');
    gh.status(sha, 'ci/py3', 'failure', 'https://ci.example.invalid/py3/77');
    const red = await gateFor(sha, [{ site: 'gh', name: 'ci/*' }]);
    const r = rejection(red);
    assert.equal(r.code, 'remote-failed');
    assert.equal(r.reason, `The required result ci/py3 from gh is failure for revision ${sha} (https://ci.example.invalid/py3/77). ci/py3 failure.`);
  });

  test('a check run concluded with a name of Object.prototype (constructor, toString) is red, not green', async () => {
    // CONCLUSION was read as a plain object: `constructor` found Object, neither failure nor pending, so green.
    for (const [i, conclusion] of ['constructor', 'toString', '__proto__'].entries()) {
      const sha = `${i + 1}`.repeat(40);
      gh.checkRun(sha, 'build', 'completed', conclusion);
      const r = rejection(await gateFor(sha, [{ site: 'gh', name: 'build' }]));
      assert.equal(r.code, 'remote-failed', conclusion);
      assert.match(r.reason, new RegExp(`build from gh is ${conclusion} for revision ${sha}`), conclusion);
    }
  });

  test('more than one page: 130 contexts and 120 check runs are all read (the red one is on page 2)', async () => {
    const sha = 'c1'.repeat(20);
    for (let i = 0; i < 130; i++) gh.status(sha, `ci/job-${String(i).padStart(3, '0')}`, i === 5 ? 'error' : 'success');
    for (let i = 0; i < 120; i++) gh.checkRun(sha, `check-${i}`, 'completed', 'success');
    const r = rejection(await gateFor(sha, [{ site: 'gh', name: 'ci/*' }, { site: 'gh', name: 'check-*' }]));
    assert.match(r.reason, /^The required result ci\/job-005 from gh is error/);
    assert.ok(gh.requests.some((q) => q.includes(`${sha}/status?per_page=100&page=2`)));
    assert.ok(gh.requests.some((q) => q.includes(`${sha}/check-runs?per_page=100&page=2`)));
  });

  test('flapping: green then a newer failure of the same context is red; a re-run in progress is pending', async () => {
    const sha = 'e'.repeat(40);
    gh.checkRun(sha, 'build', 'in_progress');
    const pending = gateFor(sha, [{ site: 'gh', name: 'build' }], { timeout: 3 });
    afterFirstAnswer(gh, `${sha}/check-runs`, () => gh.checkRun(sha, 'build', 'completed', 'timed_out'));
    const run = await pending;
    assert.equal(rejection(run).code, 'remote-failed');
    assert.match(rejection(run).reason, /build from gh is timed_out/);
    assert.equal(run.waits[0], 'gh build: in_progress');
  });
});

/** Runs `change` once the site has answered a request whose line contains `needle` (not on a timer: the machine may be slow). */
function afterFirstAnswer(site: { requests: string[] }, needle: string, change: () => void): void {
  const timer = setInterval(() => {
    if (!site.requests.some((r) => r.includes(needle))) return;
    clearInterval(timer);
    change();
  }, 5);
}

/** The gate for a proposal approved at `sha`. */
async function gateFor(sha: string, require: unknown[], options: Record<string, unknown> = {}): Promise<GateRun> {
  const saved = { ...checkout };
  checkout.sourceRevision = sha;
  try {
    return await gate(require, options);
  } finally {
    Object.assign(checkout, saved);
  }
}

describe('jenkins', () => {
  test('never reporting: taken out after the timeout, saying what it waited for', async () => {
    jenkins.onTrigger('calc-silent', undefined);
    const run = await gate([{ site: 'ci', name: 'calc-silent' }], { timeout: 0.5 });
    const r = rejection(run);
    assert.equal(r.code, 'remote-timeout');
    assert.equal(
      r.reason,
      `Taken out of the landing queue: the required result calc-silent from ci was still not reported for revision ${APPROVED} after 0.5 s. Approve again once it has reported (or ask the operators to check that the remote job runs).`,
    );
    assert.ok(run.ms >= 450 && run.ms < 2500, `bounded: ${run.ms} ms`);
    assert.deepEqual(run.waits, ['ci calc-silent: not reported']);
  });

  test('an existing build of the revision: UNSTABLE is red and names the failed tests from testReport', async () => {
    const sha = '1'.repeat(40);
    jenkins.addBuild('calc-py3', { revision: sha, result: 'UNSTABLE', failed: ['tests.test_diff_tree.TreeChangesTest.test_rename', 'tests.test_x.T.test_y'], passed: 918 });
    const r = rejection(await gateFor(sha, [{ site: 'ci', name: 'calc-py3' }]));
    assert.equal(r.code, 'remote-failed');
    assert.equal(
      r.reason,
      `The required result calc-py3 from ci is UNSTABLE for revision ${sha} (${jenkins.url}/job/calc-py3/1/). 2 of 920 failed: tests.test_diff_tree.TreeChangesTest.test_rename, tests.test_x.T.test_y.`,
    );
  });

  test('trigger: crumb + buildWithParameters, queue item → build number, waits for SUCCESS; a rerun does not start it again', async () => {
    const sha = '2'.repeat(40);
    jenkins.csrf = true;
    jenkins.onTrigger('calc-remote', { queuePolls: 2, buildPolls: 2, result: 'SUCCESS' });
    const before = jenkins.triggers.length;
    const run = await gateFor(sha, [{ site: 'ci', name: 'calc-remote', trigger: true, parameters: { REVISION: '{revision}', PROPOSAL: '{proposal}' } }]);
    assert.equal(run.error, undefined, String(run.error));
    assert.deepEqual(jenkins.triggers.slice(before), [{ job: 'calc-remote', params: { REVISION: sha, PROPOSAL: 'local:7' }, crumb: 'c0ffee1234' }]);
    assert.ok(run.waits.some((w) => /^ci calc-remote: queued: Waiting for next available executor/.test(w)), run.waits.join('\n'));
    assert.ok(run.waits.some((w) => w === 'ci calc-remote: BUILDING'), run.waits.join('\n'));
    // Second landing of the same revision (a rerun after a crash): the build is found, not started again.
    const again = await gateFor(sha, [{ site: 'ci', name: 'calc-remote', trigger: true, parameters: { REVISION: '{revision}' } }]);
    assert.equal(again.error, undefined);
    assert.equal(jenkins.triggers.length, before + 1);
  });

  test('trigger behind a proxy: a Location on Jenkins\' configured URL (another host) is followed by its queue id on the site', async () => {
    const sha = '6'.repeat(40);
    const decoy: string[] = [];
    const other = createServer((req, res) => {
      decoy.push(`${req.method} ${req.url} ${req.headers.authorization ?? ''}`);
      res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
    jenkins.rootUrl = `http://127.0.0.1:${(other.address() as AddressInfo).port}/ci`;
    jenkins.onTrigger('calc-proxied', { queuePolls: 1, buildPolls: 1, result: 'SUCCESS' });
    try {
      const run = await gateFor(sha, [{ site: 'ci', name: 'calc-proxied', trigger: true, parameters: { REVISION: '{revision}' } }]);
      assert.equal(run.error, undefined, String(run.error));
      assert.deepEqual(decoy, [], 'nothing, the credentials least of all, went to the other host');
    } finally {
      jenkins.rootUrl = undefined;
      await new Promise((resolve) => other.close(resolve));
    }
  });

  for (const status of [303, 200] as const) {
    test(`trigger while the same build is still queued: Jenkins answers ${status} naming that item, and it is the one waited for`, async () => {
      const sha = (status === 303 ? '7' : '8').repeat(40);
      jenkins.mergeStatus = status;
      jenkins.onTrigger('calc-merged', { queuePolls: 1e9, buildPolls: 1, result: 'SUCCESS' });
      const before = jenkins.triggers.length;
      const req = [{ site: 'ci', name: 'calc-merged', trigger: true, parameters: { REVISION: '{revision}' } }];
      // A first landing queued it and stopped (a crash); the rerun asks again with the same parameters.
      rejection(await gateFor(sha, req, { timeout: 0.3 }));
      const again = rejection(await gateFor(sha, req, { timeout: 0.3 }));
      assert.equal(again.code, 'remote-timeout', again.reason);
      assert.match(again.reason, /calc-merged from ci was still queued: Waiting for next available executor/);
      assert.equal(jenkins.triggers.length - before, 1, 'one build queued in all');
    });
  }

  test('trigger with a build that fails: rejected with the build link and failing tests', async () => {
    const sha = '3'.repeat(40);
    jenkins.onTrigger('calc-remote', { queuePolls: 0, buildPolls: 1, result: 'FAILURE', failed: ['tests.test_a.A.test_b'] });
    const r = rejection(await gateFor(sha, [{ site: 'ci', name: 'calc-remote', trigger: true, parameters: { REVISION: '{revision}' } }]));
    assert.match(r.reason, /^The required result calc-remote from ci is FAILURE for revision 3{40} \(http:\/\/127\.0\.0\.1:\d+\/job\/calc-remote\/\d+\/\)\. 1 of 4 failed: tests\.test_a\.A\.test_b\.$/);
  });

  test('trigger that never leaves the queue: taken out after the timeout', async () => {
    const sha = '4'.repeat(40);
    jenkins.onTrigger('calc-stuck', { queuePolls: 1e9, buildPolls: 1, result: 'SUCCESS' });
    const r = rejection(await gateFor(sha, [{ site: 'ci', name: 'calc-stuck', trigger: true, parameters: { REVISION: '{revision}' } }], { timeout: 0.4 }));
    assert.equal(r.code, 'remote-timeout');
    assert.match(r.reason, /calc-stuck from ci was still queued: Waiting for next available executor/);
  });

  test('trigger on a Jenkins answering 503: started at a later poll, once, without a crumb when CSRF is off', async () => {
    const sha = '0'.repeat(40);
    jenkins.csrf = false;
    jenkins.failTriggers = 2;
    jenkins.onTrigger('calc-retry', { queuePolls: 0, buildPolls: 0, result: 'SUCCESS' });
    try {
      const run = await gateFor(sha, [{ site: 'ci', name: 'calc-retry', trigger: true, parameters: { REVISION: '{revision}' } }]);
      assert.equal(run.error, undefined, String(run.error));
      assert.deepEqual(jenkins.triggers.filter((t) => t.job === 'calc-retry'), [{ job: 'calc-retry', params: { REVISION: sha }, crumb: undefined }]);
      assert.ok(run.waits.some((w) => /calc-retry: unreachable: .*buildWithParameters: HTTP 503/.test(w)), run.waits.join('\n'));
    } finally {
      jenkins.csrf = true;
    }
  });

  test('--dry-run starts no remote job', async () => {
    const sha = '5'.repeat(40);
    jenkins.onTrigger('calc-remote', { queuePolls: 0, buildPolls: 0, result: 'SUCCESS' });
    const before = jenkins.triggers.length;
    const saved = checkout.sourceRevision;
    checkout.sourceRevision = sha;
    try {
      const run = await gate([{ site: 'ci', name: 'calc-remote', trigger: true, parameters: { REVISION: '{revision}' } }], {}, { dryRun: true });
      assert.equal(run.error, undefined);
      assert.equal(jenkins.triggers.length, before);
      assert.ok(run.lines.some((l) => /dry-run: not starting the remote job/.test(l)));
    } finally {
      checkout.sourceRevision = saved;
    }
  });
});

describe('transient failures', () => {
  test('5xx: retried, then polled again; green once the site recovers', async () => {
    const sha = '6'.repeat(40);
    gh.status(sha, 'ci/unit', 'success');
    gh.failNext(4, 502);
    const run = await gateFor(sha, [{ site: 'gh', name: 'ci/unit' }]);
    assert.equal(run.error, undefined, String(run.error));
    assert.ok(run.waits.some((w) => /^gh ci\/unit: unreachable: .*HTTP 502/.test(w)), run.waits.join('\n'));
  });

  test('5xx until the deadline: taken out, saying the site did not answer', async () => {
    gh.failNext(1000, 503);
    try {
      const r = rejection(await gateFor('7'.repeat(40), [{ site: 'gh', name: 'ci/unit' }], { timeout: 0.5 }));
      assert.equal(r.code, 'remote-timeout');
      assert.match(r.reason, /ci\/unit from gh was still unreachable: .*HTTP 503/);
    } finally {
      gh.failNext(0);
    }
  });

  test('slow: an answer later than requestTimeout is a transient failure, not a hang', async () => {
    const sha = '8'.repeat(40);
    lp.report('~calc/calc/+git/calc', sha, 'lint', 'Succeeded');
    lp.delayMs = 1500;
    afterFirstAnswer(lp, sha, () => setTimeout(() => (lp.delayMs = 0), 400));
    const run = await gateFor(sha, [{ site: 'lp', name: 'lint' }], { requestTimeout: 0.3, retries: 0, timeout: 4 });
    lp.delayMs = 0;
    assert.equal(run.error, undefined, String(run.error));
    assert.ok(run.waits.some((w) => /unreachable: .*no answer within 300 ms/.test(w)), run.waits.join('\n'));
  });

  test('an answer of the wrong shape is an internal error naming the field, not a verdict', async () => {
    const server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"statuses":[{"context":"x","state":"purple"}]}'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const h = await applyPlugins([{ plugin: remoteCi, config: { sites: { odd: { type: 'github', url, repo: 'o/r', read: ['statuses'] } }, require: { calc: [{ site: 'odd' }] }, timeout: 1, interval: 0.05 } }]);
      await assert.rejects(
        h.hooks.gate.promise({ proposal, project, checkout, merge, waiting: () => {}, signal: h.run.signal }),
        (e: Error) => !asRejection(e) && /\[remote-ci\/gate\] .*unexpected answer: (state|statuses\.0\.state)/.test(e.message),
      );
      h.cleanup();
    } finally {
      server.close();
    }
  });
});

describe('launchpad and junit', () => {
  test('launchpad: Waiting then Succeeded is green; Failed is red with the report link', async () => {
    const sha = '9'.repeat(40);
    lp.report('~calc/calc/+git/calc', sha, 'lint', 'Waiting');
    afterFirstAnswer(lp, sha, () => lp.report('~calc/calc/+git/calc', sha, 'lint', 'Succeeded'));
    const ok = await gateFor(sha, [{ site: 'lp', name: 'lint*' }]);
    assert.equal(ok.error, undefined);
    assert.deepEqual(ok.waits, ['lp lint*: lint Waiting', ''], 'what it waited for, then nothing');
    lp.report('~calc/calc/+git/calc', MERGED, 'unit tests', 'Failed', 'https://ci.example.invalid/unit/1');
    const r = rejection(await gate([{ site: 'lp', name: 'unit*', revision: 'merged' }]));
    assert.equal(r.reason, `The required result unit tests from lp is Failed for revision ${MERGED} (https://ci.example.invalid/unit/1). unit tests: Failed.`);
  });

  test('junit at a URL: 404 means not yet; a report with failures is red naming them', async () => {
    let body: string | undefined;
    const report = '<testsuites><testsuite name="t"><testcase classname="t.A" name="ok"/><testcase classname="t.A" name="bad"><failure message="x"/></testcase></testsuite></testsuites>';
    const server = createServer((req, res) => {
      if (body === undefined || !req.url?.includes(APPROVED)) {
        body = report; // published after the first look
        return res.writeHead(404).end();
      }
      res.writeHead(200, { 'content-type': 'application/xml' }).end(body);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/reports/{revision}/junit.xml`;
      const h = await applyPlugins([{ plugin: remoteCi, config: { sites: { files: { type: 'junit', url } }, require: { calc: [{ site: 'files' }] }, timeout: 2, interval: 0.05 } }]);
      const waits: string[] = [];
      const error = await h.hooks.gate.promise({ proposal, project, checkout, merge, waiting: (w) => waits.push(w.join('; ')), signal: h.run.signal }).then(() => undefined, (e: unknown) => e);
      h.cleanup();
      assert.deepEqual(waits, ['files *: not reported']);
      assert.match(asRejection(error)?.reason ?? String(error), /^The required result junit from files is 1 of 2 failed: t\.A\.bad for revision a{40} \(http:.*\/reports\/a{40}\/junit\.xml\)\. 1 of 2 failed: t\.A\.bad\.$/);
    } finally {
      server.close();
    }
  });
});

describe('configuration and list', () => {
  test('every problem at once: unknown site, trigger on a non-jenkins site, a glob for a job, an unknown project', async () => {
    await assert.rejects(
      applyPlugins([{ plugin: remoteCi, config: { sites: { gh: { type: 'github', repo: 'o/r' }, ci: { type: 'jenkins', url: 'http://127.0.0.1:9' } }, require: { calc: [{ site: 'nope' }, { site: 'gh', trigger: true }, { site: 'ci', name: 'calc-*' }] }, timeout: '7h' } }]),
      (e: Error) =>
        /require\.calc\.0\.site: no site nope under plugins\.remote-ci\.sites \(known: gh, ci\)/.test(e.message) &&
        /require\.calc\.1\.trigger: only jenkins jobs can be triggered/.test(e.message) &&
        /require\.calc\.2\.name: a jenkins job is named exactly/.test(e.message) &&
        /timeout: at most 21600 s/.test(e.message),
    );
    const { problems } = await verifyPlugin({ plugin: remoteCi, config: { sites: { gh: { type: 'github', repo: 'o/r' } }, require: { other: [{ site: 'gh' }] } } }, [project]);
    assert.deepEqual(problems.map((p) => p.message), ['plugins.remote-ci.require.other: no such project (projects: calc)']);
  });

  test('a requirement naming a member of Object.prototype as its site is an unknown site, not a site', async () => {
    // config.sites was read as a plain object: `site: constructor` found Object, passed, and the gate then had no reader.
    for (const name of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) {
      await assert.rejects(
        applyPlugins([{ plugin: remoteCi, config: { sites: { gh: { type: 'github', repo: 'o/r' } }, require: { calc: [{ site: name }] } } }]),
        (e: Error) => new RegExp(`require\\.calc\\.0\\.site: no site ${name} under plugins\\.remote-ci\\.sites \\(known: gh\\)`).test(e.message),
        name,
      );
    }
  });

  test('a project named like a member of Object.prototype (toString, valueOf, hasOwnProperty) requires nothing', async () => {
    // config.require was read as a plain object: discover called .filter on Object.prototype.toString and threw.
    const h = await applyPlugins([{ plugin: remoteCi, config: { sites: sites(), require: { calc: [{ site: 'gh', name: 'ci/*' }] } } }]);
    try {
      for (const name of ['toString', 'valueOf', 'hasOwnProperty']) {
        const other: ProjectConfig = { ...project, name };
        const out = await h.hooks.discover.promise([proposal], { project: other, target: other.targets[0]!, signal: h.run.signal });
        assert.deepEqual(out, [proposal], name);
        await h.hooks.gate.promise({ proposal, project: other, checkout, merge, waiting: () => assert.fail(`${name} waits for nothing`), signal: h.run.signal });
      }
    } finally {
      h.cleanup();
    }
  });

  test('discover: a ready proposal says what it will wait for (byoci list)', async () => {
    const sha = 'f'.repeat(40);
    gh.status(sha, 'ci/unit', 'pending');
    gh.status(sha, 'ci/lint', 'failure');
    const h = await applyPlugins([{ plugin: remoteCi, config: { sites: sites(), require: { calc: [{ site: 'gh', name: 'ci/unit' }, { site: 'gh', name: 'ci/lint' }, { site: 'ci', name: 'calc-remote', trigger: true }] } } }]);
    const out = await h.hooks.discover.promise([{ ...proposal, approvedRevision: sha }], { project, target: project.targets[0]!, signal: h.run.signal });
    h.cleanup();
    assert.deepEqual(out[0]?.readiness, {
      state: 'ready',
      waitsFor: ['gh ci/unit: pending', 'gh ci/lint: failure (will be rejected)', 'ci calc-remote: not started (byoci starts it)'],
    });
  });
});
