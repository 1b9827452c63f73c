/**
 * End to end: the bot (core) with the local forge, the git plugin and the unsafe-host
 * backend over real repositories and proposal files. What a user of the local forge sees:
 * the target's main branch and the proposal file.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import YAML from 'yaml';
import type { LandSummary } from '../../../core/bot.js';
import gitPlugin from '../../../plugins/git/index.js';
import host from '../../../plugins/host/index.js';
import local from '../../../plugins/local/index.js';
import { withTestBot } from '../../support/bot.js';
import { missingCommands, suiteNeeds } from '../../support/components.js';
import { ALICE, branchWith, commitFiles, gitIn, makeRepos, snapshot, tempDir, type Repos } from '../../support/git-repos.js';

const BUILD_URL = 'https://jenkins.example.invalid/job/land-demo/7/';

describe('local forge + git: landing end to end', suiteNeeds('git', missingCommands('git')), () => {
  let repos: Repos;
  let work: { dir: string; remove(): void };
  let proposals: string;
  before(async () => {
    repos = await makeRepos();
    work = tempDir('byoci-local-land-');
    proposals = join(repos.root, 'proposals');
    mkdirSync(proposals);
  });
  after(() => {
    work.remove();
    repos.remove();
  });

  async function runBot(command: string, options: { dryRun?: boolean; list?: boolean } = {}): Promise<LandSummary & { lines: string[] }> {
    const yaml = [
      `workdir: ${JSON.stringify(work.dir)}`,
      `artefacts: ${JSON.stringify(join(work.dir, 'artefacts'))}`,
      'landing: {user: lander, fullname: The Lander, email: lander@example.invalid}',
      'plugins:',
      '  local:',
      `    dir: ${JSON.stringify(proposals)}`,
      'projects:',
      '  demo:',
      '    targets:',
      `      - {forge: local, repo: ${JSON.stringify(repos.target)}, branch: main}`,
      '    test:',
      '      backend: unsafe-host',
      `      command: ${JSON.stringify(command)}`,
      '      timeout: 120',
      '',
    ].join('\n');
    return withTestBot(
      { yaml, plugins: [local, gitPlugin, host], defaultPlugins: ['git', 'host'], buildUrl: BUILD_URL, dryRun: options.dryRun },
      async (bot, lines) => {
        if (options.list) return { results: [], waiting: await bot.discover(), exitCode: 0, lines };
        return { ...(await bot.landAll()), lines };
      },
    );
  }

  function propose(id: string, branch: string, approved: string, message = `Land ${branch}`): string {
    const file = join(proposals, `${id}.yaml`);
    writeFileSync(
      file,
      [
        `# proposal ${id}, written by a human`,
        `id: "${id}"`,
        `title: ${JSON.stringify(`Proposal ${id}`)}`,
        'source:',
        `  repo: ${JSON.stringify(repos.source)}`,
        `  branch: ${JSON.stringify(branch)}`,
        'target:',
        `  repo: ${JSON.stringify(repos.target)}`,
        '  branch: main',
        `approved_revision: "${approved}"`,
        'status: Approved',
        `commit_message: ${JSON.stringify(message)}`,
        'votes:',
        '  - {reviewer: carol, vote: Approve}',
        '',
      ].join('\n'),
    );
    return file;
  }

  const mainTip = () => gitIn(repos.target, ['rev-parse', 'refs/heads/main']);
  const read = (file: string) => YAML.parse(readFileSync(file, 'utf8'));

  test('--dry-run leaves the repositories and the proposal files byte-identical', async () => {
    const approved = await branchWith(repos, 'dry', { 'dry.txt': 'dry\n' }, 'dry run');
    const file = propose('1', 'dry', approved);
    await gitIn(repos.source, ['checkout', '--quiet', '--detach']);
    const before = { source: snapshot(repos.source), target: snapshot(repos.target), proposals: snapshot(proposals) };
    const run = await runBot('test -f dry.txt', { dryRun: true });
    assert.deepEqual(run.results.map((r) => [r.kind, r.dryRun]), [['landed', true]]);
    assert.deepEqual(snapshot(repos.source), before.source);
    assert.deepEqual(snapshot(repos.target), before.target);
    assert.deepEqual(snapshot(proposals), before.proposals);
    assert.equal(read(file).status, 'Approved');
  });

  test('an approved proposal lands: main holds the tested merge, the file says Merged; a rerun does nothing', async () => {
    const file = join(proposals, '1.yaml');
    const approved = read(file).approved_revision as string;
    const oldMain = await mainTip();
    const run = await runBot('test "$(cat dry.txt)" = dry');
    assert.equal(run.exitCode, 0);
    assert.deepEqual(run.results.map((r) => r.kind), ['landed']);
    const landed = await mainTip();
    assert.deepEqual((await gitIn(repos.target, ['show', '--no-patch', '--format=%P', landed])).split(' '), [oldMain, approved]);
    assert.equal(await gitIn(repos.target, ['show', '--no-patch', '--format=%an|%cn', landed]), `${ALICE.name}|The Lander`);
    assert.match(await gitIn(repos.target, ['show', '--no-patch', '--format=%B', landed]), /^Land dry\n\nMerged from file:\/\/.*\/proposals\/1\.yaml$/);
    const data = read(file);
    assert.equal(data.status, 'Merged');
    assert.equal(data.merged_revision, landed);
    assert.ok(readFileSync(file, 'utf8').startsWith('# proposal 1, written by a human\n'));

    const bytes = readFileSync(file);
    const rerun = await runBot('true');
    assert.deepEqual(rerun.results, []);
    assert.deepEqual(readFileSync(file), bytes);
    assert.equal(await mainTip(), landed);
  });

  test('a commit pushed to the source after approval is not landed; the comment says why', async () => {
    const before = await mainTip();
    const approved = await branchWith(repos, 'sneaky', { 's.txt': 'reviewed\n' }, 'reviewed');
    const file = propose('2', 'sneaky', approved);
    const tip = await commitFiles(repos.source, { 's.txt': 'not reviewed\n' }, 'after approval', ALICE);
    const run = await runBot('true');
    assert.equal(run.exitCode, 1);
    assert.equal(await mainTip(), before, 'nothing landed');
    const data = read(file);
    assert.equal(data.status, 'Needs review');
    assert.equal(data.comments.length, 1);
    assert.equal(data.comments[0].subject, `Re: [Merge] ${repos.source}:sneaky into ${repos.target}:main`);
    assert.equal(
      data.comments[0].body,
      `Unapproved changes were made after approval: the source is at ${tip}, the approved revision is ${approved}. Review and approve again.\n\nBuild: ${BUILD_URL}`,
    );
    assert.equal(data.comments[0].author, 'lander');
  });

  test('failing tests reject with the output tail; list shows waiting and broken proposals', async () => {
    const before = await mainTip();
    await gitIn(repos.source, ['fetch', '--quiet', 'origin']);
    const approved = await branchWith(repos, 'failing', { 'f.txt': 'f\n' }, 'failing');
    const file = propose('3', 'failing', approved);
    writeFileSync(join(proposals, '4.yaml'), 'status: Approvedd\n');
    const run = await runBot('echo "assertion failed in f.txt"; exit 3');
    assert.equal(await mainTip(), before);
    const result = run.results.find((r) => r.proposal.id === 'local:3');
    assert.ok(result?.kind === 'rejected');
    assert.equal(result.rejection.code, 'tests-failed');
    const body = read(file).comments[0].body as string;
    assert.match(body, /^The tests failed \(exit code 3\)\./);
    assert.match(body, /assertion failed in f\.txt/);

    const list = await runBot('true', { list: true });
    const byId = new Map(list.waiting.map((c) => [c.proposal.id, c.proposal.readiness]));
    assert.deepEqual(byId.get('local:3'), { state: 'waiting', reason: 'status is "Needs review", not "Approved"' });
    const broken = byId.get('local:4');
    assert.ok(broken?.state === 'waiting');
    assert.match(broken.reason, /4\.yaml: .*status: must be one of/);
    assert.match(broken.reason, /source: is required \(expected a mapping\)/);
  });

  test('hostile branch names go through the whole bot without executing anything', async () => {
    const marker = `/tmp/pwned-${randomBytes(6).toString('hex')}`;
    try {
      await gitIn(repos.source, ['fetch', '--quiet', 'origin']);
      const valid = `$(touch\${IFS}${marker})`;
      const approved = await branchWith(repos, valid, { 'h.txt': 'h\n' }, 'hostile but valid');
      const landedFile = propose('5', valid, approved);
      const invalidFile = propose('6', `x;touch ${marker}`, approved);
      const run = await runBot('true');
      assert.equal(existsSync(marker), false, `${marker} must not exist`);
      assert.equal(read(landedFile).status, 'Merged');
      assert.equal(read(landedFile).merged_revision, await mainTip());
      const rejected = read(invalidFile);
      assert.equal(rejected.status, 'Needs review');
      assert.match(rejected.comments[0].body, /^The source branch "x;touch \/tmp\/pwned-[0-9a-f]+" could not be fetched: source branch name .* is not a valid git branch name \(contains a character git refuses: .*\)\./);
      assert.deepEqual(run.results.map((r) => [r.proposal.id, r.kind]).sort(), [['local:5', 'landed'], ['local:6', 'rejected']]);
    } finally {
      rmSync(marker, { force: true });
    }
  });

  test('a rerun after a crash between push and report reports the landing instead of rejecting it', async () => {
    await gitIn(repos.source, ['fetch', '--quiet', 'origin']);
    const approved = await branchWith(repos, 'crash', { 'crash.txt': 'c\n' }, 'crash');
    const file = propose('7', 'crash', approved);
    const unreported = readFileSync(file);
    await runBot('true');
    const landed = await mainTip();
    assert.equal(read(file).merged_revision, landed);
    writeFileSync(file, unreported); // as if the bot died right after the push

    const rerun = await runBot('false'); // tests are not run again: they would fail
    assert.deepEqual(rerun.results.map((r) => [r.proposal.id, r.kind]), [['local:7', 'landed']]);
    assert.equal(await mainTip(), landed, 'nothing pushed twice');
    assert.equal(read(file).status, 'Merged');
    assert.equal(read(file).merged_revision, landed);
    assert.equal(read(file).comments, undefined, 'no rejection comment');
  });
});
