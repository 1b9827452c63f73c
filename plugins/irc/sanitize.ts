/**
 * Making untrusted text safe for one IRC line, and fitting lines into the protocol's
 * 512-byte limit (RFC 1459 2.3: the whole line, CRLF included) without cutting a UTF-8
 * sequence or a grapheme in half.
 */

/** mIRC colour codes with their parameters, then hex colours (\x04RRGGBB[,RRGGBB]). */
// eslint-disable-next-line no-control-regex
const COLOUR = /\x03(?:\d{1,2}(?:,\d{1,2})?)?|\x04(?:[0-9a-fA-F]{6}(?:,[0-9a-fA-F]{6})?)?/g;
/** Line and paragraph breaks of every kind become one space: words stay apart. */
const BREAKS = /[\r\n\t\v\f\u0085\u2028\u2029]+/g;
/** C0, DEL and C1 controls (incl. IRC bold/italic/underline/reverse/reset), bidi overrides. */
// eslint-disable-next-line no-control-regex
const CONTROLS = /[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/**
 * Returns `text` as inert IRC text: no CR, LF, NUL, no other control characters, no
 * formatting codes, no bidi overrides, valid UTF-16 (so valid UTF-8 on the wire).
 */
export function sanitize(text: string): string {
  return text
    .replace(LONE_SURROGATE, '\ufffd')
    .replace(COLOUR, '')
    .replace(BREAKS, ' ')
    .replace(CONTROLS, '')
    .trim();
}

/** Control characters that could end or forge a protocol line. */
// eslint-disable-next-line no-control-regex
export const LINE_BREAKERS = /[\r\n\0]/;

export function byteLength(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

const ELLIPSIS = '\u2026';

/** Grapheme clusters of `text`; a cluster larger than `max` bytes is split into code points. */
function pieces(text: string, max: number): string[] {
  const segmenter = new Intl.Segmenter(undefined, { granularity: 'grapheme' });
  const out: string[] = [];
  for (const { segment } of segmenter.segment(text)) {
    if (byteLength(segment) <= max) out.push(segment);
    else out.push(...Array.from(segment));
  }
  return out;
}

/**
 * The longest prefix of `text` that fits in `maxBytes`, cut at a grapheme boundary, with
 * an ellipsis when something was cut. `text` itself when it fits.
 */
export function cut(text: string, maxBytes: number): string {
  if (byteLength(text) <= maxBytes) return text;
  const room = maxBytes - byteLength(ELLIPSIS);
  if (room <= 0) return '';
  let used = 0;
  let out = '';
  for (const piece of pieces(text, room)) {
    const size = byteLength(piece);
    if (used + size > room) break;
    out += piece;
    used += size;
  }
  return out.trimEnd() + ELLIPSIS;
}

/**
 * Splits `text` into at most `maxLines` chunks of at most `maxBytes` bytes each, breaking
 * at a space when one is in the second half of the chunk, else between graphemes. When
 * the text needs more lines, the last one is cut with an ellipsis.
 */
export function splitBytes(text: string, maxBytes: number, maxLines: number): string[] {
  if (maxBytes < 8) throw new RangeError(`splitBytes: ${maxBytes} bytes per line is too few`);
  const lines: string[] = [];
  let rest = text.trim();
  while (rest.length > 0 && lines.length < maxLines) {
    if (byteLength(rest) <= maxBytes) {
      lines.push(rest);
      rest = '';
      break;
    }
    if (lines.length === maxLines - 1) {
      lines.push(cut(rest, maxBytes));
      rest = '';
      break;
    }
    let used = 0;
    let chunk = '';
    let lastSpace = -1;
    for (const piece of pieces(rest, maxBytes)) {
      const size = byteLength(piece);
      if (used + size > maxBytes) break;
      if (piece === ' ') lastSpace = chunk.length;
      chunk += piece;
      used += size;
    }
    if (lastSpace > 0 && byteLength(chunk.slice(0, lastSpace)) >= maxBytes / 2) chunk = chunk.slice(0, lastSpace);
    lines.push(chunk.trimEnd());
    rest = rest.slice(chunk.length).trimStart();
  }
  return lines;
}
