import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { describe, test } from 'node:test';
import { createLogger } from '../../core/logger.js';
import { Redactor, REDACTION_MASK, createRedactingTransform } from '../../secrets/redact.js';

const TOKEN = 'tok_3x4mpl3+/S3cret=with spaces&amp';
const KEY = [
  '-----BEGIN OPENSSH ' + 'PRIVATE KEY-----',
  'b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW',
  'QyNTUxOQAAACBJ1r0Eq5fK0kqzq2f4tFHn3lqGZqB0h6v1a2oR0yJ2nQAAAJg0h5ZYNIeW',
  '-----END OPENSSH PRIVATE KEY-----',
  '',
].join('\n');

function redactorWith(...values: string[]): Redactor {
  const r = new Redactor();
  for (const v of values) r.add(v);
  return r;
}

describe('Redactor', () => {
  test('masks the plain, URL-encoded, form-encoded, JSON-escaped and base64 forms', () => {
    const r = redactorWith(TOKEN);
    const forms = [
      TOKEN,
      encodeURIComponent(TOKEN),
      encodeURIComponent(TOKEN).replace(/%20/g, '+'),
      JSON.stringify(TOKEN).slice(1, -1),
      Buffer.from(TOKEN).toString('base64'),
      Buffer.from(TOKEN).toString('base64').replace(/=+$/, ''),
      Buffer.from(TOKEN).toString('base64url'),
    ];
    for (const form of forms) {
      const out = r.redact(`before ${form} after`);
      assert.equal(out, `before ${REDACTION_MASK} after`, `form ${form}`);
    }
  });

  test('masks a value embedded at any offset inside a longer base64 text (Basic auth)', () => {
    const r = redactorWith(TOKEN);
    for (let prefix = 0; prefix < 6; prefix++) {
      const plain = `${'u'.repeat(prefix)}user:${TOKEN}:tail${'x'.repeat(prefix)}`;
      for (const enc of ['base64', 'base64url'] as const) {
        const b64 = Buffer.from(plain).toString(enc);
        const out = r.redact(`Authorization: Basic ${b64}`);
        assert.ok(out.includes(REDACTION_MASK), `offset ${prefix} ${enc}: ${out}`);
        // What is left unmasked cannot be decoded back to the token.
        for (const piece of out.replace('Authorization: Basic ', '').split(REDACTION_MASK)) {
          assert.ok(!Buffer.from(piece, enc).toString('latin1').includes(TOKEN.slice(0, 8)));
        }
      }
    }
  });

  test('masks a multi-line key whole, line by line, and without its final newline', () => {
    const r = redactorWith(KEY);
    assert.equal(r.redact(`key: ${KEY}end`), `key: ${REDACTION_MASK}end`);
    assert.equal(r.redact(KEY.trimEnd()), REDACTION_MASK);
    const line = KEY.split('\n')[1]!;
    assert.equal(r.redact(`cat: ${line}`), `cat: ${REDACTION_MASK}`);
    assert.equal(r.redact(JSON.stringify({ k: KEY })), `{"k":"${REDACTION_MASK}"}`);
  });

  test('masks regexp metacharacters literally and prefers the longest match', () => {
    const r = redactorWith('a.b*c(d)', 'a.b*c(d)-longer');
    assert.equal(r.redact('x a.b*c(d)-longer y a.b*c(d) z aXbbc(d)'), `x ${REDACTION_MASK} y ${REDACTION_MASK} z aXbbc(d)`);
  });

  test('does not register values too short to mask safely, nor the empty value', () => {
    const r = redactorWith('', 'abc');
    assert.equal(r.size, 0);
    assert.equal(r.redact('abc abc'), 'abc abc');
  });

  test('redactValue masks strings, keys, arrays and errors inside JSON values', () => {
    const r = redactorWith(TOKEN);
    const out = r.redactValue({ a: [TOKEN, 1, null], [TOKEN]: { deep: `x${TOKEN}` }, e: new Error(`bad ${TOKEN}`) });
    const json = JSON.stringify(out);
    assert.ok(!json.includes(TOKEN.slice(0, 10)), json);
    assert.deepEqual((out as Record<string, unknown>).a, [REDACTION_MASK, 1, null]);
    assert.deepEqual((out as Record<string, unknown>).e, { name: 'Error', message: `bad ${REDACTION_MASK}` });
    // A parsed `__proto__` key stays a key (assigned, it set the copy's prototype and vanished from the JSON).
    const parsed = r.redactValue(JSON.parse(`{"__proto__": {"token": "${TOKEN}"}, "b": 1}`) as Record<string, unknown>);
    assert.equal(Object.getPrototypeOf(parsed), Object.prototype);
    assert.equal(JSON.stringify(parsed), `{"__proto__":{"token":"${REDACTION_MASK}"},"b":1}`);
  });

  test('leaks() tells whether a text contains a registered form', () => {
    const r = redactorWith(TOKEN);
    assert.equal(r.leaks(`x ${encodeURIComponent(TOKEN)}`), true);
    assert.equal(r.leaks('nothing here'), false);
    assert.equal(r.leaks(`x ${TOKEN}`), true); // repeatable (no sticky lastIndex)
  });
});

