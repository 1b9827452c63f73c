/**
 * `byoci brain` under node's --perf-basic-prof (how one profiles it with `perf record`), on a
 * fresh store, in both thread modes. V8 opens its perf map and its log without O_CLOEXEC;
 * cli/main.ts's closeInheritedFds closed them as if the caller had passed them, the store's
 * open took their fd numbers and V8 wrote its code map into the store: the brain refused
 * every fresh store with "file is not a database". Fixed in core/fds.ts (test/core/fds.test.ts).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { example, postGithub } from './helpers.js';
import { spawnBrain, SECRET, USER } from '../support/brain-process.js';
import { ROOT } from '../support/cli.js';

describe('byoci brain --perf-basic-prof on a fresh store', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'byoci-brain-prof-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  for (const threads of [false, true]) {
    test(`starts, journals a delivery, and its store is a sound database${threads ? ' (BYOCI_BRAIN_THREADS=1)' : ''}`, async () => {
      const home = mkdtempSync(join(dir, 'home-'));
      const config = {
        listen: { host: '127.0.0.1', port: 0 },
        sources: ['github'],
        // Nothing listens there: no rule matches, so nothing is sent.
        jenkins: { url: 'http://127.0.0.1:9/', user: USER },
        rules: [],
      };
      // cwd: V8 writes its isolate-*-v8.log there.
      const brain = await spawnBrain(home, config, {
        cli: ['--perf-basic-prof', '--import', import.meta.resolve('tsx'), join(ROOT, 'cli', 'main.ts')],
        cwd: home,
        ...(threads ? { env: { BYOCI_BRAIN_THREADS: '1' } } : {}),
      });
      const map = `/tmp/perf-${brain.pid}.map`;
      try {
        const answer = await postGithub(brain.url, 'push', `prof-${process.pid}-${threads}`, example('push'), SECRET);
        assert.equal(answer.status, 202, answer.body);
        assert.equal(await brain.stop(), 0, brain.stderr());
        const db = new Database(join(home, 'byoci.db'), { readonly: true });
        try {
          assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
          assert.equal((db.prepare('SELECT COUNT(*) AS n FROM brain_deliveries').get() as { n: number }).n, 1);
        } finally {
          db.close();
        }
        // V8 kept its files: the code map went where perf looks for it.
        assert.match(readFileSync(map, 'utf8'), /JS:/);
        assert.ok(readdirSync(home).some((f) => /^isolate-0x[0-9a-f]+-\d+-v8\.log$/.test(f)), readdirSync(home).join(' '));
      } finally {
        if (brain.child.exitCode === null && brain.child.signalCode === null) await brain.kill9();
        if (existsSync(map)) rmSync(map);
      }
    });
  }
});
