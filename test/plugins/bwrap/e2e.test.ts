/**
 * The real `byoci` command with `backend: bwrap` on the demo setup (local forge, real git):
 * the good proposal lands, the failing one is rejected, artefacts come back, and
 * `byoci doctor` reports bwrap.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createDemo, type DemoSetup } from '../../../demo/setup.js';
import { byoci } from '../../support/cli.js';
import { suiteNeeds } from '../../support/components.js';
import { alive, BWRAP_MISSING, descendants, procStat } from './support.js';

function findFiles(dir: string, name: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...findFiles(path, name));
    else if (entry.name === name) out.push(path);
  }
  return out;
}

describe('byoci with backend bwrap', suiteNeeds('bwrap', BWRAP_MISSING), () => {
  let demo: DemoSetup;
  before(async () => {
    demo = await createDemo(mkdtempSync(join(tmpdir(), 'byoci-bwrap-e2e-')), { backend: 'bwrap' });
  });
  after(() => rmSync(demo.dir, { recursive: true, force: true }));

  test('land: the passing proposal lands, the failing one is rejected, junit.xml of both comes back', async () => {
    const result = await byoci(['--config', demo.config, 'land']);
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stdout, /^landed +local:1 +Add multiplication/m);
    assert.match(result.stdout, /^rejected +local:2 +Simplify addition: The tests failed \(exit code 1\)/m);
    assert.match(result.stderr, /\[bwrap\] sandbox phase start phase=test network=false/);
    assert.match(result.stderr, /FAIL add 2 3: expected 5, got 8/);
    const reports = findFiles(join(demo.dir, 'artefacts'), 'junit.xml');
    assert.equal(reports.length, 2, `artefacts: ${JSON.stringify(reports)}`);
    assert.ok(reports.every((r) => readFileSync(r, 'utf8').includes('<testsuite')));
  });

  test('doctor: bwrap is an ok line naming the project', async () => {
    const result = await byoci(['--config', demo.config, 'doctor']);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.match(result.stdout, /^ok +bwrap +bwrap \d+\.\d+(\.\d+)? creates namespaces \(backend of calc\)$/m);
  });

  test('SIGTERM to byoci land during the tests: the run stops and no sandbox process is left', async () => {
    const fresh = await createDemo(mkdtempSync(join(tmpdir(), 'byoci-bwrap-e2e-term-')), { backend: 'bwrap' });
    const seen: number[] = [];
    try {
      const result = await byoci(
        ['--config', fresh.config, '-O', `projects.calc.test.command=["sh", "-c", "sleep 1000 & echo sandbox-ready; sleep 1001"]`, 'land'],
        {
          onSpawn(pid, output) {
            let polls = 0;
            const poll = setInterval(() => {
              if (++polls > 1200) {
                // Never saw the sandbox (bounded at about a minute): stop, the assertions fail.
                clearInterval(poll);
                process.kill(pid, 'SIGTERM');
                return;
              }
              if (!output.stderr().includes('sandbox-ready')) return;
              const sleepers = descendants(pid).filter((p) => procStat(p)?.comm === 'sleep');
              if (sleepers.length < 2) return;
              clearInterval(poll);
              seen.push(...descendants(pid));
              process.kill(pid, 'SIGTERM');
            }, 50);
          },
        },
      );
      assert.ok(seen.length >= 4, `the sandbox was seen running: ${seen.length} processes`);
      assert.notEqual(result.code, 0, 'an interrupted run does not exit 0');
      assert.doesNotMatch(result.stdout, /^landed/m);
      for (let i = 0; i < 100 && seen.some(alive); i++) await new Promise((r) => setTimeout(r, 50));
      assert.deepEqual(seen.filter(alive), [], 'no process of the run is left');
    } finally {
      rmSync(fresh.dir, { recursive: true, force: true });
    }
  });
});
