/**
 * Artefacts copied back from a test run (JUnit XML, subunit, logs) are output like any
 * other: core masks every registered secret in them, whatever backend copied them.
 */
import { lstat, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Redactor } from '../secrets/redact.js';

/** Files larger than this are not rewritten (they are named in the result instead). */
const MAX_BYTES = 64 * 1024 * 1024;

async function filesUnder(path: string): Promise<string[]> {
  const info = await lstat(path).catch(() => undefined);
  if (!info || info.isSymbolicLink()) return [];
  if (info.isFile()) return [path];
  if (!info.isDirectory()) return [];
  const out: string[] = [];
  for (const entry of await readdir(path)) out.push(...(await filesUnder(join(path, entry))));
  return out;
}

/**
 * Redacts every file under `paths` in place. Text is read as UTF-8, anything with a NUL
 * byte as latin1 (so ASCII secrets are still found in binary files). Returns the files
 * that held a secret, and those too large to check.
 */
export async function redactArtefacts(
  paths: readonly string[],
  redactor: Redactor,
): Promise<{ redacted: string[]; unchecked: string[] }> {
  const redacted: string[] = [];
  const unchecked: string[] = [];
  if (redactor.size === 0) return { redacted, unchecked };
  for (const root of paths) {
    for (const file of await filesUnder(root)) {
      const info = await lstat(file);
      if (info.size > MAX_BYTES) {
        unchecked.push(file);
        continue;
      }
      const bytes = await readFile(file);
      const encoding: BufferEncoding = bytes.subarray(0, 8192).includes(0) ? 'latin1' : 'utf8';
      const text = bytes.toString(encoding);
      const clean = redactor.redact(text);
      if (clean !== text) {
        await writeFile(file, Buffer.from(clean, encoding));
        redacted.push(file);
      }
    }
  }
  return { redacted, unchecked };
}
