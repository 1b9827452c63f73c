/**
 * The README's first command on a machine with neither LXD nor bubblewrap (issue 11, item 10):
 * the demo, and a landing with `backend: auto`, are isolated by util-linux unshare, not run on
 * the host. The "bare machine" is this one with a PATH that has no bwrap, lxc or lxd, and an
 * LXD_DIR where no daemon answers.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createDemo } from '../../demo/setup.js';
import { byoci, ROOT } from '../support/cli.js';
import { missingCommands, suiteNeeds } from '../support/components.js';

const HIDDEN = new Set(['bwrap', 'lxc', 'lxd']);

/** A directory of links to every command on PATH except the hidden ones. */
function barePath(dir: string): string {
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  for (const d of (process.env.PATH ?? '').split(':').filter(Boolean)) {
    let entries: string[];
    try {
      entries = readdirSync(d);
    } catch {
      continue;
    }
    for (const name of entries) {
      if (HIDDEN.has(name)) continue;
      try {
        symlinkSync(join(d, name), join(bin, name));
      } catch {
        // an earlier PATH entry already has this name
      }
    }
  }
  return bin;
}

function runDemo(env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'demo', 'demo.ts')], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('a machine with neither LXD nor bubblewrap', suiteNeeds('unshare', missingCommands('unshare', 'git')), () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'byoci-bare-'));
    const lxdDir = join(dir, 'no-lxd');
    mkdirSync(lxdDir);
    env = { ...process.env, PATH: barePath(dir), LXD_DIR: lxdDir, LXD_SOCKET: undefined, BYOCI_DEMO_BACKEND: undefined, BUILD_URL: undefined };
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('the demo (the README\'s first command) runs its tests in unshare namespaces, not on the host', async () => {
    const r = await runDemo(env);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /tests run: +unshare \(neither LXD with the hostusr image nor bubblewrap/);
    assert.doesNotMatch(r.stdout + r.stderr, /NOT ISOLATED/);
    assert.match(r.stdout, /demo: OK \(one proposal landed, one rejected\)/);
  });

  it('backend: auto falls back from lxd and bwrap to unshare, saying why', async () => {
    const demo = await createDemo(join(dir, 'auto'), { backend: 'auto' });
    const r = await byoci(['--config', demo.config, 'land'], { env });
    const out = r.stdout + r.stderr;
    assert.equal(r.code, 1, out); // one landed, one rejected, as in the demo
    assert.match(out, /backend auto falls back from lxd/);
    assert.doesNotMatch(out, /NOT ISOLATED/);
    const q = await byoci(['--config', demo.config, '--json', 'queue'], { env });
    assert.equal(q.code, 0, q.stdout + q.stderr);
    assert.match(q.stdout, /"backend":\s*"unshare"/, q.stdout);
    assert.doesNotMatch(q.stdout, /"backend":\s*"(bwrap|lxd|unsafe-host)"/);
  });
});
