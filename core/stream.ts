/**
 * Output handling shared by the container backends: split a byte stream into lines,
 * keep the tail for rejection comments, and kill a run that is silent or too long.
 */

/** Splits chunks into lines (LF or CRLF); a partial line waits for the next chunk. */
export class LineSplitter {
  #pending = '';
  #decoder = new TextDecoder('utf-8');
  readonly #onLine: (line: string) => void;
  /** Lines longer than this are emitted in pieces (a binary blob must not eat memory). */
  readonly #maxLine: number;

  constructor(onLine: (line: string) => void, maxLine = 64 * 1024) {
    this.#onLine = onLine;
    this.#maxLine = maxLine;
  }

  push(chunk: Uint8Array | string): void {
    this.#pending += typeof chunk === 'string' ? chunk : this.#decoder.decode(chunk, { stream: true });
    let index: number;
    while ((index = this.#pending.indexOf('\n')) !== -1) {
      const line = this.#pending.slice(0, index);
      this.#pending = this.#pending.slice(index + 1);
      this.#onLine(line.endsWith('\r') ? line.slice(0, -1) : line);
    }
    while (this.#pending.length > this.#maxLine) {
      this.#onLine(this.#pending.slice(0, this.#maxLine));
      this.#pending = this.#pending.slice(this.#maxLine);
    }
  }

  /** Emits what is left (a last line without newline). */
  end(): void {
    this.#pending += this.#decoder.decode();
    if (this.#pending.length > 0) {
      const line = this.#pending;
      this.#pending = '';
      this.#onLine(line.endsWith('\r') ? line.slice(0, -1) : line);
    }
  }
}

/** Keeps the last `maxLines` lines, at most `maxBytes` characters in all. */
export class TailBuffer {
  #lines: string[] = [];
  #size = 0;
  #dropped = 0;

  constructor(
    readonly maxLines = 60,
    readonly maxBytes = 8 * 1024,
  ) {}

  push(line: string): void {
    this.#lines.push(line);
    this.#size += line.length + 1;
    while (this.#lines.length > this.maxLines || (this.#size > this.maxBytes && this.#lines.length > 1)) {
      const removed = this.#lines.shift() ?? '';
      this.#size -= removed.length + 1;
      this.#dropped += 1;
    }
  }

  /** The kept lines joined by newlines; a single over-long line is cut from the left. */
  text(): string {
    const text = this.#lines.join('\n');
    return text.length > this.maxBytes ? '…' + text.slice(text.length - this.maxBytes + 1) : text;
  }

  get dropped(): number {
    return this.#dropped;
  }
}

export type TimeoutKind = 'total' | 'no-output';

export interface WatchdogOptions {
  /** Seconds for the whole run; 0 = none. */
  totalSeconds: number;
  /** Seconds without output; 0 = none. */
  noOutputSeconds: number;
  /** Called once, with the kind of timeout that fired. */
  onTimeout: (kind: TimeoutKind) => void;
}

/**
 * Fires `onTimeout` when the run lasts too long or stays silent too long.
 * Call `touch()` on every output line and `stop()` when the run ends.
 */
export class Watchdog {
  #total: NodeJS.Timeout | undefined;
  #silent: NodeJS.Timeout | undefined;
  #fired: TimeoutKind | undefined;
  readonly #options: WatchdogOptions;

  constructor(options: WatchdogOptions) {
    this.#options = options;
    if (options.totalSeconds > 0) {
      this.#total = setTimeout(() => this.#fire('total'), options.totalSeconds * 1000);
    }
    this.touch();
  }

  /** Which timeout fired, if any. */
  get fired(): TimeoutKind | undefined {
    return this.#fired;
  }

  touch(): void {
    if (this.#fired || this.#options.noOutputSeconds <= 0) return;
    if (this.#silent) this.#silent.refresh();
    else this.#silent = setTimeout(() => this.#fire('no-output'), this.#options.noOutputSeconds * 1000);
  }

  stop(): void {
    clearTimeout(this.#total);
    clearTimeout(this.#silent);
  }

  #fire(kind: TimeoutKind): void {
    if (this.#fired) return;
    this.#fired = kind;
    this.stop();
    this.#options.onTimeout(kind);
  }
}
