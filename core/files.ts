/**
 * Reading the local files the bot is handed (config, proposal files, credentials) with a
 * size cap, and only when they are regular files: a FIFO, a device (`/dev/zero`) or a
 * directory is refused at once instead of blocking or growing without end.
 *
 * Opening with O_NONBLOCK makes `open()` of a FIFO return at once; the descriptor is then
 * checked with fstat, so the file checked is the file read.
 */
import { closeSync, constants, fstatSync, openSync, readSync, type Stats } from 'node:fs';
import { open } from 'node:fs/promises';

/** Caps of the local files byoci reads. */
export const FILE_LIMITS = Object.freeze({
  config: 4 * 1024 * 1024,
  proposal: 1024 * 1024,
  credentials: 64 * 1024,
});

export type FileProblem = 'missing' | 'not-regular' | 'too-large' | 'unreadable';

/** A local file that could not be read; `message` names the file and what is wrong. */
export class FileReadError extends Error {
  override readonly name = 'FileReadError';
  constructor(
    message: string,
    readonly path: string,
    readonly problem: FileProblem,
  ) {
    super(message);
  }
}

const FLAGS = constants.O_RDONLY | constants.O_NONBLOCK | (constants.O_NOCTTY ?? 0);

function kind(st: Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

function human(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(bytes % (1024 * 1024) ? 1 : 0)} MiB` : `${Math.ceil(bytes / 1024)} KiB`;
}

function openError(path: string, error: unknown): FileReadError {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return new FileReadError(`${path}: no such file`, path, 'missing');
  if (code === 'EISDIR') return new FileReadError(`${path}: is a directory, not a file`, path, 'not-regular');
  return new FileReadError(`${path}: cannot read: ${(error as Error).message}`, path, 'unreadable');
}

function checkStats(path: string, st: Stats, maxBytes: number): void {
  if (!st.isFile()) throw new FileReadError(`${path}: is ${kind(st)}, not a regular file`, path, 'not-regular');
  if (st.size > maxBytes) throw tooLarge(path, maxBytes);
}

function tooLarge(path: string, maxBytes: number): FileReadError {
  return new FileReadError(`${path}: larger than ${human(maxBytes)}, not read`, path, 'too-large');
}

/** The bytes of regular file `path`, at most `maxBytes` (a file that grows past it is refused). */
export async function readRegularFile(path: string, maxBytes: number): Promise<Buffer> {
  let handle;
  try {
    handle = await open(path, FLAGS);
  } catch (error) {
    throw openError(path, error);
  }
  try {
    checkStats(path, await handle.stat(), maxBytes);
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const buffer = Buffer.allocUnsafe(Math.min(64 * 1024, maxBytes + 1 - total));
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) break;
      total += bytesRead;
      if (total > maxBytes) throw tooLarge(path, maxBytes);
      chunks.push(buffer.subarray(0, bytesRead));
    }
    return Buffer.concat(chunks, total);
  } catch (error) {
    if (error instanceof FileReadError) throw error;
    throw openError(path, error);
  } finally {
    await handle.close();
  }
}

/** `readRegularFile` for synchronous callers (config loading). */
export function readRegularFileSync(path: string, maxBytes: number): Buffer {
  let fd: number;
  try {
    fd = openSync(path, FLAGS);
  } catch (error) {
    throw openError(path, error);
  }
  try {
    checkStats(path, fstatSync(fd), maxBytes);
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const buffer = Buffer.allocUnsafe(Math.min(64 * 1024, maxBytes + 1 - total));
      const bytesRead = readSync(fd, buffer, 0, buffer.length, null);
      if (bytesRead === 0) break;
      total += bytesRead;
      if (total > maxBytes) throw tooLarge(path, maxBytes);
      chunks.push(buffer.subarray(0, bytesRead));
    }
    return Buffer.concat(chunks, total);
  } catch (error) {
    if (error instanceof FileReadError) throw error;
    throw openError(path, error);
  } finally {
    closeSync(fd);
  }
}

/**
 * Decodes UTF-8 without losing a byte: each byte that is not part of valid UTF-8 becomes
 * the lone surrogate U+DC00+byte (U+DC80..U+DCFF) (Python's "surrogateescape"), which `encodeLossless`
 * turns back into that byte. Valid UTF-8 never decodes to those code points.
 */
export function decodeLossless(bytes: Uint8Array): string {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    // Fall through to the byte-by-byte decoder.
  }
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let out = '';
  let run = 0;
  let i = 0;
  while (i < buf.length) {
    const n = sequenceLength(buf, i);
    if (n > 0) {
      i += n;
      continue;
    }
    out += buf.toString('utf8', run, i) + String.fromCharCode(0xdc00 + buf[i]!);
    i += 1;
    run = i;
  }
  return out + buf.toString('utf8', run, i);
}

/** Offset of the first byte of `bytes` that is not part of valid UTF-8, or -1. */
export function firstInvalidUtf8(bytes: Uint8Array): number {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < buf.length; ) {
    const n = sequenceLength(buf, i);
    if (n === 0) return i;
    i += n;
  }
  return -1;
}

/** Length of the valid UTF-8 sequence at `i`, or 0. */
function sequenceLength(b: Buffer, i: number): number {
  const c = b[i]!;
  if (c < 0x80) return 1;
  const cont = (k: number, lo = 0x80, hi = 0xbf) => i + k < b.length && b[i + k]! >= lo && b[i + k]! <= hi;
  if (c >= 0xc2 && c <= 0xdf) return cont(1) ? 2 : 0;
  if (c >= 0xe0 && c <= 0xef) {
    const lo = c === 0xe0 ? 0xa0 : 0x80;
    const hi = c === 0xed ? 0x9f : 0xbf;
    return cont(1, lo, hi) && cont(2) ? 3 : 0;
  }
  if (c >= 0xf0 && c <= 0xf4) {
    const lo = c === 0xf0 ? 0x90 : 0x80;
    const hi = c === 0xf4 ? 0x8f : 0xbf;
    return cont(1, lo, hi) && cont(2) && cont(3) ? 4 : 0;
  }
  return 0;
}

/** Characters standing for bytes that were not UTF-8 (see `decodeLossless`). */
export const ESCAPED_BYTE = /(?<![\ud800-\udbff])[\udc80-\udcff]/;

/** The bytes `decodeLossless` read: text as UTF-8, escaped bytes as themselves. */
export function encodeLossless(text: string): Buffer {
  if (!ESCAPED_BYTE.test(text)) return Buffer.from(text, 'utf8');
  const parts: Buffer[] = [];
  let run = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0xdc80 || code > 0xdcff) continue;
    // A low surrogate after a high one is half of a real character, not an escaped byte.
    const prev = i > 0 ? text.charCodeAt(i - 1) : 0;
    if (prev >= 0xd800 && prev <= 0xdbff) continue;
    parts.push(Buffer.from(text.slice(run, i), 'utf8'), Buffer.from([code - 0xdc00]));
    run = i + 1;
  }
  parts.push(Buffer.from(text.slice(run), 'utf8'));
  return Buffer.concat(parts);
}

/** Line and column (1-based) of offset `index` in `text`. */
export function lineOf(text: string, index: number): { line: number; column: number } {
  let line = 1;
  let start = 0;
  for (let i = text.indexOf('\n'); i >= 0 && i < index; i = text.indexOf('\n', i + 1)) {
    line++;
    start = i + 1;
  }
  return { line, column: index - start + 1 };
}
