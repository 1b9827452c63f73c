/**
 * brain.user: the real `byoci brain` started as root binds a port below 1024 (only root
 * may, ip_unprivileged_port_start permitting), drops to `nobody`, and then journals a signed
 * delivery in a store `nobody` owns; a store `nobody` cannot write is a clear startup error.
 * Needs root (skipped with the reason otherwise) and the `nobody` user.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { resolveAccount } from '../../brain/index.js';
import { spawnBrain, SECRET, TOKEN, USER } from '../support/brain-process.js';
import { ROOT } from '../support/cli.js';
import { suiteNeeds } from '../support/components.js';
import { example, postGithub } from './helpers.js';

function whyNot(): string | undefined {
  if (process.getuid?.() !== 0) return 'not running as root (dropping privileges needs root)';
  const nobody = spawnSync('getent', ['passwd', 'nobody'], { encoding: 'utf8' });
  if (nobody.status !== 0) return 'no nobody user';
  return undefined;
}

function uidOf(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('Uid:')) ?? '';
  return Number(line.split(/\s+/)[1]); // real uid (then effective, saved, fs)
}

function brainConfig(port: number, user = 'nobody'): Record<string, unknown> {
  return {
    listen: { host: '127.0.0.1', port },
    sources: ['github'],
    user,
    jenkins: { url: 'http://127.0.0.1:9/', user: USER },
    rules: [],
  };
}

/** Candidate ports below the first unprivileged one (tried in turn: another may be taken). */
function lowPorts(): number[] {
  const start = Number(readFileSync('/proc/sys/net/ipv4/ip_unprivileged_port_start', 'utf8').trim());
  const top = Math.min(start, 1024) - 1;
  return Array.from({ length: 20 }, (_, i) => top - 7 - i * 3).filter((p) => p > 600);
}

describe('brain.user: bind as root, then run as its own user', suiteNeeds('root', whyNot()), () => {
  let dir: string;
  const nobody = whyNot() ? undefined : resolveAccount('nobody');
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'byoci-priv-'));
    chmodSync(dir, 0o755); // nobody must reach its store below
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('started as root: binds a privileged port, drops to nobody, journals a delivery in a store nobody owns', async () => {
    assert.ok(nobody);
    const home = join(dir, 'ok');
    mkdirSync(home);
    chownSync(home, nobody.uid, nobody.gid);
    let brain;
    let lastError: unknown;
    for (const port of lowPorts()) {
      try {
        brain = await spawnBrain(home, brainConfig(port));
        break;
      } catch (error) {
        lastError = error;
        if (!/EADDRINUSE/.test(String(error))) throw error;
      }
    }
    assert.ok(brain, `no free port below 1024: ${String(lastError)}`);
    try {
      assert.ok(Number(new URL(brain.url).port) < 1024, brain.url);
      assert.equal(uidOf(brain.pid), nobody.uid, 'the brain runs as nobody');
      assert.match(brain.stderr(), /dropped root: running as brain\.user/);
      const answer = await postGithub(brain.url, 'push', `priv-${process.pid}`, example('push'), SECRET);
      assert.equal(answer.status, 202, answer.body);
      for (const file of ['byoci.db', 'byoci.db-wal']) {
        assert.equal(statSync(join(home, file)).uid, nobody.uid, `${file} belongs to nobody`);
      }
    } finally {
      assert.equal(await brain.stop(), 0);
    }
  });

  test('a store nobody cannot write: exit 2 naming the store, the user and the fix', () => {
    const home = join(dir, 'rootowned');
    mkdirSync(home, { mode: 0o755 });
    writeFileSync(join(home, 'byoci.yaml'), JSON.stringify({ workdir: join(home, 'work'), store: { path: join(home, 'byoci.db') }, secrets: { order: ['env'] }, brain: brainConfig(0) }));
    const r = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'cli', 'main.ts'), '--config', join(home, 'byoci.yaml'), 'brain'], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, BYOCI_SECRET_BRAIN_GITHUB_WEBHOOK_SECRET: SECRET, BYOCI_SECRET_BRAIN_JENKINS_TOKEN: TOKEN },
      timeout: 60_000,
    });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /brain\.user/);
    assert.match(r.stderr, /the store .*byoci\.db is not writable by brain\.user nobody \(uid 65534\)/);
    assert.match(r.stderr, /chown -R nobody:nogroup/);
  });

  test('an unknown user is a startup error before anything is bound', () => {
    const home = join(dir, 'unknown');
    mkdirSync(home);
    writeFileSync(join(home, 'byoci.yaml'), JSON.stringify({ workdir: join(home, 'work'), store: { path: join(home, 'byoci.db') }, secrets: { order: ['env'] }, brain: brainConfig(0, 'no-such-user-byoci') }));
    const r = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'cli', 'main.ts'), '--config', join(home, 'byoci.yaml'), 'brain'], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, BYOCI_SECRET_BRAIN_GITHUB_WEBHOOK_SECRET: SECRET, BYOCI_SECRET_BRAIN_JENKINS_TOKEN: TOKEN },
      timeout: 60_000,
    });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /brain\.user "no-such-user-byoci": no such user/);
  });
});
