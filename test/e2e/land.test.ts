/**
 * Issue 2's acceptance, through the real `byoci` command on the local forge with real git
 * repositories: landing, rejection, dry-run, config errors, hostile branch names, changes
 * after approval, a throwing reporter, reruns, signals.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { parse, stringify } from 'yaml';
import { run } from '../../core/process.js';
import { createDemo, type DemoSetup } from '../../demo/setup.js';
import { byoci, treeDigest } from '../support/cli.js';

interface ProposalFile {
  status: string;
  merged_revision?: string;
  comments?: { author: string; subject: string; body: string }[];
  [key: string]: unknown;
}

const GIT_ENV = {
  HOME: tmpdir(),
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_AUTHOR_NAME: 'Eve',
  GIT_AUTHOR_EMAIL: 'eve@example.org',
  GIT_COMMITTER_NAME: 'Eve',
  GIT_COMMITTER_EMAIL: 'eve@example.org',
};

async function git(args: string[], cwd?: string): Promise<string> {
  return (await run(['git', ...args], { ...(cwd ? { cwd } : {}), env: GIT_ENV })).stdout.trim();
}

function readProposal(demo: DemoSetup, id: string): ProposalFile {
  return parse(readFileSync(join(demo.proposals, `${id}.yaml`), 'utf8')) as ProposalFile;
}

function writeProposal(demo: DemoSetup, id: string, data: Record<string, unknown>): void {
  writeFileSync(join(demo.proposals, `${id}.yaml`), stringify(data));
}

async function newDemo(): Promise<DemoSetup> {
  return createDemo(mkdtempSync(join(tmpdir(), 'byoci-e2e-')), { backend: 'unsafe-host' });
}

/** Adds a branch to the contributor's repository, one commit on top of trunk; returns its sha. */
async function addBranch(demo: DemoSetup, branch: string, file: string, content: string): Promise<string> {
  const work = mkdtempSync(join(tmpdir(), 'byoci-e2e-work-'));
  await git(['clone', '-q', demo.trunk, work]);
  await git(['checkout', '-q', '-b', branch], work);
  writeFileSync(join(work, file), content);
  await git(['add', file], work);
  await git(['commit', '-q', '-m', `Add ${file}`], work);
  await git(['push', '-q', demo.contrib, `HEAD:refs/heads/${branch}`], work);
  return git(['rev-parse', 'HEAD'], work);
}

