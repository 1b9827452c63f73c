/**
 * The load generator of bench:brain and the exactly-once tests (test/support/brain-process.ts
 * `fire`): raw keep-alive sockets, its own reading of the answers. Checked against node:http
 * servers: what it sends is a valid signed request, and the status it reports is the one the
 * server sent, whatever the answer's framing; a connection cut mid-answer is status 0, and
 * the deliveries after it still go out.
 */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { deliveryGuid, fire, prepare, pushDelivery, SECRET, type Delivery } from '../support/brain-process.js';
import { example } from './helpers.js';

async function withServer(handler: (req: IncomingMessage, body: string, res: ServerResponse) => void, run: (url: string) => Promise<void>): Promise<void> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => handler(req, Buffer.concat(chunks).toString('utf8'), res));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    await run(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}

const deliveries = (n: number, prepared = true): Delivery[] =>
  Array.from({ length: n }, (_, i) => {
    const d = { id: `load-${i}`, event: 'push', body: JSON.stringify({ i, text: 'ünïcødé '.repeat(i % 5) }) };
    return prepared ? prepare(d) : d;
  });

describe('the load generator', () => {
  it('sends valid signed requests on keep-alive connections and reports each status', async () => {
    const seen = new Map<string, string>();
    const sockets = new Set<unknown>();
    await withServer(
      (req, body, res) => {
        sockets.add(req.socket);
        const expected = `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`;
        assert.equal(req.method, 'POST');
        assert.equal(req.url, '/hooks/github');
        assert.equal(req.headers['content-type'], 'application/json');
        assert.equal(req.headers['x-github-event'], 'push');
        seen.set(String(req.headers['x-github-delivery']), body);
        const status = req.headers['x-hub-signature-256'] === expected ? (Number(JSON.parse(body).i) % 3 === 0 ? 200 : 202) : 401;
        res.writeHead(status, { 'content-type': 'application/json' }).end('{"ok":true}\n');
      },
      async (url) => {
        const sent = [...deliveries(40), ...deliveries(10, false).map((d) => ({ ...d, id: `signed-when-sent-${d.id}` }))];
        const answers = await fire(url, sent, { concurrency: 4 });
        assert.equal(answers.size, 50);
        for (const d of sent) {
          assert.equal(seen.get(d.id), d.body, `${d.id} arrived whole`);
          const i = Number(JSON.parse(d.body).i);
          assert.equal(answers.get(d.id)?.status, i % 3 === 0 ? 200 : 202, d.id);
          assert.ok((answers.get(d.id)?.ms ?? -1) >= 0);
        }
        assert.equal(sockets.size, 4, 'one connection per request in flight, kept alive');
      },
    );
  });

  it('reads chunked answers, and opens a new connection after `connection: close`', async () => {
    let n = 0;
    await withServer(
      (_req, _body, res) => {
        n++;
        if (n % 4 === 0) {
          res.writeHead(413, { connection: 'close', 'content-length': '9' }).end('too big!\n');
          return;
        }
        res.writeHead(n % 2 ? 202 : 503, { 'content-type': 'text/plain' });
        res.write('part one, ');
        res.write('part two\r\n0\r\n');
        res.end('end\n');
      },
      async (url) => {
        const answers = await fire(url, deliveries(12), { concurrency: 1 });
        const statuses = deliveries(12).map((d) => answers.get(d.id)?.status);
        assert.deepEqual(statuses, [202, 503, 202, 413, 202, 503, 202, 413, 202, 503, 202, 413]);
      },
    );
  });

  it('reports status 0 for an answer cut short, and goes on with the next deliveries', async () => {
    let n = 0;
    await withServer(
      (_req, _body, res) => {
        n++;
        if (n === 3) {
          // Headers promise 100 bytes; the connection ends after 5.
          res.socket?.end('HTTP/1.1 202 Accepted\r\ncontent-length: 100\r\n\r\nhello');
          return;
        }
        res.writeHead(202, { 'content-length': '3' }).end('ok\n');
      },
      async (url) => {
        const answers = await fire(url, deliveries(6), { concurrency: 1 });
        assert.deepEqual(
          deliveries(6).map((d) => answers.get(d.id)?.status),
          [202, 202, 0, 202, 202, 202],
        );
      },
    );
  });

  it('reports status 0 for every delivery when nothing listens', async () => {
    let url = '';
    await withServer(
      () => undefined,
      async (u) => {
        url = u;
      },
    );
    const answers = await fire(url, deliveries(5), { concurrency: 2 });
    assert.deepEqual([...answers.values()].map((s) => s.status), [0, 0, 0, 0, 0]);
  });

  it('gives the bench deliveries GUIDs shaped like GitHub ones, distinct and scattered', () => {
    const ids = Array.from({ length: 10_000 }, (_, i) => deliveryGuid('run-a', i));
    for (const id of ids) assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(new Set([...ids, ...ids.map((_, i) => deliveryGuid('run-b', i))]).size, 20_000);
    assert.equal(deliveryGuid('run-a', 7), ids[7], 'the same run and index give the same id');
    // Not in key order: an index fed these grows everywhere, not only at its right edge.
    const ascending = ids.slice(1).filter((id, i) => id > (ids[i] as string)).length;
    assert.ok(ascending > 4_000 && ascending < 6_000, `${ascending} of 9999 neighbours ascending`);
    assert.equal(pushDelivery(example('push'), 3, 'b3', 2048, 'run-a').id, ids[3]);
  });
});
