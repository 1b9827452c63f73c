/**
 * Bad proposal files never stop the queue (issue 12): each unreadable file is listed as
 * "invalid proposal file: <reason>" and the good proposal beside it still lands; rewrites
 * keep every byte the bot does not own; values git cannot take are caught early.
 * Real git repositories, the real bot, the unsafe-host backend.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import YAML from 'yaml';
import type { LandSummary } from '../../../core/bot.js';
import gitPlugin from '../../../plugins/git/index.js';
import host from '../../../plugins/host/index.js';
import local from '../../../plugins/local/index.js';
import { withTestBot } from '../../support/bot.js';
import { missingCommands, suiteNeeds } from '../../support/components.js';
import { branchWith, gitIn, makeRepos, tempDir, type Repos } from '../../support/git-repos.js';

describe('local forge: bad proposal files never stop the others', suiteNeeds('git', missingCommands('git', 'mkfifo')), () => {
  let repos: Repos;
  let work: { dir: string; remove(): void };
  let proposals: string;
  before(async () => {
    repos = await makeRepos();
    work = tempDir('byoci-local-bad-');
    proposals = join(repos.root, 'proposals');
    mkdirSync(proposals);
  });
  after(() => {
    work.remove();
    repos.remove();
  });

  function yaml(targetRepo = repos.target): string {
    return [
      `workdir: ${JSON.stringify(work.dir)}`,
      `artefacts: ${JSON.stringify(join(work.dir, 'artefacts'))}`,
      'plugins:',
      '  local:',
      `    dir: ${JSON.stringify(proposals)}`,
      'projects:',
      '  demo:',
      '    targets:',
      `      - {forge: local, repo: ${JSON.stringify(targetRepo)}, branch: main}`,
      '    test: {backend: unsafe-host, command: "true", timeout: 60}',
      '',
    ].join('\n');
  }

  async function land(targetRepo?: string): Promise<LandSummary & { lines: string[] }> {
    return withTestBot({ yaml: yaml(targetRepo), plugins: [local, gitPlugin, host], defaultPlugins: ['git', 'host'] }, async (bot, lines) => ({
      ...(await bot.landAll()),
      lines,
    }));
  }

  function proposalText(id: string, branch: string, approved: string, extra: string[] = []): string {
    return [
      `id: "${id}"`,
      `title: Proposal ${id}`,
      `source: {repo: ${JSON.stringify(repos.source)}, branch: ${branch}}`,
      `target: {repo: ${JSON.stringify(repos.target)}, branch: main}`,
      `approved_revision: "${approved}"`,
      'status: Approved',
      `commit_message: Land ${branch}`,
      'votes: [{reviewer: carol, vote: Approve}]',
      ...extra,
      '',
    ].join('\n');
  }

  test('unresolved alias, alias flood, FIFO, directory and non-UTF-8 files are listed; the good proposal lands', async () => {
    const approved = await branchWith(repos, 'good', { 'good.txt': 'good\n' }, 'good');
    writeFileSync(join(proposals, '1.yaml'), proposalText('1', 'good', approved));
    writeFileSync(join(proposals, '2.yaml'), 'x: *nope\n');
    writeFileSync(join(proposals, '3.yaml'), `a: &a [x]\nb: [${Array(120).fill('*a').join(', ')}]\n`);
    execFileSync('mkfifo', [join(proposals, '4.yaml')]);
    mkdirSync(join(proposals, '5.yaml'));
    writeFileSync(join(proposals, '6.yaml'), Buffer.from(proposalText('6', 'good', approved).replace('title: Proposal 6', 'title: caf\u00e9'), 'latin1'));

    const run = await Promise.race([
      land(),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error('the run blocked (FIFO?)')), 30_000).unref()),
    ]);
    assert.notEqual(run.exitCode, 3, run.lines.join('\n'));
    assert.deepEqual(run.results.map((r) => [r.proposal.id, r.kind]), [['local:1', 'landed']]);
    const reasons = new Map(run.waiting.map((c) => [c.proposal.id, c.proposal.readiness.state === 'waiting' ? c.proposal.readiness.reason : '']));
    assert.match(reasons.get('local:2') ?? '', /^invalid proposal file: .*2\.yaml:1:\d+: invalid YAML: alias \*nope refers to no anchor/);
    assert.match(reasons.get('local:3') ?? '', /^invalid proposal file: .*3\.yaml:2:\d+: invalid YAML: too many YAML aliases/);
    assert.match(reasons.get('local:4') ?? '', /^invalid proposal file: .*4\.yaml: is a FIFO \(named pipe\), not a regular file/);
    assert.match(reasons.get('local:5') ?? '', /^invalid proposal file: .*5\.yaml: is a directory, not a regular file/);
    assert.match(reasons.get('local:6') ?? '', /^invalid proposal file: .*6\.yaml:2: title: not UTF-8 text/);
    assert.equal(YAML.parse(readFileSync(join(proposals, '1.yaml'), 'utf8')).status, 'Merged');
    for (const line of run.lines) assert.doesNotMatch(line, /\n\s+at |ReferenceError|TypeError/);
  });

  test('a rejection keeps Latin-1 bytes of an untouched field byte for byte', async () => {
    const approved = await branchWith(repos, 'latin', { 'latin.txt': 'l\n' }, 'latin');
    // Latin-1 in a field the bot does not read, and a message with a NUL (git cannot store it).
    const withNul = Buffer.from(
      proposalText('7', 'latin', approved, ['x-note: "caf\u00e9"']).replace('commit_message: Land latin', 'commit_message: "Land\\0latin"'),
      'latin1',
    );
    const file = join(proposals, '7.yaml');
    writeFileSync(file, withNul);
    const run = await land();
    const result = run.results.find((r) => r.proposal.id === 'local:7');
    assert.ok(result?.kind === 'rejected', run.lines.join('\n'));
    assert.equal(result.rejection.code, 'invalid-commit-message');
    assert.match(result.rejection.reason, /NUL character/);
    const after = readFileSync(file);
    assert.ok(after.includes(Buffer.concat([Buffer.from('x-note: "caf'), Buffer.from([0xe9]), Buffer.from('"\n')])), 'the Latin-1 byte is kept');
    assert.equal(after.subarray(0, withNul.indexOf('status:')).toString('latin1'), withNul.subarray(0, withNul.indexOf('status:')).toString('latin1'));
    assert.match(after.toString('latin1'), /status: Needs review/);
  });

  test('an aliased comments list is not replaced: the file is left as it was and the bot says so', async () => {
    const approved = await branchWith(repos, 'alias', { 'alias.txt': 'a\n' }, 'alias');
    const file = join(proposals, '8.yaml');
    const text = proposalText('8', 'alias', approved, [
      'old: &old',
      '  - {author: bob, subject: earlier, body: keep me}',
      'comments: *old',
    ]).replace('commit_message: Land alias', 'commit_message: ""');
    writeFileSync(file, text);
    const run = await land();
    const result = run.results.find((r) => r.proposal.id === 'local:8');
    assert.equal(result?.kind, 'rejected');
    assert.equal(readFileSync(file, 'utf8'), text, 'byte-identical');
    assert.ok(run.lines.some((l) => /left as it was: its comments list is a YAML alias/.test(l)), run.lines.join('\n'));
  });

  test('an absolute target path with .. is normalised and matches the configured target', async () => {
    const approved = await branchWith(repos, 'dots', { 'dots.txt': 'd\n' }, 'dots');
    const dotted = join(repos.root, 'proposals', '..', 'target.git');
    writeFileSync(join(proposals, '9.yaml'), proposalText('9', 'dots', approved).replace(`repo: ${JSON.stringify(repos.target)}`, `repo: ${JSON.stringify(dotted)}`));
    const run = await land(join(repos.target, '..', '.', 'target.git'));
    assert.deepEqual(run.results.filter((r) => r.proposal.id === 'local:9').map((r) => r.kind), ['landed'], run.lines.join('\n'));
    assert.equal(await gitIn(repos.target, ['log', '-1', '--format=%s', 'main']), 'Land dots');
  });
});
