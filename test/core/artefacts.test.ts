import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { redactArtefacts } from '../../core/artefacts.js';
import { Redactor } from '../../secrets/redact.js';

test('secrets are masked in every artefact file copied back, text or binary', async () => {
  const secret = 'tok-1234567890abcdef';
  const redactor = new Redactor();
  redactor.add(secret);
  const dir = mkdtempSync(join(tmpdir(), 'byoci-artefacts-'));
  mkdirSync(join(dir, 'reports'));
  writeFileSync(join(dir, 'reports', 'junit.xml'), `<testsuite><failure message="token ${secret}"/></testsuite>`);
  writeFileSync(join(dir, 'reports', 'clean.xml'), '<testsuite/>');
  writeFileSync(join(dir, 'subunit.bin'), Buffer.concat([Buffer.from([0, 1, 2, 0xff]), Buffer.from(Buffer.from(secret).toString('base64')), Buffer.from([0])]));
  const outside = join(mkdtempSync(join(tmpdir(), 'byoci-outside-')), 'host-file');
  writeFileSync(outside, secret);
  symlinkSync(outside, join(dir, 'reports', 'link'));

  const { redacted } = await redactArtefacts([join(dir, 'reports'), join(dir, 'subunit.bin')], redactor);
  assert.deepEqual(redacted.sort(), [join(dir, 'reports', 'junit.xml'), join(dir, 'subunit.bin')]);
  assert.equal(readFileSync(join(dir, 'reports', 'junit.xml'), 'utf8'), '<testsuite><failure message="token [REDACTED]"/></testsuite>');
  assert.equal(readFileSync(join(dir, 'reports', 'clean.xml'), 'utf8'), '<testsuite/>');
  const binary = readFileSync(join(dir, 'subunit.bin'));
  assert.deepEqual([...binary.subarray(0, 4)], [0, 1, 2, 0xff], 'binary bytes around the secret are kept');
  assert.ok(!binary.includes(Buffer.from(Buffer.from(secret).toString('base64'))));
  assert.equal(readFileSync(outside, 'utf8'), secret, 'a symlink is never followed out of the artefacts');
});