describe('logger lines go through the Redactor', () => {
  const r = redactorWith(TOKEN, KEY);
  const fixed = () => new Date('2026-01-01T00:00:00Z');

  test('text lines: message, fields and errors, in every form', () => {
    const lines: string[] = [];
    const log = createLogger({ redactor: r, write: (l) => lines.push(l), now: fixed }).child('git');
    log.info('pushing', { url: `https://x:${encodeURIComponent(TOKEN)}@example.invalid/repo`, key: KEY });
    log.error('failed', { error: new Error(`auth ${Buffer.from(TOKEN).toString('base64')} refused`) });
    assert.equal(lines.length, 2);
    for (const line of lines) assert.ok(!r.leaks(line), line);
    assert.match(lines[0]!, /^2026-01-01T00:00:00.000Z INFO  \[git\] pushing url=.*\[REDACTED\]@example\.invalid\/repo/);
    assert.match(lines[1]!, /error="auth \[REDACTED\] refused"/);
  });

  test('--json lines: every string in the record, and the line stays valid JSON', () => {
    const lines: string[] = [];
    const log = createLogger({ json: true, redactor: r, write: (l) => lines.push(l), now: fixed });
    log.warn(`message with ${TOKEN}`, { nested: { list: [KEY, `q=${encodeURIComponent(TOKEN)}`] }, error: new Error(TOKEN) });
    const record = JSON.parse(lines[0]!) as Record<string, unknown>;
    assert.equal(record.msg, `message with ${REDACTION_MASK}`);
    assert.deepEqual(record.nested, { list: [REDACTION_MASK, `q=${REDACTION_MASK}`] });
    assert.equal(record.error, REDACTION_MASK);
    assert.ok(!r.leaks(lines[0]!));
  });
});

describe('createRedactingTransform', () => {
  test('catches secrets split across chunks and bytes of one character split across chunks', async () => {
    const r = redactorWith(TOKEN);
    const input = Buffer.from(`line one\nhere is ${TOKEN} and é\nlast ${TOKEN}`);
    const chunks: Buffer[] = [];
    for (let i = 0; i < input.length; i += 5) chunks.push(input.subarray(i, i + 5));
    const out = await text(Readable.from(chunks).pipe(createRedactingTransform(r)));
    assert.equal(out, `line one\nhere is ${REDACTION_MASK} and é\nlast ${REDACTION_MASK}`);
  });

  test('passes a huge line without newline in pieces, still masking at the cuts', async () => {
    const r = redactorWith(TOKEN);
    const filler = randomBytes(3000).toString('hex');
    const input = `${filler}${TOKEN}${filler}`;
    const chunks: string[] = [];
    for (let i = 0; i < input.length; i += 7) chunks.push(input.slice(i, i + 7));
    const out = await text(Readable.from(chunks).pipe(createRedactingTransform(r, { maxLine: 100 })));
    assert.equal(out, `${filler}${REDACTION_MASK}${filler}`);
  });
});

describe('createRedactingTransform with a plugin redact function', () => {
  test('works from { redact: api.redact } alone (what a backend has for artefacts)', async () => {
    const r = redactorWith(TOKEN);
    const chunks = [`a ${TOKEN.slice(0, 5)}`, `${TOKEN.slice(5)} b\nc`];
    const out = await text(Readable.from(chunks).pipe(createRedactingTransform({ redact: (s) => r.redact(s) })));
    assert.equal(out, `a ${REDACTION_MASK} b\nc`);
  });
});

test('the values of key = value lines of a multi-line secret are masked on their own', () => {
  const redactor = new Redactor();
  redactor.add('[1]\nconsumer_key = byoci\naccess_token = Tok3nValue99\naccess_secret: S3cretValue77\n');
  const text = redactor.redact('token Tok3nValue99 secret S3cretValue77 url ' + encodeURIComponent('S3cretValue77'));
  assert.ok(!text.includes('Tok3nValue99') && !text.includes('S3cretValue77'), text);
  // Short values (consumer_key = byoci) are left alone: they would mangle ordinary text.
  assert.equal(redactor.redact('byoci lands'), 'byoci lands');
});

