/** Secrets files are size-capped and regular files only (issue 12, item 3). */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { MAX_SECRET_FILE_BYTES, readSafeFile } from '../../secrets/safe-file.js';

const dir = mkdtempSync(join(tmpdir(), 'byoci-secret-cap-'));
chmodSync(dir, 0o700);
after(() => rmSync(dir, { recursive: true, force: true }));

test('a secrets file larger than the cap is refused, naming the cap; one within it is read', async () => {
  const big = join(dir, 'big');
  writeFileSync(big, Buffer.alloc(MAX_SECRET_FILE_BYTES + 1, 'a'), { mode: 0o600 });
  await assert.rejects(readSafeFile('file', big), /larger than 1048576 bytes/);
  const small = join(dir, 'small');
  writeFileSync(small, 'token\n', { mode: 0o600 });
  assert.equal(await readSafeFile('file', small), 'token\n');
});

test('a FIFO in place of a secrets file is refused at once', { timeout: 10_000 }, async () => {
  const fifo = join(dir, 'fifo');
  execFileSync('mkfifo', ['-m', '600', fifo]);
  await assert.rejects(readSafeFile('file', fifo), /not a regular file/);
});
