/**
 * closeInheritedFds (core/fds.ts): closes what the caller left open (`byoci land 200<file`),
 * never the files node's own profiling flags opened. V8 opens those without O_CLOEXEC too
 * (--perf-basic-prof: /tmp/perf-<pid>.map and isolate-0x…-<pid>-v8.log); closing them let
 * the next open (the store) take their fd numbers, and V8 then wrote its code map into the
 * store: "file is not a database" on every start of `byoci brain --perf-basic-prof`.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { v8SharedLogfile } from '../../core/fds.js';
import { ROOT } from '../support/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'byoci-fds-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Runs closeInheritedFds in a child node (`flags`, fd 200 open on `file`); answers its report. */
function probe(flags: string[], file: string): Promise<{ pid: number; closed: number[]; open: Record<string, string> }> {
  const code = `
    import { readdirSync, readlinkSync } from 'node:fs';
    import { closeInheritedFds } from ${JSON.stringify(join(ROOT, 'core', 'fds.ts'))};
    const closed = closeInheritedFds();
    const open = {};
    for (const fd of readdirSync('/proc/self/fd')) { try { open[fd] = readlinkSync('/proc/self/fd/' + fd); } catch {} }
    process.stdout.write(JSON.stringify({ pid: process.pid, closed, open }));
  `;
  const fd = openSync(file, 'r');
  const stdio: (number | 'pipe' | 'ignore')[] = ['ignore', 'pipe', 'pipe'];
  for (let i = 3; i < 200; i++) stdio.push('ignore');
  stdio.push(fd);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...flags, '--import', import.meta.resolve('tsx'), '--input-type=module', '-e', code], { cwd: dir, stdio });
    closeSync(fd);
    let out = '';
    let err = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (status) => {
      if (status !== 0) return reject(new Error(`probe exited ${status}: ${err}`));
      resolve(JSON.parse(out) as { pid: number; closed: number[]; open: Record<string, string> });
    });
  });
}

describe('closeInheritedFds', () => {
  const canary = join(dir, 'canary');
  writeFileSync(canary, 'not for children\n');

  test('closes the fd the caller passed (200<canary)', async () => {
    const r = await probe([], canary);
    assert.ok(r.closed.includes(200), JSON.stringify(r));
    assert.ok(!Object.values(r.open).includes(canary), JSON.stringify(r.open));
  });

  test('with --perf-basic-prof: closes 200<canary, keeps the perf map and the V8 log open', async () => {
    const r = await probe(['--perf-basic-prof'], canary);
    const map = `/tmp/perf-${r.pid}.map`;
    try {
      assert.ok(r.closed.includes(200), JSON.stringify(r));
      const open = Object.values(r.open);
      assert.ok(!open.includes(canary), JSON.stringify(r.open));
      assert.ok(open.includes(map), `the perf map stays open: ${JSON.stringify(r.open)}`);
      assert.ok(open.some((t) => new RegExp(`/isolate-0x[0-9a-f]+-${r.pid}-v8\\.log$`).test(t)), `the V8 log stays open: ${JSON.stringify(r.open)}`);
      assert.match(readFileSync(map, 'utf8'), /JS:/, 'V8 wrote its code map to the map file');
    } finally {
      if (existsSync(map)) rmSync(map);
    }
  });

  test('with --prof --no-logfile-per-isolate --logfile=<file>: closes 200<canary, keeps that log open', async () => {
    const log = join(dir, 'named-v8.log');
    const r = await probe(['--prof', '--no-logfile-per-isolate', '--logfile=named-v8.log'], canary);
    assert.ok(r.closed.includes(200), JSON.stringify(r));
    const open = Object.values(r.open);
    assert.ok(!open.includes(canary), JSON.stringify(r.open));
    assert.ok(open.includes(log), `the named V8 log stays open: ${JSON.stringify(r.open)}`);
    assert.match(readFileSync(log, 'utf8'), /code-creation/, 'V8 wrote its log there');
  });

  test('v8SharedLogfile reads the flags as V8 does', () => {
    assert.equal(v8SharedLogfile(['--prof', '--no-logfile-per-isolate', '--logfile=v8.log'], '/w'), '/w/v8.log');
    assert.equal(v8SharedLogfile(['--logfile', '/tmp/x.log', '--nologfile_per_isolate'], '/w'), '/tmp/x.log');
    assert.equal(v8SharedLogfile(['--logfile=v8.log'], '/w'), undefined, 'per isolate: named isolate-0x…-<pid>-v8.log, recognised by that');
    assert.equal(v8SharedLogfile(['--no-logfile-per-isolate', '--logfile=v8.log', '--logfile-per-isolate'], '/w'), undefined, 'the last flag wins');
    assert.equal(v8SharedLogfile(['--no-logfile-per-isolate', '--logfile=-'], '/w'), undefined, 'standard output');
    assert.equal(v8SharedLogfile(['--import', 'tsx'], '/w'), undefined);
  });
});
