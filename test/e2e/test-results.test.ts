/**
 * Issue 17's test-result acceptance through the real `byoci` command, the local forge and
 * real git repositories, with a real python suite (pytest writing JUnit XML, subunit.run
 * writing subunit v2 on reruns): the rejection names the failing test ids; a test failing
 * once then passing on the rerun of its id lands and shows in `byoci flakes`; one failing
 * twice is rejected as a regression naming it; a quarantined failure does not reject.
 *
 * The backend is `unsafe-host` so that the flaky test can keep a marker outside the tree
 * between the first run and the rerun (a sandbox would rightly forbid that).
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { parse, stringify } from 'yaml';
import { run } from '../../core/process.js';
import { byoci } from '../support/cli.js';
import { suiteNeeds } from '../support/components.js';
import { CALC_TESTS, PYTHON, missingPythonTools } from '../support/python.js';

const GIT_ENV = {
  HOME: tmpdir(),
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_AUTHOR_NAME: 'Ada',
  GIT_AUTHOR_EMAIL: 'ada@example.org',
  GIT_COMMITTER_NAME: 'Ada',
  GIT_COMMITTER_EMAIL: 'ada@example.org',
};

async function git(args: string[], cwd: string): Promise<string> {
  return (await run(['git', ...args], { cwd, env: GIT_ENV })).stdout.trim();
}

const PASSING = CALC_TESTS.replace('self.assertEqual(3 - 1, 1)', 'self.assertEqual(3 - 1, 2)').replace(
  'raise RuntimeError("boom")',
  'pass',
);

/** Fails the first time it runs for a marker directory, passes afterwards. */
const FLAKY = `import os
import unittest


class NetTest(unittest.TestCase):
    def test_timing(self):
        marker = os.path.join(os.environ["FLAKE_DIR"], "ran-" + os.environ.get("FLAKE_KEY", "x"))
        first = not os.path.exists(marker)
        open(marker, "w").close()
        self.assertFalse(first, "first run: pretend a timing race")
`;

interface Setup {
  dir: string;
  config: string;
  proposals: string;
  trunk: string;
}

async function setup(branches: Record<string, Record<string, string>>, test: Record<string, unknown> = {}): Promise<Setup> {
  const dir = mkdtempSync(join(tmpdir(), 'byoci-tests-e2e-'));
  const work = join(dir, 'work');
  const trunk = join(dir, 'trunk.git');
  const contrib = join(dir, 'contrib.git');
  const proposals = join(dir, 'proposals');
  const flakeDir = join(dir, 'flake-markers');
  mkdirSync(proposals);
  mkdirSync(flakeDir);
  await git(['init', '-q', '--bare', '-b', 'main', trunk], dir);
  await git(['init', '-q', '-b', 'main', work], dir);
  writeFileSync(join(work, 'test_calc.py'), PASSING);
  await git(['add', '.'], work);
  await git(['commit', '-q', '-m', 'calc tests'], work);
  await git(['push', '-q', trunk, 'main'], work);
  let n = 0;
  for (const [branch, files] of Object.entries(branches)) {
    n++;
    await git(['checkout', '-q', '-b', branch, 'main'], work);
    for (const [file, content] of Object.entries(files)) writeFileSync(join(work, file), content);
    await git(['add', '.'], work);
    await git(['commit', '-q', '-m', branch], work);
    const revision = await git(['rev-parse', 'HEAD'], work);
    await git(['checkout', '-q', 'main'], work);
    writeFileSync(
      join(proposals, `${n}.yaml`),
      stringify({
        id: String(n),
        title: branch,
        source: { repo: contrib, branch },
        target: { repo: trunk, branch: 'main' },
        approved_revision: revision,
        status: 'Approved',
        commit_message: `Land ${branch}.`,
        votes: [{ reviewer: 'rita', vote: 'Approve' }],
      }),
    );
  }
  await git(['clone', '-q', '--bare', work, contrib], dir);
  const config = join(dir, 'byoci.yaml');
  writeFileSync(
    config,
    stringify({
      byoci: 'selftest',
      workdir: 'runs',
      artefacts: 'artefacts',
      secrets: { order: ['env'] },
      plugins: { local: { dir: 'proposals', trusted: ['rita'] } },
      projects: {
        calc: {
          targets: [{ forge: 'local', repo: '{configDir}/trunk.git', branch: 'main' }],
          test: {
            backend: 'unsafe-host',
            command: [PYTHON, '-m', 'pytest', '-q', '-p', 'no:cacheprovider', '--junitxml=reports/junit.xml'],
            setEnv: { FLAKE_DIR: flakeDir },
            timeout: '2m',
            noOutputTimeout: '1m',
            artefacts: ['reports'],
            ...test,
          },
        },
      },
    }),
  );
  return { dir, config, proposals, trunk };
}

