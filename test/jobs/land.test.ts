/**
 * Acceptance: `byoci job run <project>-land` on the local forge lands a proposal the way
 * the Jenkins job would: the real CLI replays the committed job template (rendered by the
 * real jenkins-jobs) for a project whose config is a demo setup (demo/setup.ts).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { parse } from 'yaml';
import { run } from '../../core/process.js';
import { createDemo, type DemoSetup } from '../../demo/setup.js';
import { checkJobsDir } from '../../jobs/check.js';
import { missingCommands, suiteNeeds } from '../support/components.js';
import { copyJobs, type JobsCopy } from './helpers.js';

const CLI = fileURLToPath(new URL('../../cli/main.ts', import.meta.url));

interface ProposalFile {
  status: string;
  comments?: { subject?: string; body: string }[];
}

describe('byoci job run <project>-land on the local forge', suiteNeeds('jenkins-job-builder and git', missingCommands('jenkins-jobs', 'git')), () => {
  let dir: string;
  let demo: DemoSetup;
  let jobs: JobsCopy;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'byoci-jobland-test-'));
    demo = await createDemo(join(dir, 'demo'));
    jobs = copyJobs();
    // The operator's project list gains a project whose slave config is the demo's.
    jobs.write('projects.yaml', `${jobs.read('projects.yaml')}\n- project:\n    name: calc\n    config: ${demo.config}\n    jobs:\n      - byoci-project\n`);
  });
  after(() => {
    jobs.remove();
    rmSync(dir, { recursive: true, force: true });
  });

  async function byoci(args: string[]) {
    const r = await run([process.execPath, '--import', import.meta.resolve('tsx'), CLI, ...args, '--jobs-dir', jobs.dir], { cwd: dir, env: {}, reject: false });
    return { ...r, console: `${r.stdout}\n${r.stderr}` };
  }

  function proposal(id: string): ProposalFile {
    return parse(readFileSync(join(demo.proposals, `${id}.yaml`), 'utf8')) as ProposalFile;
  }

  async function trunkLog(): Promise<string> {
    return (await run(['git', '--git-dir', demo.trunk, 'log', '--format=%an%n%s%n%b', 'main'])).stdout;
  }

  test('the project with the demo config passes jobs:check', async () => {
    const report = await checkJobsDir(jobs.dir);
    assert.deepEqual(report.problems, []);
    assert.ok(report.jobs.some((j) => j.name === 'calc-land'));
  });

  test('calc-trigger finds the ready proposals and would trigger calc-land', async () => {
    const ws = join(dir, 'ws-trigger');
    const r = await byoci(['job', 'run', 'calc-trigger', '--workspace', ws]);
    assert.equal(r.exitCode, 0, r.console);
    const ready = readFileSync(join(ws, 'land.properties'), 'utf8');
    assert.match(ready, /^READY=\S*1 \S*2\n$/);
    assert.match(r.stdout, /Jenkins would trigger calc-land with the parameters of land\.properties/);
    assert.match(r.stdout, /Finished: SUCCESS/);
  });

  test('calc-test tries a branch given as parameters, without landing it', async () => {
    const ws = join(dir, 'ws-try');
    const before = await trunkLog();
    const r = await byoci(['job', 'run', 'calc-test', '--workspace', ws, '-p', `SOURCE=${demo.contrib}`, '-p', 'BRANCH=good-change']);
    assert.equal(r.exitCode, 0, r.console);
    assert.match(r.stdout, /^Parameter BRANCH="good-change"$/m);
    assert.match(r.stdout, /^passed \(/m);
    assert.match(r.stdout, /Recording test results: [1-9]\d* files? match/);
    assert.match(r.stdout, /Finished: SUCCESS/);
    assert.equal(await trunkLog(), before, 'trying a branch lands nothing');
    assert.equal(proposal('1').status, 'Approved');
  });

  test('calc-land lands the approved proposal, tests run, reports are recorded', async () => {
    // Only the good proposal first: the build is green.
    const parked = join(dir, '2.yaml');
    renameSync(join(demo.proposals, '2.yaml'), parked);
    const ws = join(dir, 'ws-land-1');
    const r = await byoci(['job', 'run', 'calc-land', '--workspace', ws]);
    renameSync(parked, join(demo.proposals, '2.yaml'));
    assert.equal(r.exitCode, 0, r.console);
    assert.match(r.stdout, /^\[calc-land\] \$ \/bin\/bash -e /m);
    assert.match(r.stdout, /^landed +\S*1 +Add multiplication/m);
    assert.match(r.stdout, /Recording test results: [1-9]\d* files? match artefacts\/\*\*\/\*\.xml/);
    assert.match(r.stdout, /Finished: SUCCESS/);
    assert.equal(proposal('1').status, 'Merged');
    const log = await trunkLog();
    assert.match(log, /Add a mul operation to calc\./);
    assert.match(log, /Merged from /);
    // The JUnit report of the project's tests is in the workspace, where Jenkins looks.
    const found = await run(['find', join(ws, 'artefacts'), '-name', 'junit.xml']);
    assert.ok(found.stdout.trim(), 'junit.xml under $WORKSPACE/artefacts');
    assert.match(readFileSync(found.stdout.trim().split('\n')[0]!, 'utf8'), /<testcase name="mul 4 5"\/>/);
  });

  test('calc-land rejects a failing proposal with the build URL in the comment, and the build fails', async () => {
    const ws = join(dir, 'ws-land-2');
    const r = await byoci(['job', 'run', 'calc-land', '--workspace', ws, '--build-number', '2']);
    assert.equal(r.exitCode, 1, r.console);
    assert.match(r.stdout, /^rejected +\S*2 +Simplify addition: The tests failed/m);
    assert.match(r.stdout, /Build step 'Execute shell' marked build as failure\n(.*\n)*Finished: FAILURE/);
    const rejected = proposal('2');
    assert.notEqual(rejected.status, 'Merged');
    const comment = rejected.comments?.at(-1)?.body ?? '';
    assert.match(comment, /The tests failed/);
    assert.match(comment, /http:\/\/127\.0\.0\.1:8080\/job\/calc-land\/2\//);
    assert.doesNotMatch(await trunkLog(), /Simplify the add operation/);
  });

  test('calc-trigger with nothing ready does not trigger calc-land', async () => {
    const ws = join(dir, 'ws-trigger-2');
    const r = await byoci(['job', 'run', 'calc-trigger', '--workspace', ws]);
    assert.equal(r.exitCode, 0, r.console);
    assert.equal(existsSync(join(ws, 'land.properties')), false);
    assert.match(r.stdout, /nothing ready to land/);
    assert.match(r.stdout, /Not triggering calc-land \(no land\.properties\)/);
  });
});
