import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { LaunchpadServer } from '../../support/launchpad-server.js';
import { applyPlugins } from '../../support/harness.js';
import launchpad from '../../../plugins/launchpad/index.js';
import { formatCredentials } from '../../../plugins/launchpad/credentials.js';
import { bzrUrlFor } from '../../../plugins/launchpad/discover.js';
import { CREDENTIALS, discover, FORK, harness, idOf, project, startLaunchpad, TRUNK } from './helpers.js';

const REV = 'c'.repeat(40);

describe('launchpad discover', () => {
  let lp: LaunchpadServer;
  const ids: Record<string, number> = {};
  before(async () => {
    lp = await startLaunchpad();
    const mk = (name: string, extra: Parameters<LaunchpadServer['addProposal']>[0] extends infer T ? Partial<T> : never = {}) => {
      lp.setRef(FORK, name, REV);
      const p = lp.addProposal({ source: { git: FORK, path: name }, target: { git: TRUNK, path: 'master' }, commitMessage: `Land ${name}`, ...extra });
      ids[name] = p.id;
      return p.id;
    };
    lp.approve(mk('ready'), REV);
    lp.vote(ids.ready!, 'reviewer', 'Approve');
    lp.vote(ids.ready!, 'outsider', 'Disapprove'); // untrusted: not counted

    mk('in-review');

    lp.approve(mk('untrusted'), REV);
    lp.vote(ids.untrusted!, 'outsider', 'Approve');

    lp.approve(mk('no-message', { commitMessage: null, description: '  ' }), REV);
    lp.vote(ids['no-message']!, 'reviewer', 'Approve');

    lp.approve(mk('described', { commitMessage: null, description: 'Fix the frobnicator\n\nLonger text.' }), REV);
    lp.vote(ids.described!, 'reviewer', 'Approve');

    mk('no-revid', { status: 'Approved' });
    lp.vote(ids['no-revid']!, 'reviewer', 'Approve');

    lp.approve(mk('needs-fixing'), REV);
    lp.vote(ids['needs-fixing']!, 'reviewer', 'Approve');
    lp.addPerson('maintainer');
    lp.repos.get(TRUNK)!.trusted.add('maintainer');
    lp.vote(ids['needs-fixing']!, 'maintainer', 'Needs Fixing');

    lp.approve(mk('pending'), REV);
    lp.vote(ids.pending!, 'reviewer', 'Approve');
    lp.vote(ids.pending!, 'maintainer', 'pending');

    // Prerequisites: one not merged yet, one merged.
    lp.setRef(FORK, 'base-open', REV);
    lp.addProposal({ source: { git: FORK, path: 'base-open' }, target: { git: TRUNK, path: 'master' }, commitMessage: 'base' });
    lp.approve(mk('after-open', { prerequisite: { git: FORK, path: 'base-open' } }), REV);
    lp.vote(ids['after-open']!, 'reviewer', 'Approve');
    lp.setRef(FORK, 'base-merged', REV);
    lp.addProposal({ source: { git: FORK, path: 'base-merged' }, target: { git: TRUNK, path: 'master' }, commitMessage: 'base', status: 'Merged' });
    lp.approve(mk('after-merged', { prerequisite: { git: FORK, path: 'base-merged' } }), REV);
    lp.vote(ids['after-merged']!, 'reviewer', 'Approve');

    // Targets another branch but shows up among master's candidates (a stale listing).
    lp.setRef(FORK, 'elsewhere', REV);
    const other = lp.addProposal({ source: { git: FORK, path: 'elsewhere' }, target: { git: TRUNK, path: 'stable' }, commitMessage: 'x', alsoListedUnder: { git: TRUNK, path: 'master' } });
    lp.approve(other.id, REV);
    lp.vote(other.id, 'reviewer', 'Approve');
    ids.elsewhere = other.id;
  });
  after(() => lp.close());

  test('every candidate of the target is found across pages, with why it can or cannot land', async () => {
    const h = await harness(lp);
    try {
      const found = await discover(h);
      const state = (name: string) => found.get(idOf(lp, ids[name]!))?.readiness;
      assert.deepEqual(state('ready'), { state: 'ready' });
      assert.deepEqual(state('in-review'), { state: 'waiting', reason: 'status is "Needs review", not Approved' });
      assert.deepEqual(state('untrusted'), {
        state: 'rejected',
        code: 'untrusted-approval',
        reason: 'Approved only by reviewers who are not trusted for lp:brz:master: outsider.',
      });
      assert.deepEqual(state('no-message'), { state: 'rejected', code: 'no-commit-message', reason: 'The proposal has no commit message. Set one (or a description) and approve again.' });
      const rejected = (name: string) => {
        const r = state(name);
        return r?.state === 'rejected' ? r : undefined;
      };
      assert.equal(rejected('no-revid')?.code, 'no-approved-revision');
      assert.equal(rejected('needs-fixing')?.code, 'votes');
      assert.match(rejected('needs-fixing')?.reason ?? '', /Needs Fixing: 1 \(needs == 0\)/);
      assert.match(rejected('pending')?.reason ?? '', /Pending: 1 \(needs == 0\)/);
      assert.deepEqual(state('after-open'), { state: 'waiting', reason: 'the prerequisite lp:~alice/brz/+git/brz:base-open is not merged into lp:brz:master yet' });
      assert.deepEqual(state('after-merged'), { state: 'ready' });
      assert.equal(found.has(idOf(lp, ids.elsewhere!)), false, 'a proposal for another target is not listed');
    } finally {
      h.cleanup();
    }
  });

  test('a ready proposal carries what the git plugin and the reporter need', async () => {
    const h = await harness(lp);
    try {
      const p = (await discover(h)).get(idOf(lp, ids.ready!))!;
      assert.equal(p.forge, 'launchpad');
      assert.equal(p.title, 'lp:~alice/brz/+git/brz:ready into lp:brz:master');
      assert.deepEqual(p.source, { vcs: 'git', url: '/srv/none/fork', branch: 'ready' });
      assert.deepEqual(p.target, { vcs: 'git', url: '/srv/none/trunk.git', branch: 'master' });
      assert.equal(p.approvedRevision, REV);
      assert.equal(p.commitMessage, 'Land ready');
      assert.match(p.url, /^https:\/\/code\.launchpad\.test\/~alice\/brz\/\+git\/brz\/\+merge\/\d+$/);
      assert.deepEqual(
        p.votes.map((v) => [v.reviewer, v.vote, v.trusted]),
        [
          ['reviewer', 'Approve', true],
          ['outsider', 'Disapprove', false],
        ],
      );
      const described = (await discover(h)).get(idOf(lp, ids.described!))!;
      assert.equal(described.commitMessage, 'Fix the frobnicator\n\nLonger text.');
    } finally {
      h.cleanup();
    }
  });

  test('criteria are configurable: Approve >= 2 rejects a single approval', async () => {
    const h = await harness(lp, { criteria: 'Approve >= 2, Disapprove == 0' });
    try {
      const r = (await discover(h)).get(idOf(lp, ids.ready!))!.readiness;
      assert.deepEqual(r, {
        state: 'rejected',
        code: 'votes',
        reason: 'The votes do not meet the landing criteria (Approve >= 2, Disapprove == 0): Approve: 1 (needs >= 2).',
      });
    } finally {
      h.cleanup();
    }
  });

  test('git+ssh URLs get the landing user when gitProtocol is ssh', async () => {
    const h = await harness(lp, { gitProtocol: 'ssh', sshUser: 'brz-lander' });
    try {
      const p = (await discover(h)).get(idOf(lp, ids.ready!))!;
      assert.equal(p.source.url, 'git+ssh://brz-lander@git.launchpad.test/~alice/brz/+git/brz');
      assert.equal(p.target.url, 'git+ssh://brz-lander@git.launchpad.test/~brz-team/brz/+git/brz');
    } finally {
      h.cleanup();
    }
  });

  test('a proposal whose source repository is gone waits with the reason; the others are still found', async () => {
    lp.addGitRepository({ owner: 'carol', project: 'brz', name: 'gone', httpsUrl: '/srv/none/gone' });
    lp.setRef('~carol/brz/+git/gone', 'wip', REV);
    const mp = lp.addProposal({ source: { git: '~carol/brz/+git/gone', path: 'wip' }, target: { git: TRUNK, path: 'master' }, commitMessage: 'x' });
    lp.approve(mp.id, REV);
    lp.repos.delete('~carol/brz/+git/gone');
    const h = await harness(lp);
    try {
      const found = await discover(h);
      const p = found.get(idOf(lp, ids.ready!));
      assert.deepEqual(p?.readiness, { state: 'ready' });
      const gone = [...found.values()].find((x) => x.url.endsWith(`/+merge/${mp.id}`));
      assert.equal(gone?.readiness.state, 'waiting');
      assert.match(gone?.readiness.state === 'waiting' ? gone.readiness.reason : '', /^the proposal cannot be read: Launchpad has no ~carol\/brz\/\+git\/gone \(404 Not Found\)/);
    } finally {
      lp.proposals.delete(mp.id);
      h.cleanup();
    }
  });

  test('other forges\' targets are passed through untouched', async () => {
    const h = await harness(lp);
    try {
      const p = project({ forge: 'local', repo: '/x' });
      const before = lp.requests.length;
      const out = await h.hooks.discover.promise([], { project: p, target: p.targets[0]!, signal: h.run.signal });
      assert.deepEqual(out, []);
      assert.equal(lp.requests.length, before);
    } finally {
      h.cleanup();
    }
  });

  test('bzr branches are found with getByUrl and their proposals are bzr', async () => {
    lp.addBzrBranch({ owner: 'brz-team', project: 'bzr', name: 'trunk', trusted: ['reviewer'] });
    lp.addBzrBranch({ owner: 'alice', project: 'bzr', name: 'fix', lastRevision: 'alice@example.com-20240101-abc' });
    const mp = lp.addProposal({ source: { bzr: '~alice/bzr/fix' }, target: { bzr: '~brz-team/bzr/trunk' }, commitMessage: 'Fix bzr' });
    lp.approve(mp.id, 'alice@example.com-20240101-abc');
    lp.vote(mp.id, 'reviewer', 'Approve');
    // A local service root: brz's lp: would mean production, so the bzr hosting is configured.
    const h = await harness(lp, { bzrRoot: 'bzr+ssh://bazaar.launchpad.test/' });
    try {
      const bzrProject = project({ url: 'lp:~brz-team/bzr/trunk' });
      const found = await discover(h, bzrProject);
      const p = found.get(idOf(lp, mp.id))!;
      assert.deepEqual(p.readiness, { state: 'ready' });
      assert.deepEqual(p.source, { vcs: 'bzr', url: 'bzr+ssh://bazaar.launchpad.test/~alice/bzr/fix', branch: '' });
      assert.deepEqual(p.target, { vcs: 'bzr', url: 'bzr+ssh://bazaar.launchpad.test/~brz-team/bzr/trunk', branch: '' });
      assert.equal(p.approvedRevision, 'alice@example.com-20240101-abc');
      // verify says when no loaded plugin declares it handles bzr branches (no guessing by name).
      const payload = {
        projects: [bzrProject],
        problems: [] as { source: string; message: string }[],
        notes: [] as { source: string; message: string }[],
        signal: h.run.signal,
        handles: { vcs: ['git'], backends: ['unsafe-host'] },
      };
      await h.hooks.verify.promise(payload);
      assert.deepEqual(payload.problems.map((x) => x.message), [
        'projects.brz.targets[0]: lp:~brz-team/bzr/trunk is a bzr branch and no loaded plugin handles bzr (handled: git)',
      ]);
      const withBzr = { ...payload, problems: [] as { source: string; message: string }[], handles: { vcs: ['git', 'bzr'], backends: [] } };
      await h.hooks.verify.promise(withBzr);
      assert.deepEqual(withBzr.problems, []);
    } finally {
      h.cleanup();
    }
  });

  test('verify notes the target and reports unknown targets and bad URLs together', async () => {
    const h = await harness(lp);
    try {
      const projects = [
        { ...project(), name: 'ok' },
        { ...project({ url: 'lp:~nobody/brz/+git/none' }), name: 'missing' },
        { ...project({ url: 'lp:brz', branch: 'nope' }), name: 'nobranch' },
      ];
      const payload = { projects, problems: [] as { source: string; message: string }[], notes: [] as { source: string; message: string }[], signal: h.run.signal };
      await h.hooks.verify.promise(payload);
      const messages = payload.problems.map((p) => p.message);
      assert.equal(messages.length, 2, messages.join('\n'));
      // A malformed URL is core's to report at config load (file and line): see the test below.
      assert.throws(() => project({ url: 'https://launchpad.net/brz' }), /projects\.test\.targets\.0\.url: must be an lp: URL/);
      assert.match(messages[0]!, /projects\.missing\.targets\[0\]: Launchpad has no git repository lp:~nobody\/brz\/\+git\/none/);
      assert.match(messages[1]!, /projects\.nobranch\.targets\[0\]: Launchpad repository lp:brz has no branch nope/);
      assert.ok(payload.notes.some((n) => /authenticated on .* as byoci-bot/.test(n.message)));
      assert.ok(payload.notes.some((n) => n.message === 'ok: target lp:brz:master found (git)'));
    } finally {
      h.cleanup();
    }
  });

  test('verify says when the token is refused or the credentials text is not launchpadlib\'s', async () => {
    for (const [oauth, expected] of [
      [formatCredentials({ ...CREDENTIALS, accessSecret: 'revoked-secret' }), /refused the credentials \(401 Unauthorized\).*Invalid signature/],
      ['consumer_key=x\n', /not a launchpadlib credentials file/],
    ] as const) {
      const h = await applyPlugins([{ plugin: launchpad, config: { serviceRoot: lp.root, retries: 0 }, secrets: { oauth } }]);
      try {
        const payload = { projects: [project()], problems: [] as { source: string; message: string; hint?: string }[], notes: [], signal: h.run.signal };
        await h.hooks.verify.promise(payload);
        assert.equal(payload.problems.length, 1);
        assert.match(payload.problems[0]!.message, expected);
        assert.match(payload.problems[0]!.hint ?? '', /byoci secrets set launchpad\/oauth/);
        assert.doesNotMatch(payload.problems[0]!.message, /revoked-secret/);
      } finally {
        h.cleanup();
      }
    }
  });

  test('a source pushed after approval is "changes after approval" (git: the ref\'s commit_sha1, bzr: last_scanned_id)', async () => {
    lp.setRef(FORK, 'pushed-later', REV);
    const git = lp.addProposal({ source: { git: FORK, path: 'pushed-later' }, target: { git: TRUNK, path: 'master' }, commitMessage: 'Later' });
    lp.vote(git.id, 'reviewer', 'Approve');
    lp.approve(git.id, REV);
    const moved = 'f'.repeat(40);
    lp.setRef(FORK, 'pushed-later', moved);
    lp.addBzrBranch({ owner: 'brz-team', project: 'bzr', name: 'trunk2', trusted: ['reviewer'] });
    lp.addBzrBranch({ owner: 'alice', project: 'bzr', name: 'later', lastRevision: 'alice@example.com-2-moved' });
    const bzr = lp.addProposal({ source: { bzr: '~alice/bzr/later' }, target: { bzr: '~brz-team/bzr/trunk2' }, commitMessage: 'Later bzr' });
    lp.vote(bzr.id, 'reviewer', 'Approve');
    lp.approve(bzr.id, 'alice@example.com-1-reviewed');
    const h = await harness(lp, { bzrRoot: 'bzr+ssh://bazaar.launchpad.test/' });
    try {
      const g = (await discover(h)).get(idOf(lp, git.id))!;
      assert.equal(g.readiness.state, 'rejected');
      assert.equal(g.readiness.state === 'rejected' && g.readiness.code, 'changes-after-approval');
      assert.match(g.readiness.state === 'rejected' ? g.readiness.reason : '', new RegExp(`the source is at ${moved}, the approved revision is ${REV}`));
      const b = (await discover(h, project({ url: 'lp:~brz-team/bzr/trunk2' }))).get(idOf(lp, bzr.id))!;
      assert.equal(b.readiness.state === 'rejected' && b.readiness.code, 'changes-after-approval');
    } finally {
      h.cleanup();
    }
  });

  test('bzr lp: URLs resolve against the configured service root, never silently production', async () => {
    assert.equal(bzrUrlFor('https://api.launchpad.net/', undefined)!('~brz/brz/trunk'), 'lp:~brz/brz/trunk');
    assert.equal(bzrUrlFor('https://api.staging.launchpad.net/', undefined)!('~brz/brz/trunk'), 'lp://staging/~brz/brz/trunk');
    assert.equal(bzrUrlFor('https://api.qastaging.launchpad.net/', undefined)!('~brz/brz/trunk'), 'lp://qastaging/~brz/brz/trunk');
    assert.equal(bzrUrlFor(lp.root, undefined), undefined);
    assert.equal(bzrUrlFor(lp.root, 'https://bzr.example.org/code')!('~brz/brz/trunk'), 'https://bzr.example.org/code/~brz/brz/trunk');
    lp.addBzrBranch({ owner: 'brz-team', project: 'bzr', name: 'trunk3' });
    const h = await harness(lp);
    try {
      const payload = { projects: [project({ url: 'lp:~brz-team/bzr/trunk3' })], problems: [] as { message: string }[], notes: [], signal: h.run.signal };
      await h.hooks.verify.promise(payload as unknown as Parameters<typeof h.hooks.verify.promise>[0]);
      assert.equal(payload.problems.length, 1, JSON.stringify(payload.problems));
      assert.match(payload.problems[0]!.message, /lp:~brz-team\/bzr\/trunk3 is a bzr branch of http:\/\/127\.0\.0\.1:\d+\/, where brz's lp: would mean production Launchpad: set plugins\.launchpad\.bzrRoot/);
    } finally {
      h.cleanup();
    }
  });
});
