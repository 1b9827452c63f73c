/**
 * A bzr landing end to end through the real `byoci land` (launchpad + bzr + unsafe-host
 * plugins) against the local Launchpad, with real brz branches served from a directory
 * (`bzrRoot: file://…`): the landing comment carries the strict testament sha1 of the
 * reviewed revision (a bzr revid is a name, not content; Launchpad keeps no digest), and a
 * crash between that comment and the `Merged` status posts exactly one comment.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { formatCredentials } from '../../../plugins/launchpad/credentials.js';
import { brzIn, commitFiles, tipOf } from '../../support/bzr-branches.js';
import { byoci } from '../../support/cli.js';
import { missingCommands, suiteNeeds } from '../../support/components.js';
import { tempDir } from '../../support/git-repos.js';
import type { LaunchpadServer } from '../../support/launchpad-server.js';
import { CREDENTIALS, startLaunchpad } from './helpers.js';

const TRUNK = '~brz-team/bzr/trunk';

describe('launchpad: a bzr landing pins the reviewed content in its comment', suiteNeeds('brz', missingCommands('brz')), () => {
  let lp: LaunchpadServer;
  let work: { dir: string; remove(): void };
  let hosting: string;
  let config: string;

  before(async () => {
    lp = await startLaunchpad();
    work = tempDir('byoci-lp-bzr-');
    // The bzr hosting of this service root: <hosting>/<unique name>, as bzrRoot says.
    hosting = join(work.dir, 'hosting');
    const seed = join(work.dir, 'seed');
    await brzIn(work.dir, ['init', '--quiet', seed]);
    await commitFiles(seed, { README: 'hello\n' }, 'Initial commit');
    mkdirSync(join(hosting, '~brz-team', 'bzr'), { recursive: true });
    await brzIn(work.dir, ['branch', '--quiet', '--no-tree', seed, join(hosting, TRUNK)]);
    lp.addBzrBranch({ owner: 'brz-team', project: 'bzr', name: 'trunk', trusted: ['reviewer'] });
    config = join(work.dir, 'byoci.yaml');
    writeFileSync(
      config,
      [
        `workdir: ${JSON.stringify(join(work.dir, 'work'))}`,
        `artefacts: ${JSON.stringify(join(work.dir, 'artefacts'))}`,
        'secrets:',
        '  order: [env]',
        'plugins:',
        '  launchpad:',
        `    serviceRoot: ${JSON.stringify(lp.root)}`,
        `    bzrRoot: ${JSON.stringify(`file://${hosting}/`)}`,
        '    retryDelayMs: 1',
        'projects:',
        '  bzr:',
        '    targets:',
        `      - { forge: launchpad, url: "lp:${TRUNK}" }`,
        '    test: { backend: unsafe-host, command: "test -e README" }',
        '',
      ].join('\n'),
    );
  });
  after(async () => {
    await lp.close();
    work.remove();
  });

  const env = () => ({ HOME: work.dir, BYOCI_SECRET_LAUNCHPAD_OAUTH: formatCredentials(CREDENTIALS) });

  /** A source branch `~alice/bzr/<name>` with one commit, proposed into trunk and approved at its tip. */
  async function propose(name: string): Promise<{ id: number; revid: string; testament: string }> {
    const path = join(hosting, '~alice', 'bzr', name);
    mkdirSync(join(hosting, '~alice', 'bzr'), { recursive: true });
    await brzIn(work.dir, ['branch', '--quiet', '--', join(hosting, TRUNK), path]);
    const revid = await commitFiles(path, { [`${name}.txt`]: `${name}\n` }, `Work on ${name}`);
    // What a reviewer runs on the branch they reviewed.
    const said = await brzIn(path, ['testament', '--strict', `--revision=revid:${revid}`]);
    const testament = /^sha1: ([0-9a-f]{40})$/m.exec(said)?.[1];
    assert.ok(testament, said);
    lp.addBzrBranch({ owner: 'alice', project: 'bzr', name, lastRevision: revid });
    const mp = lp.addProposal({ source: { bzr: `~alice/bzr/${name}` }, target: { bzr: TRUNK }, commitMessage: `Land ${name}` });
    lp.vote(mp.id, 'reviewer', 'Approve');
    lp.approve(mp.id, revid);
    return { id: mp.id, revid, testament };
  }

  test('the comment names the reviewed revid, its testament sha1 and the landed revision; Merged', async () => {
    const p = await propose('fix');
    const first = await byoci(['land', '--config', config], { env: env() });
    assert.equal(first.code, 0, first.stderr);
    const landed = await tipOf(join(hosting, TRUNK));
    assert.notEqual(landed, p.revid);
    assert.equal(lp.proposal(p.id).status, 'Merged');
    assert.equal(lp.proposal(p.id).mergedRevisionId, landed);
    const comments = lp.botComments(p.id);
    assert.equal(comments.length, 1, JSON.stringify(comments));
    const [first_paragraph, second] = String(comments[0]!.content).split('\n\n');
    assert.equal(
      first_paragraph,
      `Landed: the reviewed revision ${p.revid} (strict testament sha1 ${p.testament}) was merged and pushed as revision ${landed}.`,
    );
    assert.match(second!, new RegExp(`brz testament --strict -r revid:${p.revid.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    // The same sha1 is in the log.
    assert.match(first.stderr, new RegExp(`approved revision pinned by content .*testament=${p.testament}`));

  });

  test('killed (SIGKILL) between the landing comment and the status: the rerun sets Merged, exactly one comment', async () => {
    const p = await propose('killed');
    let pid: number | undefined;
    let killed = 0;
    // Launchpad applies the comment; the bot dies before it sees the answer (before setStatus).
    lp.onRequest = (r) => {
      if (r.op === 'createComment' && r.path.endsWith(`/+merge/${p.id}`) && pid && !killed) {
        killed++;
        process.kill(pid, 'SIGKILL');
      }
    };
    try {
      const first = await byoci(['land', '--config', config], { env: env(), onSpawn: (child) => (pid = child) });
      assert.equal(first.signal, 'SIGKILL', first.stderr);
      assert.equal(killed, 1);
      assert.equal(lp.botComments(p.id).length, 1);
      assert.equal(lp.proposal(p.id).status, 'Approved', 'the crash came before setStatus');
      const landed = await tipOf(join(hosting, TRUNK));

      const rerun = await byoci(['land', '--config', config], { env: env() });
      assert.equal(rerun.code, 0, rerun.stderr);
      assert.equal(lp.botComments(p.id).length, 1, 'exactly one comment');
      assert.match(String(lp.botComments(p.id)[0]!.content), new RegExp(`strict testament sha1 ${p.testament}\\) was merged and pushed as revision`));
      assert.equal(lp.proposal(p.id).status, 'Merged');
      assert.equal(lp.proposal(p.id).mergedRevisionId, landed, 'the landing of the killed run, not a second one');
      assert.equal(await tipOf(join(hosting, TRUNK)), landed);
      assert.match(rerun.stderr, /comment already posted, not posting it again/);
    } finally {
      lp.onRequest = undefined;
    }
  });
});
