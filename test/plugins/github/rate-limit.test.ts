/**
 * Discovery within GitHub's rate limit, measured against the local GitHub: 150 open pull
 * requests polled as `byoci land` does every 5 minutes (a new process each time: verify,
 * then discover), counting the requests that count against the limit (304s do not).
 * The figures are printed and stated in plugins/github/README.md.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gitIn, branchWith } from '../../support/git-repos.js';
import { missingCommands, suiteNeeds } from '../../support/components.js';
import { REPO, discover, githubHarness, makeWorld, projectOf, type World } from './helpers.js';

const OPEN = 150;
const TRIGGERED = 5;
const POLLS_PER_HOUR = 12;

describe('github plugin: requests per poll', suiteNeeds('git', missingCommands('git')), () => {
  let world: World;
  let dir: string;
  before(async () => {
    world = await makeWorld();
    dir = mkdtempSync(join(tmpdir(), 'byoci-gh-rate-'));
    await branchWith(world.repos, 'shared-head', { 'x.txt': 'x\n' }, 'Work');
    await gitIn(world.repos.source, ['push', '--quiet', 'origin', 'shared-head:shared-head']);
    for (let i = 0; i < OPEN; i++) {
      const n = world.gh.openPull(REPO, { head: 'shared-head', user: 'alice', title: `Change ${i}`, body: `Body ${i}` });
      if (i % 10 === 0) world.gh.comment(REPO, n, 'alice', 'Could someone review this?');
      if (i < TRIGGERED) {
        world.gh.label(REPO, n, 'byoci:land', 'carol');
        await world.gh.review(REPO, n, { user: 'alice', state: 'COMMENTED' });
      }
    }
  });
  after(async () => {
    await world.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** One run as the bot does it (verify, then discover), a new plugin instance each time. */
  async function poll(config: Record<string, unknown>): Promise<number> {
    const before = world.gh.counted().length;
    const h = await githubHarness(world, config);
    try {
      const project = projectOf(world);
      const payload = { projects: [project], problems: [] as { message: string }[], notes: [] as { message: string }[], signal: h.run.signal };
      await h.hooks.verify.promise(payload as unknown as Parameters<typeof h.hooks.verify.promise>[0]);
      assert.deepEqual(payload.problems, []);
      const found = await discover(h, world);
      assert.equal(found.length, OPEN);
      await h.hooks.shutdown.promise({ reason: 'done' } as unknown as Parameters<typeof h.hooks.shutdown.promise>[0]);
    } finally {
      h.cleanup();
    }
    return world.gh.counted().length - before;
  }

  test(`${OPEN} open pull requests polled every 5 minutes stay well under 5,000 requests an hour`, async () => {
    const etagStore = join(dir, 'byoci.db');
    const cold = await poll({ etagStore });
    const steady = await poll({ etagStore });
    // Something happens between two polls: a comment on one PR, a label on another.
    world.gh.comment(REPO, 20, 'bob', 'LGTM');
    world.gh.label(REPO, 30, 'byoci:land', 'carol');
    const changed = await poll({ etagStore });
    const uncached = await poll({ etagStore: false });
    const hour = (perPoll: number) => perPoll * POLLS_PER_HOUR;
    console.log(
      [
        `requests counted against the rate limit, ${OPEN} open PRs (${TRIGGERED} triggered), per poll / per hour at ${POLLS_PER_HOUR} polls:`,
        `  first poll (no ETags yet):      ${cold} / ${hour(cold)}`,
        `  steady (nothing changed):       ${steady} / ${hour(steady)}`,
        `  one comment and one label new:  ${changed} / ${hour(changed)}`,
        `  without the ETag store:         ${uncached} / ${hour(uncached)}`,
      ].join('\n'),
    );
    // An untriggered PR costs nothing beyond the list when nothing changed.
    assert.ok(steady <= 5, `steady poll: ${steady} requests`);
    assert.ok(changed <= 15, `poll after two changes: ${changed} requests`);
    assert.ok(hour(cold) < 5000 / 2, `even uncached every poll: ${hour(cold)} an hour`);
    assert.ok(hour(uncached) < 5000 / 2, `without ETags: ${hour(uncached)} an hour`);
  });
});