function comments(s: Setup, id: string): string {
  const p = parse(readFileSync(join(s.proposals, `${id}.yaml`), 'utf8')) as { status: string; comments?: { body: string }[] };
  return `${p.status}\n${(p.comments ?? []).map((c) => c.body).join('\n---\n')}`;
}

const RETRY = {
  // subunit.run writes subunit v2 on stdout; the ids arrive as "$@" (never in the string).
  command: `mkdir -p reports && ${PYTHON} -m subunit.run "$@" > reports/rerun.subunit`,
  attempts: 1,
};

describe('test results in landings', suiteNeeds('python test tools', missingPythonTools()), () => {
  test('a real pytest suite: the rejection comment and --json name the failing test ids', async () => {
    const s = await setup({ 'break-sub': { 'test_calc.py': PASSING.replace('self.assertEqual(3 - 1, 2)', 'self.assertEqual(3 - 1, 7)') } });
    const result = await byoci(['--config', s.config, '--json', 'land']);
    assert.equal(result.code, 1, result.stderr);
    const json = JSON.parse(result.stdout) as { results: { kind: string; reason: string; tests: { total: number; failed: number; failures: string[] } }[] };
    const [r] = json.results;
    assert.equal(r?.kind, 'rejected');
    assert.equal(r?.reason, 'The tests failed (exit code 1): 1 of 5 failed: test_calc.CalcTest.test_sub.');
    assert.deepEqual(r?.tests, { total: 5, failed: 1, skipped: 2, failures: ['test_calc.CalcTest.test_sub'] });
    const text = comments(s, '1');
    assert.match(text, /^Needs review/);
    assert.match(text, /1 of 5 failed: test_calc\.CalcTest\.test_sub\./);
    assert.match(text, /AssertionError: 2 != 7/, 'the output tail is kept for context');
  });

  test('failing once, passing on the rerun of its id: lands, recorded, listed by byoci flakes', async () => {
    const s = await setup({ 'add-flaky': { 'test_net.py': FLAKY } }, { retry: RETRY });
    const result = await byoci(['--config', s.config, 'land']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^landed +local:1 +add-flaky/m);
    assert.match(result.stderr, /rerunning the failed tests in a fresh container/);
    assert.match(result.stderr, /failures that do not block the landing: flaky \(failed, then passed on rerun\): test_net\.NetTest\.test_timing/);
    assert.match(comments(s, '1'), /^Merged/);

    const flakes = await byoci(['--config', s.config, 'flakes']);
    assert.equal(flakes.code, 0, flakes.stderr);
    assert.match(flakes.stdout, /^calc +test_net\.NetTest\.test_timing +flaky on 1 of 1 tree \(1 passed, 1 failed; last /m);
    assert.match(flakes.stdout, /^ {4}[0-9a-f]{12}: passed 1, failed 1 \(local:1\)$/m);
    const json = JSON.parse((await byoci(['--config', s.config, '--json', 'flakes'])).stdout) as { flakes: { testId: string }[] };
    assert.deepEqual(json.flakes.map((f) => f.testId), ['test_net.NetTest.test_timing']);
  });

  test('failing again on the rerun: rejected as a regression naming the test; nothing flaky recorded', async () => {
    const broken = PASSING.replace('self.assertEqual(1 + 1, 2)', 'self.assertEqual(1 + 1, 3)');
    const s = await setup({ 'break-add': { 'test_calc.py': broken } }, { retry: RETRY });
    const result = await byoci(['--config', s.config, 'land']);
    assert.equal(result.code, 1, result.stderr);
    assert.match(
      result.stdout,
      /^rejected +local:1 +break-add: The tests failed \(exit code 1\): 1 of 5 failed: test_calc\.CalcTest\.test_add; rerun in a fresh container on the same tree, 1 failed again \(a regression, not a flake\)\.$/m,
    );
    assert.match(comments(s, '1'), /test_calc\.CalcTest\.test_add; rerun in a fresh container/);
    const flakes = await byoci(['--config', s.config, 'flakes']);
    assert.match(flakes.stdout, /^no flakes recorded$/m);
  });

  test('a quarantined test failing does not reject, and the log says so', async () => {
    const broken = PASSING.replace('self.assertEqual(1 + 1, 2)', 'self.assertEqual(1 + 1, 3)');
    const s = await setup({ 'break-add': { 'test_calc.py': broken } }, { quarantine: ['test_calc.*.test_add'] });
    const result = await byoci(['--config', s.config, '--json', 'land']);
    assert.equal(result.code, 0, result.stderr);
    const json = JSON.parse(result.stdout) as { results: { kind: string; tests: { quarantined: string[] } }[] };
    assert.equal(json.results[0]?.kind, 'landed');
    assert.deepEqual(json.results[0]?.tests.quarantined, ['test_calc.CalcTest.test_add']);
    assert.match(result.stderr, /quarantined failures: test_calc\.CalcTest\.test_add/);
  });
});
