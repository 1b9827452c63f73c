/**
 * End to end: the bot (core) with the launchpad, git and unsafe-host plugins, against the
 * local Launchpad serving real git repositories. Approved → tested → pushed → `Merged`;
 * every rejection is one comment and `Needs review`; a rerun posts nothing.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { LandSummary } from '../../../core/bot.js';
import { run } from '../../../core/process.js';
import gitPlugin from '../../../plugins/git/index.js';
import host from '../../../plugins/host/index.js';
import launchpad from '../../../plugins/launchpad/index.js';
import { formatCredentials } from '../../../plugins/launchpad/credentials.js';
import { createEnvStore } from '../../../secrets/env.js';
import { withTestBot } from '../../support/bot.js';
import { byoci as byociCli } from '../../support/cli.js';
import { missingCommands, suiteNeeds } from '../../support/components.js';
import { advanceTarget, branchWith, commitFiles, gitIn, makeRepos, tempDir, type Repos } from '../../support/git-repos.js';
import type { LaunchpadServer } from '../../support/launchpad-server.js';
import { CREDENTIALS, FORK, idOf, startLaunchpad, TRUNK } from './helpers.js';

const BUILD_URL = 'https://jenkins.example.invalid/job/land-brz/7/';
// Fails for a tree holding fail.txt; prints a line worth quoting.
const COMMAND = 'if [ -e fail.txt ]; then echo "FAIL: test_frobnicate (fail.txt present)"; exit 1; fi; echo ok';

describe('launchpad: landing end to end', suiteNeeds('git', missingCommands('git')), () => {
  let repos: Repos;
  let lp: LaunchpadServer;
  let work: { dir: string; remove(): void };

  before(async () => {
    repos = await makeRepos();
    lp = await startLaunchpad({ trunkUrl: repos.target, forkUrl: repos.source });
    lp.repos.get(TRUNK)!.defaultBranch = 'refs/heads/main';
    lp.setRef(TRUNK, 'main', repos.base);
    work = tempDir('byoci-lp-land-');
  });
  after(async () => {
    await lp.close();
    repos.remove();
    work.remove();
  });

  async function runBot(action: 'land' | 'list' = 'land'): Promise<{ summary: LandSummary; writes: string[]; lines: string[] }> {
    const yaml = [
      `workdir: ${JSON.stringify(work.dir)}`,
      `artefacts: ${JSON.stringify(`${work.dir}/artefacts`)}`,
      'plugins:',
      '  launchpad:',
      `    serviceRoot: ${JSON.stringify(lp.root)}`,
      '    retryDelayMs: 1',
      'projects:',
      '  brz:',
      '    targets:',
      '      - forge: launchpad',
      '        url: lp:brz',
      '        branch: main',
      '    test:',
      '      backend: unsafe-host',
      `      command: ${JSON.stringify(COMMAND)}`,
      '      timeout: 120',
      '',
    ].join('\n');
    const before = lp.requests.length;
    const stores = [createEnvStore({ env: { BYOCI_SECRET_LAUNCHPAD_OAUTH: formatCredentials(CREDENTIALS) } })];
    return withTestBot(
      { yaml, plugins: [launchpad, gitPlugin, host], defaultPlugins: ['git', 'host'], stores, buildUrl: BUILD_URL },
      async (bot, lines) => {
        const summary: LandSummary = action === 'land' ? await bot.landAll() : { results: [], waiting: await bot.discover(), exitCode: 0 };
        const writes = lp.requests.slice(before).filter((r) => r.method === 'POST').map((r) => `${r.op} ${r.path}`);
        return { summary, writes, lines };
      },
    );
  }

  const mainTip = () => gitIn(repos.target, ['rev-parse', 'refs/heads/main']);

  /** A proposal from a new branch of the fork, approved by a trusted reviewer at its tip. */
  async function propose(branch: string, files: Record<string, string>, opts: { message?: string | null; reviewer?: string } = {}) {
    const rev = await branchWith(repos, branch, files, `Work on ${branch}`);
    lp.setRef(FORK, branch, rev);
    const mp = lp.addProposal({
      source: { git: FORK, path: branch },
      target: { git: TRUNK, path: 'main' },
      commitMessage: opts.message === undefined ? `Land ${branch}` : opts.message,
    });
    lp.vote(mp.id, opts.reviewer ?? 'reviewer', 'Approve');
    lp.approve(mp.id, rev);
    return { id: mp.id, rev };
  }

  test('an approved proposal is tested, pushed and Merged; a second run does nothing and posts nothing', async () => {
    const before = await mainTip();
    const { id, rev } = await propose('feature', { 'feature.txt': 'new\n' });

    const first = await runBot();
    assert.equal(first.summary.exitCode, 0, first.lines.join('\n'));
    assert.deepEqual(first.summary.results.map((r) => [r.kind, r.proposal.id]), [['landed', idOf(lp, id)]]);
    const landed = await mainTip();
    assert.notEqual(landed, before);
    assert.deepEqual((await gitIn(repos.target, ['show', '--no-patch', '--format=%P', landed])).split(' '), [before, rev]);
    assert.equal(
      await gitIn(repos.target, ['show', '--no-patch', '--format=%B', landed]),
      `Land feature\n\nMerged from https://code.launchpad.test/${FORK}/+merge/${id}`,
    );
    assert.equal(lp.proposal(id).status, 'Merged');
    assert.equal(lp.proposal(id).mergedRevisionId, landed);
    assert.deepEqual(lp.botComments(id), []);

    const second = await runBot();
    assert.deepEqual(second.summary.results, []);
    assert.deepEqual(second.writes, [], 'nothing posted on the second run');
    assert.equal(await mainTip(), landed);
  });

  test('approved in the order B, A, C: lands B before A whatever the listing order; a priority vote tag moves C first', async () => {
    const a = await propose('lp-order-a', { 'lp-order-a.txt': 'a\n' });
    const b = await propose('lp-order-b', { 'lp-order-b.txt': 'b\n' });
    const c = await propose('lp-order-c', { 'lp-order-c.txt': 'c\n' });
    // date_reviewed as Launchpad writes it (microseconds, +00:00): b, then a, then c.
    lp.proposal(b.id).dateReviewed = '2026-11-30T10:00:01.000001+00:00';
    lp.proposal(a.id).dateReviewed = '2026-11-30T10:00:02.000001+00:00';
    lp.proposal(c.id).dateReviewed = '2026-11-30T10:00:03.000001+00:00';
    lp.vote(c.id, 'reviewer', 'Approve', '', 'priority=high');
    const run = await runBot();
    assert.deepEqual(
      run.summary.results.map((r) => [r.kind, r.proposal.id]),
      [c, b, a].map((p) => ['landed', idOf(lp, p.id)]),
      run.lines.join('\n'),
    );
    const subjects = (await gitIn(repos.target, ['log', '--first-parent', '--format=%s', '-3', 'refs/heads/main'])).split('\n').reverse();
    assert.deepEqual(subjects, ['Land lp-order-c', 'Land lp-order-b', 'Land lp-order-a']);
  });

  test('a 503 from the API twice, then 200: the landing still succeeds', async () => {
    const { id } = await propose('flaky-api', { 'flaky.txt': 'x\n' });
    lp.failNext(2, 503);
    const run = await runBot();
    assert.deepEqual(run.summary.results.map((r) => r.kind), ['landed']);
    assert.equal(lp.proposal(id).status, 'Merged');
    assert.ok(run.lines.some((l) => /launchpad answered a server error, retrying/.test(l) && /status=503/.test(l)));
  });

  test('each rejection reason is one comment and Needs review; trunk is untouched; a rerun posts nothing', async () => {
    const untrusted = await propose('untrusted', { 'u.txt': 'u\n' }, { reviewer: 'outsider' });
    const noMessage = await propose('no-message', { 'm.txt': 'm\n' }, { message: null });
    const moved = await propose('moved', { 'v.txt': 'v1\n' });
    await gitIn(repos.source, ['checkout', '--quiet', 'moved']);
    const tip = await commitFiles(repos.source, { 'v.txt': 'v2, never reviewed\n' }, 'After approval');
    lp.setRef(FORK, 'moved', tip);
    const failing = await propose('failing', { 'fail.txt': 'boom\n' });
    const conflict = await propose('conflict', { 'a.txt': 'one\nTWO from the branch\nthree\n' });
    await advanceTarget(repos, { 'a.txt': 'one\nTWO from trunk\nthree\n' }, 'Trunk changes line two');
    const trunk = await mainTip();

    const run = await runBot();
    assert.equal(run.summary.exitCode, 1);
    assert.equal(await mainTip(), trunk, 'nothing landed');
    const expected: [typeof untrusted, string, RegExp][] = [
      [untrusted, 'untrusted-approval', /^Approved only by reviewers who are not trusted for lp:brz:main: outsider\.\n\nBuild: /],
      [noMessage, 'no-commit-message', /^The proposal has no commit message\./],
      [moved, 'changes-after-approval', new RegExp(`^Unapproved changes were made after approval: the source is at ${tip}, the approved revision is ${moved.rev}`)],
      [failing, 'tests-failed', /^The tests failed \(exit code 1\)\.\n\nBuild: https:\/\/jenkins\.example\.invalid\/job\/land-brz\/7\/\n\nLast lines of the output:\n\n[\s\S]*FAIL: test_frobnicate \(fail\.txt present\)/],
      [conflict, 'merge-conflict', /^The proposal does not merge cleanly into .*a\.txt/],
    ];
    for (const [p, code, text] of expected) {
      const result = run.summary.results.find((r) => r.proposal.id === idOf(lp, p.id));
      assert.equal(result?.kind === 'rejected' && result.rejection.code, code, `${code}: ${JSON.stringify(result)}`);
      const comments = lp.botComments(p.id);
      assert.equal(comments.length, 1, `${code}: one comment`);
      assert.match(comments[0]!.subject, /^Re: \[Merge\] ~alice\/brz\/\+git\/brz:[\w-]+ into brz:main$/);
      assert.equal(comments[0]!.subject, lp.mailSubject(p.id), 'the subject of Launchpad\'s own mail');
      assert.match(comments[0]!.content, text, code);
      assert.match(comments[0]!.content, new RegExp(`Build: ${BUILD_URL.replace(/[.]/g, '\\.')}`));
      assert.equal(lp.proposal(p.id).status, 'Needs review', `${code}: back to review`);
      const statusWrites = lp.requests.filter((r) => r.op === 'setStatus' && r.path.endsWith(`/+merge/${p.id}`));
      assert.deepEqual(statusWrites.map((r) => [r.params.status, r.params.revid]), [['Needs review', p.rev]], `${code}: at the reviewed revision`);
    }

    const rerun = await runBot();
    assert.deepEqual(rerun.summary.results, []);
    assert.deepEqual(rerun.writes, []);
  });

  test('a proposal whose prerequisite is not merged waits, and listing says why', async () => {
    const baseRev = await branchWith(repos, 'base', { 'base.txt': 'b\n' }, 'Base work');
    lp.setRef(FORK, 'base', baseRev);
    lp.addProposal({ source: { git: FORK, path: 'base' }, target: { git: TRUNK, path: 'main' }, commitMessage: 'Base' });
    const rev = await branchWith(repos, 'on-top', { 'top.txt': 't\n' }, 'On top');
    lp.setRef(FORK, 'on-top', rev);
    const mp = lp.addProposal({ source: { git: FORK, path: 'on-top' }, target: { git: TRUNK, path: 'main' }, prerequisite: { git: FORK, path: 'base' }, commitMessage: 'Top' });
    lp.vote(mp.id, 'reviewer', 'Approve');
    lp.approve(mp.id, rev);
    const trunk = await mainTip();

    const listed = await runBot('list');
    const entry = listed.summary.waiting.find((c) => c.proposal.id === idOf(lp, mp.id));
    assert.deepEqual(entry?.proposal.readiness, { state: 'waiting', reason: 'the prerequisite lp:~alice/brz/+git/brz:base is not merged into lp:brz:main yet' });

    const run = await runBot();
    assert.ok(run.summary.waiting.some((c) => c.proposal.id === idOf(lp, mp.id)));
    assert.equal(run.summary.results.length, 0);
    assert.deepEqual(run.writes, []);
    assert.equal(lp.proposal(mp.id).status, 'Approved');
    assert.equal(await mainTip(), trunk);
  });

  test('byoci list says why, byoci land lands and sets Merged, a second byoci land posts nothing', async () => {
    const { id } = await propose('cli-feature', { 'cli.txt': 'cli\n' });
    const file = join(work.dir, 'byoci.yaml');
    writeFileSync(
      file,
      [
        `workdir: ${JSON.stringify(join(work.dir, 'cli'))}`,
        `artefacts: ${JSON.stringify(join(work.dir, 'cli-artefacts'))}`,
        'secrets:',
        '  order: [env]',
        'plugins:',
        '  launchpad:',
        `    serviceRoot: ${JSON.stringify(lp.root)}`,
        '    retryDelayMs: 1',
        'projects:',
        '  brz:',
        '    targets:',
        '      - { forge: launchpad, url: "lp:brz", branch: main }',
        `    test: { backend: unsafe-host, command: ${JSON.stringify(COMMAND)} }`,
        '',
      ].join('\n'),
    );
    const byoci = (...args: string[]) =>
      run([process.execPath, '--import', 'tsx', join(process.cwd(), 'cli/main.ts'), ...args, '--config', file], {
        env: { HOME: work.dir, BYOCI_SECRET_LAUNCHPAD_OAUTH: formatCredentials(CREDENTIALS) },
        reject: false,
      });
    const listed = await byoci('list');
    assert.equal(listed.exitCode, 0, listed.stderr);
    const line = (mp: number) => listed.stdout.split('\n').find((l) => l.includes(`${idOf(lp, mp)} `)) ?? '';
    assert.match(line(id), /^ready .*lp:~alice\/brz\/\+git\/brz:cli-feature into lp:brz:main\s+\(will land\)$/);
    const onTop = [...lp.proposals.values()].find((p) => 'git' in p.source && p.source.path === 'refs/heads/on-top')!;
    assert.match(line(onTop.id), /^waiting .*\(waiting: the prerequisite lp:~alice\/brz\/\+git\/brz:base is not merged into lp:brz:main yet\)$/);

    const landed = await byoci('land');
    assert.equal(landed.exitCode, 0, landed.stderr);
    assert.match(landed.stdout, new RegExp(`^landed +${idOf(lp, id).replace(/[+]/g, '\\+')} `, 'm'));
    assert.equal(lp.proposal(id).status, 'Merged');
    assert.equal(lp.proposal(id).mergedRevisionId, await mainTip());
    const secretParts = [CREDENTIALS.accessToken, CREDENTIALS.accessSecret];
    for (const out of [listed, landed]) for (const part of secretParts) assert.ok(!out.stdout.includes(part) && !out.stderr.includes(part));

    const before = lp.requests.length;
    const again = await byoci('land');
    assert.equal(again.exitCode, 0, again.stderr);
    assert.match(again.stdout, /nothing to land/);
    assert.deepEqual(lp.requests.slice(before).filter((r) => r.method === 'POST'), []);
  });

  test('killed (SIGKILL) between comment and status: the rerun sets the status and posts no second comment', async () => {
    const failing = await propose('killed', { 'fail.txt': 'boom\n' });
    const file = join(work.dir, 'killed.yaml');
    writeFileSync(
      file,
      [
        `workdir: ${JSON.stringify(join(work.dir, 'killed'))}`,
        `artefacts: ${JSON.stringify(join(work.dir, 'killed-artefacts'))}`,
        'secrets:',
        '  order: [env]',
        'plugins:',
        '  launchpad:',
        `    serviceRoot: ${JSON.stringify(lp.root)}`,
        '    retryDelayMs: 1',
        'projects:',
        '  brz:',
        '    targets:',
        '      - { forge: launchpad, url: "lp:brz", branch: main }',
        `    test: { backend: unsafe-host, command: ${JSON.stringify(COMMAND)} }`,
        '',
      ].join('\n'),
    );
    const env = { HOME: work.dir, BYOCI_SECRET_LAUNCHPAD_OAUTH: formatCredentials(CREDENTIALS) };
    let pid: number | undefined;
    let killed = 0;
    // Launchpad applies the comment; the bot dies before it sees the answer (before setStatus).
    lp.onRequest = (r) => {
      if (r.op === 'createComment' && r.path.endsWith(`/+merge/${failing.id}`) && pid && !killed) {
        killed++;
        process.kill(pid, 'SIGKILL');
      }
    };
    try {
      const first = await byociCli(['land', '--config', file], { env, onSpawn: (p) => (pid = p) });
      assert.equal(first.signal, 'SIGKILL', first.stderr);
      assert.equal(killed, 1);
      assert.equal(lp.botComments(failing.id).length, 1);
      assert.equal(lp.proposal(failing.id).status, 'Approved', 'the crash came before setStatus');

      const rerun = await byociCli(['land', '--config', file], { env });
      assert.equal(rerun.code, 1, rerun.stderr);
      assert.equal(lp.botComments(failing.id).length, 1, 'exactly one comment');
      assert.equal(lp.proposal(failing.id).status, 'Needs review');
      assert.match(rerun.stderr, /comment already posted, not posting it again/);
    } finally {
      lp.onRequest = undefined;
    }
  });
});
