/**
 * The redaction registry: every secret value handed to a plugin is registered here, and
 * every output (console, --json, error messages, comments, IRC lines, artefacts) passes
 * through `redact()` before it leaves the process.
 *
 * Each value is masked in every form it commonly takes on the way out:
 * - plain, and without its trailing newline (a key file read as is);
 * - URL-encoded (`encodeURIComponent`) and form-encoded (spaces as `+`);
 * - JSON-escaped (a multi-line key inside a JSON string: `\n`, `\"`);
 * - base64 and base64url, padded or not, and embedded in a longer base64 text at any
 *   alignment (`Basic base64(user:token)`): the part of the encoding that depends only on
 *   the value is masked;
 * - every substantial line of a multi-line value (keys leak line by line).
 *
 * Values shorter than MIN_LENGTH are not registered: they would mangle ordinary text.
 */
import { Transform } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';

const MASK = '[REDACTED]';
/** Values shorter than this are not masked: they would mangle ordinary text. */
const MIN_LENGTH = 4;
/** Shortest base64 fragment (of a value embedded at an offset) worth masking. */
const MIN_FRAGMENT = 8;

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Base64 of `value` as it appears inside the base64 of a longer text in which it starts
 * at byte offset k (mod 3): drop the characters that also depend on neighbouring bytes.
 */
function embeddedBase64(bytes: Buffer, url: boolean): string[] {
  const out: string[] = [];
  for (let k = 1; k <= 2; k++) {
    const padded = Buffer.concat([Buffer.alloc(k), bytes]);
    const encoded = padded.toString(url ? 'base64url' : 'base64').replace(/=+$/, '');
    const head = 4; // the first group mixes k unknown bytes with the value's first bytes
    const total = k + bytes.length;
    const fullGroups = Math.floor(total / 3);
    const core = encoded.slice(head, fullGroups * 4);
    if (core.length >= MIN_FRAGMENT) out.push(core);
  }
  // At offset 0 the value's encoding is exact up to its last full group.
  const exact = bytes.toString(url ? 'base64url' : 'base64');
  const full = exact.slice(0, Math.floor(bytes.length / 3) * 4);
  if (full.length >= MIN_FRAGMENT) out.push(full);
  return out;
}

function formsOf(value: string): string[] {
  const forms = new Set<string>();
  const variants = new Set([value, value.replace(/(\r?\n)+$/, ''), value.trim()]);
  for (const v of variants) {
    if (v.length < MIN_LENGTH) continue;
    forms.add(v);
    forms.add(encodeURIComponent(v));
    forms.add(encodeURIComponent(v).replace(/%20/g, '+'));
    forms.add(JSON.stringify(v).slice(1, -1));
    const bytes = Buffer.from(v, 'utf8');
    const b64 = bytes.toString('base64');
    forms.add(b64);
    forms.add(b64.replace(/=+$/, ''));
    forms.add(bytes.toString('base64url'));
    for (const f of embeddedBase64(bytes, false)) forms.add(f);
    for (const f of embeddedBase64(bytes, true)) forms.add(f);
  }
  // Multi-line values (keys) also leak line by line: mask every substantial line, and the
  // value of every `key = value` / `key: value` line (a launchpadlib credentials file's
  // access_token and access_secret are secrets on their own).
  for (const line of value.split(/\r?\n/)) {
    if (line.trim().length >= 16) forms.add(line.trim());
    const field = /^\s*[\w.-]+\s*[=:]\s*(\S.*?)\s*$/.exec(line);
    if (value.includes('\n') && field?.[1] && field[1].length >= 8) {
      forms.add(field[1]);
      forms.add(encodeURIComponent(field[1]));
    }
  }
  return [...forms].filter((f) => f.length >= MIN_LENGTH);
}

export class Redactor {
  #forms = new Set<string>();
  #values = new Set<string>();
  #pattern: RegExp | undefined;
  #longest = 0;

