/**
 * A bzr revision id is a name, not content: a crafted branch can carry other content under
 * the reviewed revid. With the reviewed strict testament recorded (`approvedTestament`),
 * fetch refuses such a branch; without it, the fetched content's testament is reported.
 */
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { run } from '../../../core/process.js';
import { ROOT } from '../../support/cli.js';
import { missingCommands, suiteNeeds } from '../../support/components.js';
import { branchWith, brzIn, makeBranches, type Branches } from '../../support/bzr-branches.js';
import { bzrRuns, proposalFor, rejectionOf } from './helpers.js';

const PYTHON = '/usr/bin/python3';
const CRAFT = join(ROOT, 'test/fixtures/bzr/commit-with-revid.py');

function craftMissing(): string | undefined {
  return missingCommands('brz') ?? (existsSync(PYTHON) ? undefined : `${PYTHON} (with breezy) is not installed`);
}

async function testament(dir: string, revid: string): Promise<string> {
  const out = await brzIn(dir, ['testament', '--strict', `--revision=revid:${revid}`, '--', dir]);
  return /^sha1: ([0-9a-f]{40})$/m.exec(out)![1]!;
}

describe('bzr plugin: approved content pinned by the strict testament', suiteNeeds('brz', craftMissing()), () => {
  let b: Branches;
  const { newRun, cleanup } = bzrRuns();
  before(async () => {
    b = await makeBranches();
  });
  after(async () => {
    await cleanup();
    b.remove();
  });

  test('a branch carrying other content under the reviewed revid is refused; the reviewed one lands', async () => {
    const reviewed = await branchWith(b, 'reviewed', { 'f.txt': 'reviewed content\n' }, 'the reviewed change');
    const sha = await testament(reviewed.path, reviewed.revid);

    // The same revision id, other content, in another branch.
    const crafted = join(b.root, 'crafted');
    await brzIn(b.root, ['branch', '--quiet', '--', b.trunk, crafted]);
    writeFileSync(join(crafted, 'f.txt'), 'NOT what was reviewed\n');
    await brzIn(crafted, ['add', '--quiet']);
    await run([PYTHON, CRAFT, crafted, 'the reviewed change', reviewed.revid], { env: { HOME: join(b.root, 'home') } });
    assert.notEqual(await testament(crafted, reviewed.revid), sha, 'same revid, other content');

    const r = await newRun();
    const rejection = await rejectionOf(r.fetch(proposalFor(b, crafted, reviewed.revid, { approvedTestament: sha })));
    assert.equal(rejection.code, 'approved-content-changed');
    assert.match(rejection.reason, new RegExp(`the reviewed one was ${sha}`));

    const checkout = await (await newRun()).fetch(proposalFor(b, reviewed.path, reviewed.revid, { approvedTestament: sha }));
    assert.equal(checkout.sourceRevision, reviewed.revid);
    assert.equal(checkout.sourceTestament, sha);
  });
});