describe('byoci land on the local forge', () => {
  test('the good proposal lands with Merged from; the failing one is rejected with a comment', async () => {
    const demo = await newDemo();
    const result = await byoci(['--config', demo.config, 'land']);
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stdout, /^landed +local:1 +Add multiplication/m);
    assert.match(result.stdout, /^rejected +local:2 +Simplify addition: The tests failed \(exit code 1\)/m);

    const message = await git(['--git-dir', demo.trunk, 'log', '-1', '--format=%B', 'main']);
    assert.match(message, /^Add a mul operation to calc\.\n\nMerged from file:\/\/.*\/proposals\/1\.yaml$/);
    const parents = await git(['--git-dir', demo.trunk, 'log', '-1', '--format=%P', 'main']);
    assert.equal(parents.split(' ').length, 2, 'a --no-ff merge commit');
    assert.ok(parents.includes(demo.revisions.good));
    const people = await git(['--git-dir', demo.trunk, 'log', '-1', '--format=%an <%ae>|%cn <%ce>', 'main']);
    assert.equal(people, 'Ada Contributor <ada@example.org>|byoci demo lander <lander@example.org>');

    const landed = readProposal(demo, '1');
    assert.equal(landed.status, 'Merged');
    assert.equal(landed.merged_revision, await git(['--git-dir', demo.trunk, 'rev-parse', 'main']));
    const rejected = readProposal(demo, '2');
    assert.equal(rejected.status, 'Needs review');
    const comment = rejected.comments?.at(-1);
    assert.match(comment?.subject ?? '', /^Re: \[Merge\] .*bad-change into .*main$/);
    assert.match(comment?.body ?? '', /The tests failed \(exit code 1\)/);
    assert.match(comment?.body ?? '', /FAIL add 2 3: expected 5, got 8/);
    // The JUnit report of each run was copied back.
    const runs = readdirSync(join(demo.dir, 'artefacts'));
    assert.equal(runs.length, 1);
    assert.ok(existsSync(join(demo.dir, 'artefacts', runs[0] ?? '', 'local_1', 'reports', 'junit.xml')));

    // A second run finds nothing to do and posts nothing.
    const again = await byoci(['--config', demo.config, 'land']);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /nothing to land/);
    assert.deepEqual(readProposal(demo, '2').comments, rejected.comments);
  });

  test('--dry-run leaves repositories and proposal files byte-identical', async () => {
    const demo = await newDemo();
    const before = [demo.trunk, demo.contrib, demo.proposals].map(treeDigest);
    const result = await byoci(['--config', demo.config, '--dry-run', 'land']);
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stdout, /^\(dry-run\) landed +local:1/m);
    assert.match(result.stdout, /^\(dry-run\) rejected +local:2/m);
    assert.match(result.stderr, /dry-run: not pushing/);
    assert.deepEqual([demo.trunk, demo.contrib, demo.proposals].map(treeDigest), before);
  });

  test('--proposal lands only that proposal; --json prints the results', async () => {
    const demo = await newDemo();
    const result = await byoci(['--config', demo.config, '--json', 'land', '--proposal', 'local:1']);
    assert.equal(result.code, 0, result.stderr);
    const json = JSON.parse(result.stdout) as { results: { kind: string; proposal: string }[]; exitCode: number };
    assert.deepEqual(json.results.map((r) => [r.kind, r.proposal]), [['landed', 'local:1']]);
    assert.equal(readProposal(demo, '2').status, 'Approved');
    const unknown = await byoci(['--config', demo.config, 'land', '--proposal', 'local:99']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /no proposal local:99 on the configured targets \(known: local:2\b/);
    for (const line of result.stderr.trim().split('\n')) assert.doesNotThrow(() => JSON.parse(line), line);
  });

  test('a commit pushed to the source after approval is not landed; the comment says why', async () => {
    const demo = await newDemo();
    const work = mkdtempSync(join(tmpdir(), 'byoci-e2e-late-'));
    await git(['clone', '-q', '-b', 'good-change', demo.contrib, work]);
    writeFileSync(join(work, 'sneaky.txt'), 'not reviewed\n');
    await git(['add', 'sneaky.txt'], work);
    await git(['commit', '-q', '-m', 'Unreviewed'], work);
    await git(['push', '-q', 'origin', 'good-change'], work);
    const tip = await git(['rev-parse', 'HEAD'], work);
    const trunkBefore = await git(['--git-dir', demo.trunk, 'rev-parse', 'main']);

    const result = await byoci(['--config', demo.config, 'land', '--proposal', 'local:1']);
    assert.equal(result.code, 1, result.stderr);
    assert.equal(await git(['--git-dir', demo.trunk, 'rev-parse', 'main']), trunkBefore);
    const proposal = readProposal(demo, '1');
    assert.equal(proposal.status, 'Needs review');
    const body = proposal.comments?.at(-1)?.body ?? '';
    assert.match(body, /Unapproved changes were made after approval/);
    assert.ok(body.includes(tip) && body.includes(demo.revisions.good), body);
  });

  test('hostile branch names never execute anything', async () => {
    const demo = await newDemo();
    const marker = join(mkdtempSync(join(tmpdir(), 'byoci-pwned-')), 'pwned');
    const names = [`x;touch ${marker}`, '$(touch${IFS}' + marker + ')', '`touch ' + marker + '`'];
    let id = 10;
    for (const branch of names) {
      // git itself refuses some of these names; the ones it accepts go through the bot.
      const accepted = await run(['git', 'check-ref-format', '--branch', branch], { reject: false });
      const revision =
        accepted.exitCode === 0 ? await addBranch(demo, branch, `f${id}.txt`, 'x\n') : demo.revisions.good;
      writeProposal(demo, String(id), {
        title: `hostile ${id}`,
        source: { repo: demo.contrib, branch },
        target: { repo: demo.trunk, branch: 'main' },
        approved_revision: revision,
        status: 'Approved',
        commit_message: `hostile $(touch ${marker}) ; touch ${marker}`,
        votes: [{ reviewer: 'rita', vote: 'Approve' }],
      });
      id += 1;
    }
    const result = await byoci(['--config', demo.config, 'land']);
    assert.ok(result.code === 0 || result.code === 1, result.stderr);
    assert.equal(existsSync(marker), false, 'nothing was executed');
    // The hostile commit message landed verbatim, as text.
    const log = await git(['--git-dir', demo.trunk, 'log', '--format=%B', 'main']);
    assert.ok(log.includes(`hostile $(touch ${marker}) ; touch ${marker}`) || /rejected +local:1\d/.test(result.stdout), result.stdout);
  });

  test('a reporter plugin that throws changes neither the outcome nor the exit code', async () => {
    const demo = await newDemo();
    const pluginFile = join(demo.dir, 'broken-reporter.mjs');
    writeFileSync(
      pluginFile,
      `export default {
  apiVersion: 1,
  name: 'broken-reporter',
  description: 'throws on every report',
  apply(hooks) {
    hooks.report.tapPromise(async () => { throw new Error('reporter exploded'); });
  },
};
`,
    );
    const config = readFileSync(demo.config, 'utf8').replace('plugins:\n', 'plugins:\n  ./broken-reporter.mjs: {}\n');
    writeFileSync(demo.config, config);
    const result = await byoci(['--config', demo.config, 'land']);
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stdout, /^landed +local:1/m);
    assert.match(result.stdout, /^rejected +local:2/m);
    assert.match(result.stderr, /\[broken-reporter\] tap failed; outcome unchanged .*reporter exploded/);
    assert.equal(readProposal(demo, '1').status, 'Merged');
  });

  test('a secret is masked in the console, the comment and the artefacts copied back', async () => {
    const demo = await newDemo();
    const secret = 'Sup3r-Secret-Token-4242';
    writeFileSync(
      join(demo.dir, 'token-holder.mjs'),
      `export default { apiVersion: 1, name: 'token-holder', description: 'declares a token', secrets: { token: { description: 't', required: true } }, apply() {} };\n`,
    );
    // The operator's test command (trusted) prints and writes the value: it must not get out.
    const config = readFileSync(demo.config, 'utf8')
      .replace('plugins:\n', 'plugins:\n  ./token-holder.mjs: {}\n')
      .replace(
        '        - ./check.sh',
        `        - sh\n        - -c\n        - 'echo leaking ${secret}; mkdir -p reports; echo "<testsuite><failure message=\\"${secret}\\"/></testsuite>" > reports/junit.xml; exit 1'`,
      );
    writeFileSync(demo.config, config);
    const result = await byoci(['--config', demo.config, 'land', '--proposal', 'local:1'], {
      env: { BYOCI_SECRET_TOKEN_HOLDER_TOKEN: secret },
    });
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, /\| leaking \[REDACTED\]/);
    assert.ok(!result.stderr.includes(secret) && !result.stdout.includes(secret));
    const comment = readProposal(demo, '1').comments?.at(-1)?.body ?? '';
    assert.match(comment, /leaking \[REDACTED\]/);
    assert.ok(!comment.includes(secret));
    const run = readdirSync(join(demo.dir, 'artefacts'))[0] ?? '';
    const junit = readFileSync(join(demo.dir, 'artefacts', run, 'local_1', 'reports', 'junit.xml'), 'utf8');
    assert.ok(junit.includes('[REDACTED]') && !junit.includes(secret), junit);
  });

  test('list says which proposals land and why the others wait', async () => {
    const demo = await newDemo();
    writeProposal(demo, '3', { ...readProposal(demo, '1'), id: '3', status: 'Needs review', title: 'Not yet' });
    writeProposal(demo, '4', { ...readProposal(demo, '1'), id: '4', title: 'Untrusted', votes: [{ reviewer: 'mallory', vote: 'Approve' }] });
    const result = await byoci(['--config', demo.config, 'list']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^ready +calc +local:1 +Add multiplication/m);
    assert.match(result.stdout, /^waiting +calc +local:3 +Not yet +\(waiting: .*Needs review/m);
    assert.match(result.stdout, /^rejected +calc +local:4 +Untrusted +\(will be rejected: /m);
  });

  test('SIGTERM during the tests stops the run, reports nothing half-done and cleans up', async () => {
    const demo = await newDemo();
    const config = readFileSync(demo.config, 'utf8').replace('        - ./check.sh', '        - sh\n        - -c\n        - echo started; sleep 60');
    writeFileSync(demo.config, config);
    const trunkBefore = await git(['--git-dir', demo.trunk, 'rev-parse', 'main']);
    assert.ok(config.includes('echo started; sleep 60'));
    const result = await byoci(['--config', demo.config, 'land', '--proposal', 'local:1'], {
      signalWhen: { when: /\| started/, signal: 'SIGTERM' },
    });
    assert.equal(result.code, 143, result.stderr);
    assert.match(result.stderr, /interrupted: stopping the run and cleaning up/);
    assert.equal(await git(['--git-dir', demo.trunk, 'rev-parse', 'main']), trunkBefore);
    assert.equal(readProposal(demo, '1').status, 'Approved');
    // The work directory keeps only the slave's store (byoci.db and its WAL files) and the
    // cache of mirrors, kept for the next runs.
    assert.deepEqual(readdirSync(join(demo.dir, 'runs')).filter((f) => !f.startsWith('byoci.db') && f !== 'cache'), [], 'the run directory was removed');
  });
});

