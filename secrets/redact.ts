/**
 * The redaction registry: every secret value handed to a plugin is registered here, and
 * every output (console, --json, error messages, comments, IRC lines, artefacts) passes
 * through `redact()` before it leaves the process.
 *
 * Each value is masked in its plain, URL-encoded and base64 forms.
 */

const MASK = '[REDACTED]';
/** Values shorter than this are not masked: they would mangle ordinary text. */
const MIN_LENGTH = 4;

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function formsOf(value: string): string[] {
  const forms = new Set<string>([value]);
  forms.add(encodeURIComponent(value));
  const b64 = Buffer.from(value, 'utf8').toString('base64');
  forms.add(b64);
  forms.add(b64.replace(/=+$/, ''));
  forms.add(Buffer.from(value, 'utf8').toString('base64url'));
  // Multi-line values (keys) also leak line by line: mask every substantial line.
  for (const line of value.split(/\r?\n/)) {
    if (line.trim().length >= 16) forms.add(line.trim());
  }
  return [...forms].filter((f) => f.length >= MIN_LENGTH);
}

export class Redactor {
  #forms = new Set<string>();
  #pattern: RegExp | undefined;

  /** Registers a secret value; all its forms are masked from now on. */
  add(value: string | undefined | null): void {
    if (!value || value.length < MIN_LENGTH) return;
    for (const f of formsOf(value)) this.#forms.add(f);
    // Longest first so that a value is masked whole before any of its parts.
    const sorted = [...this.#forms].sort((a, b) => b.length - a.length);
    this.#pattern = new RegExp(sorted.map(escapeRegExp).join('|'), 'g');
  }

  get size(): number {
    return this.#forms.size;
  }

  /** Returns `text` with every registered secret form replaced by a mask. */
  redact(text: string): string {
    if (!this.#pattern || text.length === 0) return text;
    return text.replace(this.#pattern, MASK);
  }

  /** Redacts every string inside a JSON-like value (for --json output). */
  redactValue<T>(value: T): T {
    if (typeof value === 'string') return this.redact(value) as T;
    if (Array.isArray(value)) return value.map((v) => this.redactValue(v)) as T;
    if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) out[k] = this.redactValue(v);
      return out as T;
    }
    return value;
  }
}

export const REDACTION_MASK = MASK;
