/** sweepMirrors: unused mirrors of unconfigured targets go, under their lock; used, kept or held ones stay. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, test } from 'node:test';
import { mirrorAgeSchema, sweepMirrors } from '../../core/cache-sweep.js';
import { missingCommands, suiteNeeds } from '../support/components.js';

const base = mkdtempSync(join(tmpdir(), 'byoci-cache-sweep-'));
after(() => rmSync(base, { recursive: true, force: true }));
const DAY = 86_400;

/** A fake mirror (a directory with the marker) last used `days` ago. */
function mirror(root: string, name: string, days: number): string {
  const dir = join(root, name);
  mkdirSync(join(dir, 'objects'), { recursive: true });
  writeFileSync(join(dir, 'objects', 'pack'), 'data');
  writeFileSync(join(dir, 'byoci-clean'), 'x');
  writeFileSync(`${dir}.lock`, '');
  const t = Date.now() / 1000 - days * DAY;
  utimesSync(join(dir, 'byoci-clean'), t, t);
  return dir;
}

describe('mirror sweep', suiteNeeds('flock', missingCommands('flock')), () => {
  test('an unused mirror no target names goes with its lock file; a used or configured one stays', async () => {
    const root = join(base, 'a');
    const old = mirror(root, 'old-1.git', 20);
    const configured = mirror(root, 'configured-2.git', 20);
    const recent = mirror(root, 'recent-3.git', 2);
    const removed = await sweepMirrors({ root, keep: new Set([configured]), maxAgeSeconds: 14 * DAY, marker: 'byoci-clean' });
    assert.deepEqual(removed, [old]);
    assert.equal(existsSync(old), false);
    assert.equal(existsSync(`${old}.lock`), false, 'its lock file goes too');
    assert.equal(existsSync(join(configured, 'objects', 'pack')), true);
    assert.equal(existsSync(join(recent, 'objects', 'pack')), true);
    assert.deepEqual(await sweepMirrors({ root, keep: new Set([configured]), maxAgeSeconds: 14 * DAY, marker: 'byoci-clean' }), [], 'nothing more');
  });

  test('a mirror another process holds is left alone, and goes once it is released', async () => {
    const root = join(base, 'b');
    const held = mirror(root, 'held-1.git', 30);
    const holder = spawn(
      process.execPath,
      ['--import', 'tsx', '-e', `const { lockFile } = await import(${JSON.stringify(resolve('core/lock.ts'))}); const l = await lockFile(${JSON.stringify(`${held}.lock`)}); console.log('held'); process.stdin.on('end', async () => { await l.release(); process.exit(0); }); process.stdin.resume();`],
      { stdio: ['pipe', 'pipe', 'inherit'] },
    );
    await new Promise<void>((r) => holder.stdout.on('data', (d: Buffer) => d.toString().includes('held') && r()));
    const options = { root, keep: new Set<string>(), maxAgeSeconds: 14 * DAY, marker: 'byoci-clean' };
    assert.deepEqual(await sweepMirrors(options), []);
    assert.equal(existsSync(join(held, 'objects', 'pack')), true, 'untouched while held');
    holder.stdin.end();
    await new Promise((r) => holder.once('exit', r));
    assert.deepEqual(await sweepMirrors(options), [held]);
    assert.equal(existsSync(held), false);
  });

  test('leftovers: a rename aside, a dead process\'s half-made mirror, a lock file without its mirror; a live one\'s stays', async () => {
    const root = join(base, 'c');
    mkdirSync(join(root, 'x-1.git.deleting-4242'), { recursive: true });
    // A pid that is not alive: a child that has exited.
    const dead = spawn('true');
    await new Promise((r) => dead.once('exit', r));
    mkdirSync(join(root, `y-2.git.new-${dead.pid}`), { recursive: true });
    mkdirSync(join(root, `z-3.git.new-${process.pid}`), { recursive: true });
    writeFileSync(join(root, 'gone-4.git.lock'), '');
    const removed = await sweepMirrors({ root, keep: new Set(), maxAgeSeconds: 14 * DAY, marker: 'byoci-clean' });
    assert.deepEqual(removed.sort(), [join(root, 'x-1.git.deleting-4242'), join(root, `y-2.git.new-${dead.pid}`)].sort());
    assert.equal(existsSync(join(root, `z-3.git.new-${process.pid}`)), true, 'being created by a live process');
    assert.equal(existsSync(join(root, 'gone-4.git.lock')), false);
  });

  test('mirrorMaxAge: durations of at least an hour, named in the error otherwise', () => {
    assert.equal(mirrorAgeSchema.parse('14d'), 14 * DAY);
    assert.equal(mirrorAgeSchema.parse('36h'), 36 * 3600);
    assert.equal(mirrorAgeSchema.parse(90 * DAY), 90 * DAY, 'no 24.8-day timer cap');
    const bad = mirrorAgeSchema.safeParse('10m');
    assert.equal(bad.success, false);
    assert.match(bad.error!.issues[0]!.message, /at least 1h: "10m"/);
    assert.equal(mirrorAgeSchema.safeParse('soon').success, false);
  });

  test('a missing cache directory is nothing to sweep', async () => {
    assert.deepEqual(await sweepMirrors({ root: join(base, 'none'), keep: new Set(), maxAgeSeconds: DAY, marker: 'byoci-clean' }), []);
  });
});
