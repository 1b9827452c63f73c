/**
 * `byoci image build` / `byoci image list` logic against the real daemon: the hostusr
 * recipe imported under a test alias through POST /1.0/images, listed, rebuilt
 * idempotently, and usable by a run.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { UsageError, silentLogger } from '../../../core/index.js';
import { LxdClient } from '../../../plugins/lxd/client.js';
import { formatImageTable, imageBuild, imageList } from '../../../plugins/lxd/cli.js';
import { suiteNeeds } from '../../support/components.js';
import { LXD_SOCKET, lxdMissing, testPrefix } from '../../support/lxd.js';
import { commandLines, lxdBox, makeSpec } from './support.js';

const MISSING = await lxdMissing();
const ROOT = join(import.meta.dirname, '../../..');

/** Runs the real CLI (`byoci ...`) without a config file. */
function byoci(...args: string[]) {
  const env: NodeJS.ProcessEnv = { ...process.env, LXD_DIR: LXD_SOCKET.replace(/\/unix\.socket$/, '') };
  delete env.BYOCI_CONFIG; // no config file: the image commands fall back to the defaults
  return spawnSync(process.execPath, ['--import', 'tsx', 'cli/main.ts', ...args], { cwd: ROOT, encoding: 'utf8', env });
}

describe('lxd images: build and list', suiteNeeds('lxd', MISSING), () => {
  const alias = `${testPrefix('img')}-hostusr`;
  const log = silentLogger();
  const client = new LxdClient(LXD_SOCKET);

  after(async () => {
    const target = await client.request<{ target: string }>('GET', `/1.0/images/aliases/${alias}`).catch(() => undefined);
    if (target) await client.request('DELETE', `/1.0/images/${target.target}`, undefined, { timeoutMs: 0 });
    client.close();
  });

  test('an unknown recipe is a usage error listing the recipes', async () => {
    await assert.rejects(imageBuild('ubuntu', { socket: LXD_SOCKET, log }), (error: unknown) => {
      assert.ok(error instanceof UsageError);
      assert.match(error.message, /unknown image recipe "ubuntu": choose one of hostusr, busybox, debootstrap/);
      return true;
    });
  });

  test('hostusr builds offline, is imported under its alias and listed with its recipe', async () => {
    const built = await imageBuild('hostusr', { socket: LXD_SOCKET, log, alias });
    assert.equal(built.alias, alias);
    assert.match(built.fingerprint, /^[0-9a-f]{64}$/);
    assert.ok(built.bytes < 64 * 1024, `a skeleton of a few KB, got ${built.bytes} bytes`);
    assert.equal(built.tarball, undefined, 'the temporary build directory is removed');
    const rows = await imageList({ socket: LXD_SOCKET, log });
    const row = rows.find((r) => r.aliases.includes(alias));
    assert.ok(row);
    assert.equal(row.fingerprint, built.fingerprint);
    assert.equal(row.recipe, 'hostusr');
    const table = formatImageTable(rows);
    assert.match(table[0]!, /^ALIAS\s+FINGERPRINT\s+RECIPE\s+SIZE\s+UPLOADED\s+DESCRIPTION$/);
    assert.ok(table.some((l) => l.startsWith(alias) && l.includes(built.fingerprint.slice(0, 12)) && l.includes('hostusr')));
  });

  test('rebuilding moves the alias to the new image and drops the old one', async () => {
    const first = await client.request<{ target: string }>('GET', `/1.0/images/aliases/${alias}`);
    // metadata.yaml's creation_date has a one-second resolution: make the rebuild differ.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const again = await imageBuild('hostusr', { socket: LXD_SOCKET, log, alias });
    assert.notEqual(again.fingerprint, first.target, 'a new build has a new creation date, so a new fingerprint');
    const rows = await imageList({ socket: LXD_SOCKET, log });
    assert.equal(rows.filter((r) => r.aliases.includes(alias)).length, 1);
    assert.equal(rows.some((r) => r.fingerprint === first.target), false, 'the old image is deleted');
  });

  test('byoci image list prints the table; byoci image build with an unknown recipe exits 2', () => {
    const list = byoci('image', 'list');
    assert.equal(list.status, 0, list.stderr);
    const lines = list.stdout.trim().split('\n');
    assert.match(lines[0] ?? '', /^ALIAS\s+FINGERPRINT\s+RECIPE/);
    assert.ok(lines.some((l) => l.startsWith(alias)), list.stdout);
    const bad = byoci('image', 'build', 'ubuntu');
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /unknown image recipe "ubuntu": choose one of hostusr, busybox, debootstrap/);
  });

  test('a run starts from the built image', async () => {
    const box = await lxdBox({}, 'imgrun');
    try {
      const { result, stdout } = await box.run(makeSpec({ image: alias, command: ['sh', '-c', 'node --version; git --version | cut -d" " -f1-2'] }));
      assert.equal(result?.exitCode, 0, result?.outputTail);
      const lines = commandLines(stdout);
      assert.match(lines[0] ?? '', /^v\d+\./);
      assert.equal(lines[1], 'git version');
    } finally {
      await box.cleanup();
    }
  });
});