describe('byoci configuration errors', () => {
  test('a config with three mistakes reports all three with file and line, exit 2', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'byoci-e2e-config-'));
    const file = join(dir, 'byoci.yaml');
    writeFileSync(
      file,
      `landing:
  email: nope
projects:
  calc:
    targets:
      - forge: local
        repo: trunk.git
    test:
      command: make check
      timeout: soon
      colour: blue
`,
    );
    const result = await byoci(['--config', file, 'land']);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /3 configuration problems/);
    assert.ok(result.stderr.includes(`${file}:2:10: landing.email: not an e-mail address`), result.stderr);
    assert.ok(result.stderr.includes(`${file}:10:16: projects.calc.test.timeout: not a duration`), result.stderr);
    assert.ok(result.stderr.includes(`${file}:11:15: projects.calc.test.colour: unknown option`), result.stderr);
  });

  test('usage errors exit 2; --help exits 0 and documents exit codes', async () => {
    assert.equal((await byoci(['land', '--no-such-flag'])).code, 2);
    assert.equal((await byoci([])).code, 2);
    const help = await byoci(['--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /3 +internal error/);
    for (const command of ['land', 'list', 'test', 'doctor']) {
      const sub = await byoci([command, '--help']);
      assert.equal(sub.code, 0, command);
      assert.match(sub.stdout, new RegExp(`Usage: byoci ${command}`));
    }
  });

  test('an unknown forge and a missing plugin file are config errors naming the option', async () => {
    const demo = await newDemo();
    const config = readFileSync(demo.config, 'utf8')
      .replace('forge: local', 'forge: nosuchforge')
      .replace('plugins:\n', 'plugins:\n  ./missing-plugin.js: {}\n');
    writeFileSync(demo.config, config);
    const result = await byoci(['--config', demo.config, 'land']);
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /projects\.calc\.targets\.0\.forge: no forge plugin named "nosuchforge"/);
    assert.match(result.stderr, /plugins\.\.\/missing-plugin\.js: no plugin file \/.*\/missing-plugin\.js/);
  });
});

