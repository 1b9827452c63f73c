/**
 * The LXD client's connections: a test's exec holds its operation's long poll
 * (`/wait?timeout=-1`) for as long as the test runs. With a window of 8 tests those polls
 * held every connection of the client's pool, and a container creation's wait queued
 * behind them until LXD had forgotten the finished operation ("Operation not found", seen
 * in bench:queue with queue.window 8 and plugins.lxd.spares 7). Long polls now have
 * connections of their own: with more execs under way than the pool has connections, a
 * short request is answered while all of them still run.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { suiteNeeds } from '../../support/components.js';
import { answerForever } from '../../support/net.js';
import { LxdClient, LxdError } from '../../../plugins/lxd/client.js';
import { destroyInstance } from '../../../plugins/lxd/container.js';
import { run } from '../../../core/process.js';
import { LXD_SOCKET, LXD_TEST_IMAGE, instancesWithPrefix, lxdMissing, startTestContainer, testPrefix } from '../../support/lxd.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('lxd client: long polls do not hold the connections of short requests', suiteNeeds('LXD', await lxdMissing()), () => {
  test('with 10 execs under way (the pool has 8 connections) a GET and an instance creation are answered before any exec ends', async () => {
    const name = `${testPrefix('cli')}-c`;
    const other = `${testPrefix('cli')}-d`;
    const client = new LxdClient(LXD_SOCKET);
    try {
      const pid = await startTestContainer(client, name);
      let ended = 0;
      const execs = Array.from({ length: 10 }, (_, i) =>
        client.exec(name, { command: ['sh', '-c', `touch /tmp/started-${i}; sleep 20`], environment: { PATH: '/usr/bin:/bin' } }).finally(() => (ended += 1)),
      );
      // Every exec's command runs (so each has started its operation and its long poll follows at once).
      for (let i = 0; i < 300 && !Array.from({ length: 10 }, (_, j) => existsSync(join(`/proc/${pid}/root/tmp`, `started-${j}`))).every(Boolean); i++) await sleep(50);
      await sleep(500);
      await client.request('GET', '/1.0');
      assert.equal(ended, 0, 'a GET was answered while every exec still ran');
      // An async request: its own operation's wait is not queued behind the execs' waits.
      await client.request('POST', '/1.0/instances', { name: other, ephemeral: false, source: { type: 'image', alias: LXD_TEST_IMAGE } });
      assert.equal(ended, 0, 'an instance creation (POST + its wait) finished while every exec still ran');
      assert.deepEqual(await instancesWithPrefix(other), [other]);
      await run(['lxc', 'exec', name, '--', 'pkill', 'sleep'], { input: '' }).catch(() => undefined);
      const results = await Promise.all(execs);
      assert.equal(results.length, 10);
    } finally {
      await destroyInstance(client, other).catch(() => undefined);
      await destroyInstance(client, name).catch(() => undefined);
      await run(['lxc', 'delete', '--force', name], { input: '' }).catch(() => undefined);
      await run(['lxc', 'delete', '--force', other], { input: '' }).catch(() => undefined);
      client.close();
    }
  });
});

describe('lxd client: answers are bounded', () => {
  test('an answer that never ends, or declares more than the bound, is an LxdError naming the request and the bound', async () => {
    // A daemon on a socket of its own speaking LXD's envelope (`type`, `status_code`, `metadata`),
    // whose listing of instances goes on and on; one with a Content-Length over the bound.
    const dir = mkdtempSync(join(tmpdir(), 'byoci-lxd-bound-'));
    const socket = join(dir, 'unix.socket');
    let closed = 0;
    const server = createServer((req, res) => {
      if (req.url === '/1.0/instances?recursion=1') {
        const instance = `${JSON.stringify({ name: 'c1', status: 'Running', config: {}, devices: {} })},`.repeat(100);
        return answerForever(res, '{"type":"sync","status":"Success","status_code":200,"operation":"","error_code":0,"error":"","metadata":[', instance, () => (closed += 1));
      }
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(1024 * 1024) });
      res.end('{}'.padEnd(1024 * 1024));
    });
    await new Promise<void>((resolve) => server.listen(socket, resolve));
    const client = new LxdClient(socket, { maxBytes: 256 * 1024 });
    try {
      await assert.rejects(client.request('GET', '/1.0/instances?recursion=1'), (error: Error) => {
        assert.ok(error instanceof LxdError);
        assert.equal(error.message, 'lxd GET /1.0/instances?recursion=1: the answer is larger than the 262144 bytes allowed');
        return true;
      });
      for (let i = 0; i < 50 && closed < 1; i++) await sleep(20);
      assert.equal(closed, 1, 'the client dropped the connection');
      await assert.rejects(client.request('GET', '/1.0/profiles/default'), /^LxdError: lxd GET \/1\.0\/profiles\/default: the answer is 1048576 bytes, more than the 262144 allowed$/);
    } finally {
      client.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
