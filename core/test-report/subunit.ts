/**
 * Subunit v2 streams (python-subunit's `subunit.run`, stestr, testr): binary packets
 * `0xB3, flags (u16), length (varint, whole packet), [timestamp] [test id] [tags]
 * [mime type] [file content] [route code], CRC32`. Written from the specification in
 * python-subunit's README and checked against its `subunit/v2.py` and files it produced;
 * no maintained npm library reads subunit. Bytes between packets (a test printing on the
 * same stream) and packets with a bad checksum are skipped, as subunit's own parser does
 * with `non_subunit_name`.
 */
import { cleanId, type CaseStatus, type TestCase } from './cases.js';

export const SUBUNIT_SIGNATURE = 0xb3;
const FLAG_TEST_ID = 0x0800;
const FLAG_TIMESTAMP = 0x0200;
const VERSION_MASK = 0xf000;
const VERSION_2 = 0x2000;

/** subunit status (flags & 7) → what it means for a landing; 0 (none), 1 exists, 2 inprogress say nothing yet. */
const STATUS: Readonly<Record<number, CaseStatus | undefined>> = {
  3: 'pass', // success
  4: 'fail', // uxsuccess: an expected failure passed
  5: 'skip',
  6: 'fail',
  7: 'pass', // xfail: failed as expected
};

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** zlib's CRC-32 (what subunit uses). */
export function crc32(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const b of bytes) crc = CRC_TABLE[(crc ^ b) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/** A subunit varint at `pos`: value and bytes used; undefined past the end. */
function varint(buf: Uint8Array, pos: number): [number, number] | undefined {
  if (pos >= buf.length) return undefined;
  const first = buf[pos]!;
  const size = (first >> 6) + 1;
  if (pos + size > buf.length) return undefined;
  let value = first & 0x3f;
  for (let i = 1; i < size; i++) value = value * 256 + buf[pos + i]!;
  return [value, size];
}

function utf8(buf: Uint8Array, pos: number): [string, number] | undefined {
  const len = varint(buf, pos);
  if (!len) return undefined;
  const start = pos + len[1];
  const end = start + len[0];
  if (end > buf.length) return undefined;
  return [Buffer.from(buf.subarray(start, end)).toString('utf8'), end];
}

/** The test id and status of one packet body (after the header), or undefined if malformed. */
function packetBody(flags: number, body: Uint8Array, pos: number): { id?: string; status: number } | undefined {
  let at = pos;
  if (flags & FLAG_TIMESTAMP) {
    const ns = varint(body, at + 4);
    if (!ns) return undefined;
    at += 4 + ns[1];
  }
  let id: string | undefined;
  if (flags & FLAG_TEST_ID) {
    const s = utf8(body, at);
    if (!s) return undefined;
    [id, at] = s;
  }
  // Tags (0x0080), mime type (0x0020), file content (0x0040) and route code (0x0400)
  // follow; nothing of them is needed here.
  return { ...(id !== undefined ? { id } : {}), status: flags & 0x7 };
}

/** True when the bytes start with a subunit v2 packet. */
export function looksLikeSubunit(buf: Uint8Array): boolean {
  return buf.length >= 6 && buf[0] === SUBUNIT_SIGNATURE && ((buf[1]! << 8) & VERSION_MASK) === VERSION_2;
}

/** The test results of a subunit v2 stream, one entry per decisive status packet. */
export function parseSubunit(buf: Uint8Array): TestCase[] {
  const out: TestCase[] = [];
  let pos = 0;
  while (pos < buf.length) {
    if (buf[pos] !== SUBUNIT_SIGNATURE) {
      pos++;
      continue;
    }
    const flags = pos + 2 < buf.length ? (buf[pos + 1]! << 8) | buf[pos + 2]! : -1;
    const length = varint(buf, pos + 3);
    if (flags < 0 || (flags & VERSION_MASK) !== VERSION_2 || !length || length[0] < 8 || pos + length[0] > buf.length) {
      pos++;
      continue;
    }
    const packet = buf.subarray(pos, pos + length[0]);
    const stored = ((packet[packet.length - 4]! << 24) | (packet[packet.length - 3]! << 16) | (packet[packet.length - 2]! << 8) | packet[packet.length - 1]!) >>> 0;
    if (crc32(packet.subarray(0, packet.length - 4)) !== stored) {
      pos++;
      continue;
    }
    const parsed = packetBody(flags, packet.subarray(0, packet.length - 4), 3 + length[1]);
    if (parsed?.id !== undefined) {
      const status = STATUS[parsed.status];
      if (status) out.push({ id: cleanId(parsed.id), status });
    }
    pos += length[0];
  }
  return out;
}
