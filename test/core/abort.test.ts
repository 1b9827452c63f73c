/**
 * A hung tap in a real landing (local forge, git, host backend over real repositories):
 * core aborts it at its timeout through the tap's signal, waits for it to settle, reports
 * an internal error naming plugin and hook, and nothing keeps working in the removed
 * workspace. A tap that never settles stops the run: nothing more lands.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { definePlugin, run } from '../../core/index.js';
import gitPlugin from '../../plugins/git/index.js';
import host from '../../plugins/host/index.js';
import local from '../../plugins/local/index.js';
import { withTestBot } from '../support/bot.js';
import { missingCommands, suiteNeeds } from '../support/components.js';
import { branchWith, makeRepos, tempDir, type Repos } from '../support/git-repos.js';

describe('a tap that hangs in a landing', suiteNeeds('git', missingCommands('git')), () => {
  let repos: Repos;
  let work: { dir: string; remove(): void };
  let proposals: string;
  before(async () => {
    repos = await makeRepos();
    work = tempDir('byoci-abort-');
    proposals = join(repos.root, 'proposals');
    mkdirSync(proposals);
    for (const id of ['1', '2']) {
      const approved = await branchWith(repos, `feature-${id}`, { [`f${id}.txt`]: id }, `feature ${id}`);
      writeFileSync(
        join(proposals, `${id}.yaml`),
        [
          `id: "${id}"`,
          `title: Proposal ${id}`,
          `source: {repo: ${JSON.stringify(repos.source)}, branch: feature-${id}}`,
          `target: {repo: ${JSON.stringify(repos.target)}, branch: main}`,
          `approved_revision: "${approved}"`,
          'status: Approved',
          `commit_message: Land ${id}`,
          'votes: [{reviewer: rita, vote: Approve}]',
          '',
        ].join('\n'),
      );
    }
  });
  after(() => {
    work.remove();
    repos.remove();
  });

  const yaml = () =>
    [
      `workdir: ${JSON.stringify(work.dir)}`,
      `artefacts: ${JSON.stringify(join(work.dir, 'artefacts'))}`,
      'plugins:',
      `  local: {dir: ${JSON.stringify(proposals)}}`,
      '  hang: {}',
      'projects:',
      '  demo:',
      `    targets: [{forge: local, repo: ${JSON.stringify(repos.target)}, branch: main}]`,
      '    test: {backend: unsafe-host, command: "true", timeout: 60}',
      '',
    ].join('\n');

  test('a fetch that outlives its timeout is aborted: its process is killed, the landing is an internal error naming plugin and hook', async () => {
    let workspace = '';
    const hang = definePlugin({
      name: 'hang',
      description: 'a fetch that writes into the workspace until aborted',
      apply(hooks) {
        hooks.fetch.tapPromise(
          async ({ workspace: dir, signal }) => {
            workspace = dir;
            // Appends a line every 20 ms for as long as it lives.
            await run(['sh', '-c', 'while :; do echo beat >> "$1/beats"; sleep 0.02; done', 'sh', dir], { signal });
            return undefined;
          },
          { stage: -10, timeoutMs: 300 },
        );
      },
    });
    const summary = await withTestBot(
      { yaml: yaml(), plugins: [local, gitPlugin, host, hang], defaultPlugins: ['git', 'host'], taps: { settleMs: 2000 } },
      (bot) => bot.landAll({ proposal: 'local:1' }),
    );
    const [result] = summary.results;
    assert.equal(result?.kind, 'error');
    assert.match(result.kind === 'error' ? result.message : '', /^\[hang\/fetch\] hang on fetch did not finish within 300 ms \(aborted\)$/);
    assert.equal(summary.exitCode, 3);
    assert.ok(workspace && !existsSync(workspace), 'the workspace is removed');
    await new Promise((r) => setTimeout(r, 200));
    assert.ok(!existsSync(workspace), 'nothing wrote into the workspace after it was removed');
  });

  test('a tap that never settles: internal error naming plugin and hook, and nothing more lands in the run', async () => {
    const hang = definePlugin({
      name: 'hang',
      description: 'ignores its signal',
      apply(hooks) {
        hooks.fetch.tapPromise(() => new Promise(() => {}), { stage: -10, timeoutMs: 100 });
      },
    });
    const summary = await withTestBot(
      { yaml: yaml(), plugins: [local, gitPlugin, host, hang], defaultPlugins: ['git', 'host'], taps: { settleMs: 100 } },
      (bot) => bot.landAll(),
    );
    assert.equal(summary.results.length, 1, 'the second proposal is not tried');
    const [result] = summary.results;
    assert.equal(result?.kind, 'error');
    assert.match(result.kind === 'error' ? result.message : '', /^\[hang\/fetch\] hang on fetch did not finish within 100 ms and did not stop within 100 ms of being aborted$/);
    assert.equal(summary.exitCode, 3);
  });
});