  /** Registers a secret value; all its forms are masked from now on. */
  add(value: string | undefined | null): void {
    if (!value || value.length < MIN_LENGTH || this.#values.has(value)) return;
    this.#values.add(value);
    for (const f of formsOf(value)) this.#forms.add(f);
    // Longest first so that a value is masked whole before any of its parts.
    const sorted = [...this.#forms].sort((a, b) => b.length - a.length);
    this.#longest = sorted[0]?.length ?? 0;
    this.#pattern = new RegExp(sorted.map(escapeRegExp).join('|'), 'g');
  }

  /** Number of registered values. */
  get size(): number {
    return this.#values.size;
  }

  /** Length of the longest masked form (what a stream must hold back between chunks). */
  get longestForm(): number {
    return this.#longest;
  }

  /** Returns `text` with every registered secret form replaced by a mask. */
  redact(text: string): string {
    if (!this.#pattern || text.length === 0) return text;
    return text.replace(this.#pattern, MASK);
  }

  /** True when `text` contains any registered form (for tests and assertions). */
  leaks(text: string): boolean {
    if (!this.#pattern) return false;
    this.#pattern.lastIndex = 0;
    const found = this.#pattern.test(text);
    this.#pattern.lastIndex = 0;
    return found;
  }

  /**
   * Redacts every string inside a JSON-like value (for --json output): plain objects,
   * arrays, and Errors (turned into `{name, message}`); object keys too.
   */
  redactValue<T>(value: T): T {
    if (typeof value === 'string') return this.redact(value) as T;
    if (Array.isArray(value)) return value.map((v) => this.redactValue(v)) as T;
    if (value instanceof Error) return { name: value.name, message: this.redact(value.message) } as T;
    if (value && typeof value === 'object') {
      const proto = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) return value;
      // fromEntries defines each key, `__proto__` (an own key of parsed JSON) too; assigned, it would set the prototype.
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [this.redact(k), this.redactValue(v)])) as T;
    }
    return value;
  }
}

/**
 * A stream that redacts text passing through it (test output, artefacts copied back).
 * Works line by line so a secret split across chunks is still caught; a line longer than
 * `maxLine` is passed on in pieces, holding back enough to catch a secret at the cut.
 */
/** What a redacting stream needs: a Redactor, or a plugin's `{ redact: api.redact }`. */
export interface TextRedactor {
  redact(text: string): string;
  /** Longest masked form; unknown (a plain function) means DEFAULT_HOLD_BACK characters. */
  readonly longestForm?: number;
}

const DEFAULT_HOLD_BACK = 64 * 1024;

export function createRedactingTransform(redactor: TextRedactor, options: { maxLine?: number } = {}): Transform {
  const maxLine = options.maxLine ?? 1 << 20;
  const decoder = new StringDecoder('utf8');
  let pending = '';
  return new Transform({
    decodeStrings: false,
    transform(chunk: Buffer | string, _encoding: BufferEncoding, done: (error?: Error | null, data?: string) => void) {
      pending += typeof chunk === 'string' ? chunk : decoder.write(chunk);
      const cut = pending.lastIndexOf('\n');
      let out = '';
      if (cut >= 0) {
        out = redactor.redact(pending.slice(0, cut + 1));
        pending = pending.slice(cut + 1);
      }
      if (pending.length > maxLine) {
        // Redact with the tail included, then emit up to where a form could still start.
        const keep = Math.max((redactor.longestForm ?? DEFAULT_HOLD_BACK) - 1, 0);
        const safe = pending.length - keep;
        const redacted = redactor.redact(pending);
        if (redacted === pending) {
          out += pending.slice(0, safe);
          pending = pending.slice(safe);
        } else {
          out += redacted;
          pending = '';
        }
      }
      done(null, out);
    },
    flush(done) {
      done(null, redactor.redact(pending + decoder.end()));
    },
  });
}

export const REDACTION_MASK = MASK;
