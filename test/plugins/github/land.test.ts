/**
 * End to end: the bot (core) with the github, git and unsafe-host plugins against a local
 * GitHub over real repositories. What reaches `main` is the tested merge commit, as a
 * fast-forward; statuses, comments and labels say what happened; a rerun does nothing.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Bot, LandSummary } from '../../../core/bot.js';
import type { RejectionInfo } from '../../../hooks/index.js';
import { run } from '../../../core/process.js';
import gitPlugin from '../../../plugins/git/index.js';
import github from '../../../plugins/github/index.js';
import host from '../../../plugins/host/index.js';
import { createEnvStore } from '../../../secrets/env.js';
import { withTestBot } from '../../support/bot.js';
import { missingCommands, suiteNeeds } from '../../support/components.js';
import { advanceTarget, gitIn, tempDir } from '../../support/git-repos.js';
import { REPO, makeWorld, type World } from './helpers.js';

const BUILD_URL = 'https://jenkins.example.invalid/job/land-widget/42/';

interface RunResult {
  summary: LandSummary;
  lines: string[];
  /** Requests the run made to GitHub. */
  writes: string[];
}

describe('github plugin: landing end to end', suiteNeeds('git', missingCommands('git')), () => {
  let world: World;
  let work: { dir: string; remove(): void };
  before(async () => {
    world = await makeWorld();
    work = tempDir('byoci-gh-land-');
  });
  after(async () => {
    await world.close();
    work.remove();
  });

  async function runBot(command: string, action: 'land' | 'list' = 'land'): Promise<RunResult & { bot: Bot }> {
    const yaml = [
      `workdir: ${JSON.stringify(work.dir)}`,
      `artefacts: ${JSON.stringify(`${work.dir}/artefacts`)}`,
      'plugins:',
      '  github:',
      `    baseUrl: ${JSON.stringify(world.gh.url)}`,
      'projects:',
      '  widget:',
      '    targets:',
      '      - forge: github',
      `        repo: ${REPO}`,
      '        branch: main',
      `        url: ${JSON.stringify(world.repos.target)}`,
      '    test:',
      '      backend: unsafe-host',
      `      command: ${JSON.stringify(command)}`,
      '      timeout: 120',
      '',
    ].join('\n');
    const before = world.gh.requests.length;
    const stores = [createEnvStore({ env: { BYOCI_SECRET_GITHUB_TOKEN: world.gh.token } })];
    return withTestBot(
      { yaml, plugins: [github, gitPlugin, host], defaultPlugins: ['git', 'host'], stores, buildUrl: BUILD_URL },
      async (bot, lines) => {
        // `list` only discovers: every candidate with its readiness, nothing landed.
        const summary: LandSummary =
          action === 'land' ? await bot.landAll() : { results: [], waiting: await bot.discover(), exitCode: 0 };
        const writes = world.gh.requests
          .slice(before)
          .filter((r) => r.method !== 'GET')
          .map((r) => `${r.method} ${r.path}`);
        return { summary, lines, writes, bot };
      },
    );
  }

  const mainTip = () => gitIn(world.repos.target, ['rev-parse', 'refs/heads/main']);
  const prId = (n: number) => `github:${REPO}#${n}`;

  /** What the run rejected PR `n` with; fails unless its result is a rejection. */
  function rejectionOf(run: RunResult, n: number): RejectionInfo {
    const result = run.summary.results.find((r) => r.proposal.id === prId(n));
    assert.ok(result && result.kind === 'rejected', JSON.stringify(result));
    return result.rejection;
  }

  test('an approved, triggered PR lands as a fast-forward of the tested merge; pending → success; a rerun does nothing', async () => {
    const oldMain = await mainTip();
    const { number, head } = await world.openPull('feature', { 'feature.txt': 'feature\n' }, { title: 'Add the feature', body: 'It is useful.' });
    world.gh.label(REPO, number, 'byoci:land', 'carol');
    await world.gh.review(REPO, number, { user: 'dave', state: 'APPROVED' });

    const first = await runBot('test "$(cat feature.txt)" = feature');
    assert.equal(first.summary.exitCode, 0);
    assert.deepEqual(first.summary.results.map((r) => r.kind), ['landed']);
    const landed = await mainTip();
    assert.equal(first.summary.results[0]!.kind === 'landed' && first.summary.results[0]!.revision, landed);
    // The tested merge commit itself: parents are the old main and the approved head.
    assert.deepEqual((await gitIn(world.repos.target, ['show', '--no-patch', '--format=%P', landed])).split(' '), [oldMain, head]);
    assert.match(
      await gitIn(world.repos.target, ['show', '--no-patch', '--format=%B', landed]),
      new RegExp(`^Add the feature \\(#${number}\\)\\n\\nIt is useful\\.\\n\\nMerged from https://github.example/${REPO}/pull/${number}`),
    );
    // pending, then success, on the approved head, linking to the build.
    const statuses = world.gh.statuses(REPO, head).filter((s) => s.context === 'byoci');
    assert.deepEqual(statuses.map((s) => s.state).reverse(), ['pending', 'success']);
    assert.ok(statuses.every((s) => s.target_url === BUILD_URL));
    assert.equal(world.gh.statuses(REPO, landed)[0]?.state, 'success', 'the landed merge commit carries the status too');
    const pull = (await world.gh.pull(REPO, number));
    assert.equal(pull.merged, true, 'GitHub marks the PR merged: its head is in main');
    assert.equal(world.gh.comments(REPO, number).length, 0);

    const rerun = await runBot('test "$(cat feature.txt)" = feature');
    assert.deepEqual(rerun.summary.results, []);
    assert.deepEqual(rerun.writes, [], 'no status, comment or label written on rerun');
    assert.equal(await mainTip(), landed);
  });

  test('approval of an older head lands nothing: failure status, one comment, label removed; then list says why', async () => {
    const before = await mainTip();
    const { number } = await world.openPull('stale', { 'stale.txt': 'v1\n' });
    await world.gh.review(REPO, number, { user: 'carol', state: 'APPROVED' });
    world.gh.label(REPO, number, 'byoci:land', 'carol');
    const head = await world.pushMore('stale', { 'stale.txt': 'v2, not reviewed\n' });

    const run = await runBot('true');
    assert.equal(await mainTip(), before);
    assert.equal(rejectionOf(run, number).code, 'changes-after-approval');
    assert.equal(world.gh.statuses(REPO, head)[0]?.state, 'failure');
    const comments = world.gh.comments(REPO, number);
    assert.equal(comments.length, 1);
    assert.match(String(comments[0]!.body), /Unapproved changes were made after approval/);
    assert.match(String(comments[0]!.body), new RegExp(`Build: ${BUILD_URL.replace(/[.]/g, '\\.')}`));
    assert.deepEqual((await world.gh.pull(REPO, number)).labels, [], 'the trigger label is removed');

    const again = await runBot('true', 'list');
    const listed = again.summary.waiting.find((c) => c.proposal.id === prId(number));
    assert.ok(listed);
    assert.equal(listed.proposal.readiness.state, 'waiting');
    assert.match(listed.proposal.readiness.state === 'waiting' ? listed.proposal.readiness.reason : '', /not triggered/);
    assert.equal(world.gh.comments(REPO, number).length, 1);
  });

  test('a command from a non-writer lands nothing, writes nothing, and list says why', async () => {
    const before = await mainTip();
    const { number } = await world.openPull('mallory', { 'm.txt': 'm\n' });
    await world.gh.review(REPO, number, { user: 'carol', state: 'APPROVED' });
    world.gh.comment(REPO, number, 'mallory', '@byoci land');
    const run = await runBot('true');
    assert.equal(await mainTip(), before);
    assert.ok(!run.summary.results.some((r) => r.proposal.id === prId(number)));
    const waiting = run.summary.waiting.find((c) => c.proposal.id === prId(number));
    assert.ok(waiting && waiting.proposal.readiness.state === 'waiting');
    assert.match(waiting.proposal.readiness.reason, /command "@byoci land" by mallory \(permission triage\)/);
    assert.ok(!run.writes.some((w) => w.includes(`/issues/${number}/`)), 'no comment or label change on the PR');
  });

  test('a conflict is rejected with the files named; a command trigger counts as handled afterwards', async () => {
    const { number, head } = await world.openPull('conflict', { 'a.txt': 'one\nTWO from the PR\nthree\n' });
    await advanceTarget(world.repos, { 'a.txt': 'one\ntwo on main\nthree\n' }, 'main changes a.txt');
    const before = await mainTip();
    world.gh.comment(REPO, number, 'dave', 'Ship it.\n\n@byoci land');
    await world.gh.review(REPO, number, { user: 'carol', state: 'APPROVED' });
    const run = await runBot('true');
    assert.equal(await mainTip(), before);
    assert.equal(rejectionOf(run, number).code, 'merge-conflict');
    assert.deepEqual(world.gh.statuses(REPO, head).map((s) => s.state), ['failure', 'pending']);
    const comments = world.gh.comments(REPO, number).filter((c) => (c.user as { login: string }).login === world.gh.botLogin);
    assert.equal(comments.length, 1);
    assert.match(String(comments[0]!.body), /does not merge cleanly.*a\.txt/s);

    const rerun = await runBot('true');
    assert.ok(!rerun.summary.results.some((r) => r.proposal.id === prId(number)));
    assert.deepEqual(rerun.writes, []);
  });

  test('failing tests are rejected with the output tail, secrets masked, in the comment', async () => {
    const before = await mainTip();
    const { number, head } = await world.openPull('failing', { 'check.sh': `echo "checking with ${world.gh.token}"\necho "@carol see #1"\nexit 3\n` });
    world.gh.label(REPO, number, 'byoci:land', 'dave');
    await world.gh.review(REPO, number, { user: 'carol', state: 'APPROVED' });
    const run = await runBot('sh check.sh');
    assert.equal(await mainTip(), before);
    assert.equal(rejectionOf(run, number).code, 'tests-failed');
    assert.equal(world.gh.statuses(REPO, head)[0]?.state, 'failure');
    assert.equal(world.gh.statuses(REPO, head)[0]?.description, 'The tests failed (exit code 3).');
    const body = String(world.gh.comments(REPO, number).at(-1)!.body);
    assert.match(body, /The tests failed \(exit code 3\)\./);
    assert.match(body, /```\n[^]*checking with \[REDACTED\]/);
    assert.ok(!body.includes(world.gh.token), 'the token never reaches the comment');
    assert.deepEqual((await world.gh.pull(REPO, number)).labels, []);
  });

  test('the base moving during every test run: re-merged and re-tested queue.attempts times, then taken out; main keeps the other commits', async () => {
    const { number, head } = await world.openPull('racing', { 'race.txt': 'race\n' });
    world.gh.label(REPO, number, 'byoci:land', 'carol');
    await world.gh.review(REPO, number, { user: 'dave', state: 'APPROVED' });
    // The test command itself lands another commit on main, as a concurrent landing would.
    const target = world.repos.target;
    const command =
      `set -e; d=$(mktemp -d); git clone -q ${JSON.stringify(target)} "$d/w"; cd "$d/w"; date +%s%N >> moved.txt; git add moved.txt; ` +
      `git -c user.name=Other -c user.email=other@example.invalid commit -q -m "moved meanwhile"; git push -q origin HEAD:main; rm -rf "$d"`;
    const run = await runBot(command);
    assert.equal(rejectionOf(run, number).code, 'trunk-kept-moving');
    assert.match(rejectionOf(run, number).reason, /moved during each of 3 test runs/);
    assert.equal(await gitIn(target, ['show', '--no-patch', '--format=%s', 'refs/heads/main']), 'moved meanwhile');
    // Three rounds (queue.attempts), each pushing one commit from inside the tests; nothing forced.
    assert.equal((await gitIn(target, ['log', '--format=%s', 'refs/heads/main'])).split('\n').filter((s) => s === 'moved meanwhile').length, 3);
    assert.equal(world.gh.statuses(REPO, head)[0]?.state, 'failure');
    assert.equal((await world.gh.pull(REPO, number)).state, 'open');
  });

  test("PRs made ready in the order B, A, C land B, A, C whatever their numbers; a writer's priority label moves C first", async () => {
    const a = await world.openPull('order-a', { 'order-a.txt': 'a\n' }, { title: 'Order A' });
    const b = await world.openPull('order-b', { 'order-b.txt': 'b\n' }, { title: 'Order B' });
    const c = await world.openPull('order-c', { 'order-c.txt': 'c\n' }, { title: 'Order C' });
    for (const pr of [b, a, c]) {
      world.gh.label(REPO, pr.number, 'byoci:land', 'carol');
      await world.gh.review(REPO, pr.number, { user: 'dave', state: 'APPROVED' });
    }
    const first = await runBot('true', 'list');
    const ready = first.summary.waiting.filter((x) => [a, b, c].some((pr) => x.proposal.id === prId(pr.number)));
    assert.deepEqual(ready.map((x) => x.proposal.id), [a, b, c].map((pr) => prId(pr.number)), 'GitHub lists them by number');
    const times = Object.fromEntries(ready.map((x) => [x.proposal.id, x.proposal.approvedAt!]));
    assert.ok(times[prId(b.number)]! < times[prId(a.number)]! && times[prId(a.number)]! < times[prId(c.number)]!, JSON.stringify(times));

    world.gh.label(REPO, c.number, 'byoci:priority=high', 'carol');
    const run = await runBot('true');
    assert.deepEqual(
      run.summary.results.map((r) => [r.kind, r.proposal.id]),
      [c, b, a].map((pr) => ['landed', prId(pr.number)]),
    );
    const subjects = (await gitIn(world.repos.target, ['log', '--first-parent', '--format=%s', '-3', 'refs/heads/main'])).split('\n').reverse();
    assert.deepEqual(subjects, [c, b, a].map((pr) => `Order ${pr === a ? 'A' : pr === b ? 'B' : 'C'} (#${pr.number})`));
  });

  test('byoci list says for each PR why it is or is not landable', async () => {
    const { number: ready } = await world.openPull('list-ready', { 'lr.txt': 'x\n' });
    world.gh.label(REPO, ready, 'byoci:land', 'carol');
    await world.gh.review(REPO, ready, { user: 'carol', state: 'APPROVED' });
    const { number: quiet } = await world.openPull('list-quiet', { 'lq.txt': 'x\n' });
    const file = join(work.dir, 'byoci.yaml');
    writeFileSync(
      file,
      [
        `workdir: ${JSON.stringify(join(work.dir, 'cli'))}`,
        'secrets:',
        '  order: [env]',
        'plugins:',
        '  github:',
        `    baseUrl: ${JSON.stringify(world.gh.url)}`,
        'projects:',
        '  widget:',
        '    targets:',
        `      - { forge: github, repo: ${REPO}, branch: main, url: ${JSON.stringify(world.repos.target)} }`,
        '    test: { backend: unsafe-host, command: "true" }',
        '',
      ].join('\n'),
    );
    const out = await run([process.execPath, '--import', 'tsx', join(process.cwd(), 'cli/main.ts'), 'list', '--config', file], {
      env: { HOME: work.dir, BYOCI_SECRET_GITHUB_TOKEN: world.gh.token },
      reject: false,
    });
    assert.equal(out.exitCode, 0, out.stderr);
    const line = (n: number) => out.stdout.split('\n').find((l) => l.includes(`github:${REPO}#${n} `)) ?? '';
    assert.match(line(ready), /^ready .*\(will land\)$/);
    assert.match(line(quiet), /^waiting .*\(waiting: not triggered: add the label "byoci:land" or comment "@byoci land"/);
    assert.ok(!out.stdout.includes(world.gh.token) && !out.stderr.includes(world.gh.token));
  });

  test('a fork PR whose fork cannot be fetched lands from the base repository\'s refs/pull/N/head, pinned to the approved head', async () => {
    const fork = tempDir('byoci-gh-fork-');
    const forkBare = join(fork.dir, 'widget.git');
    await run(['git', 'clone', '--quiet', '--bare', world.repos.target, forkBare], { env: { GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1' } });
    await gitIn(world.repos.source, ['checkout', '--quiet', '-B', 'from-fork', 'origin/main']);
    writeFileSync(join(world.repos.source, 'fork.txt'), 'from a fork\n');
    await gitIn(world.repos.source, ['add', 'fork.txt']);
    await gitIn(world.repos.source, ['commit', '--quiet', '-m', 'Work in a fork']);
    const head = await gitIn(world.repos.source, ['rev-parse', 'HEAD']);
    await gitIn(world.repos.source, ['push', '--quiet', forkBare, 'from-fork:from-fork']);
    const number = world.gh.openPull(REPO, { head: 'from-fork', user: 'alice', title: 'From a fork', fork: { owner: 'alice', name: 'widget', bare: forkBare } });
    world.gh.label(REPO, number, 'byoci:land', 'carol');
    await world.gh.review(REPO, number, { user: 'carol', state: 'APPROVED' });
    fork.remove(); // the fork is gone (deleted, or private to the bot): only refs/pull/N/head is left
    const result = await runBot('test "$(cat fork.txt)" = "from a fork"');
    const mine = result.summary.results.find((r) => r.proposal.id === `github:${REPO}#${number}`);
    assert.equal(mine?.kind, 'landed', result.lines.join('\n'));
    const landed = await mainTip();
    assert.deepEqual((await gitIn(world.repos.target, ['show', '--no-patch', '--format=%P', landed])).split(' ')[1], head, 'the approved head, merged');
  });

  test('a push refused by branch protection names GitHub\'s reason (GH006), whole', async () => {
    const { number } = await world.openPull('protected-target', { 'p.txt': 'p\n' });
    world.gh.label(REPO, number, 'byoci:land', 'carol');
    await world.gh.review(REPO, number, { user: 'carol', state: 'APPROVED' });
    // The bot is a writer, not an admin: verify cannot read the rules (a note), the push is refused.
    world.gh.protect(REPO, 'main', { requiredReviews: { count: 1 } });
    const before = await mainTip();
    const result = await runBot('true');
    const mine = result.summary.results.find((r) => r.proposal.id === `github:${REPO}#${number}`);
    assert.equal(mine?.kind, 'error', JSON.stringify(mine));
    const text = JSON.stringify(mine);
    assert.match(text, /GH006: Protected branch update failed for refs\/heads\/main/);
    assert.match(text, /Changes must be made through a pull request/);
    assert.equal(await mainTip(), before);
  });
});