describe('byoci test and doctor', () => {
  test('test merges a branch into the target and runs the tests without landing', async () => {
    const demo = await newDemo();
    const trunkBefore = treeDigest(demo.trunk);
    const good = await byoci(['--config', demo.config, 'test', '--source', demo.contrib, '--branch', 'good-change']);
    assert.equal(good.code, 0, good.stderr);
    assert.match(good.stdout, /^passed \(unsafe-host/m);
    const bad = await byoci(['--config', demo.config, 'test', '--source', demo.contrib, '--branch', 'bad-change']);
    assert.equal(bad.code, 1, bad.stderr);
    assert.match(bad.stdout, /^FAILED: The tests failed/m);
    assert.equal(treeDigest(demo.trunk), trunkBefore);
  });

  test('doctor prints one line per prerequisite', async () => {
    const demo = await newDemo();
    const result = await byoci(['--config', demo.config, 'doctor']);
    assert.match(result.stdout, /^ok +node +v20/m);
    assert.match(result.stdout, /^ok +git +git version/m);
    assert.match(result.stdout, /^ok +config +.*namespace selftest; projects: calc/m);
    assert.match(result.stdout, /^ok +host +project calc: tests run on the host, NOT ISOLATED/m);
    const broken = await byoci(['--config', join(demo.dir, 'nope.yaml'), 'doctor']);
    assert.equal(broken.code, 2);
    assert.match(broken.stdout, /^FAIL +config +.*nope\.yaml: configuration file not found/m);
  });
});
