/**
 * Line-oriented logger for the Jenkins console (not a TTY): one line per event,
 * `<ISO time> <LEVEL> [<scope>] <message> key=value...`, or one JSON object per line
 * with `--json`. Every line goes through the run's Redactor.
 *
 * Messages are static text; variable data goes in fields.
 */
import type { Redactor } from '../secrets/redact.js';

export type Level = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export type Fields = Record<string, unknown>;

export interface Logger {
  debug(message: string, fields?: Fields): void;
  info(message: string, fields?: Fields): void;
  warn(message: string, fields?: Fields): void;
  error(message: string, fields?: Fields): void;
  /** A logger whose lines carry `scope` (a plugin name, a proposal id...). */
  child(scope: string): Logger;
}

export interface LoggerOptions {
  json?: boolean;
  level?: Level;
  redactor?: Redactor;
  /** Where lines go; defaults to stderr so stdout stays for command output. */
  write?: (line: string) => void;
  now?: () => Date;
}

/** Printable form of a field value: strings are quoted only when they need to be. */
function formatValue(value: unknown): string {
  if (value instanceof Error) return JSON.stringify(value.message);
  if (typeof value === 'string') return /^[\w./:@+-]+$/.test(value) ? value : JSON.stringify(value);
  if (value === undefined) return 'undefined';
  return JSON.stringify(value) ?? String(value);
}

/** Control characters (but tab) would let untrusted text forge log lines. */
function oneLine(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\r?\n/g, '\\n').replace(/[\x00-\x08\x0b-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const min = ORDER[options.level ?? 'info'];
  const write = options.write ?? ((line: string) => process.stderr.write(line + '\n'));
  const now = options.now ?? (() => new Date());
  const redact = (s: string) => (options.redactor ? options.redactor.redact(s) : s);

  function make(scope: string | undefined): Logger {
    function emit(level: Level, message: string, fields: Fields = {}): void {
      if (ORDER[level] < min) return;
      const time = now().toISOString();
      if (options.json) {
        const record: Fields = { time, level, ...(scope ? { scope } : {}), msg: message };
        for (const [k, v] of Object.entries(fields)) record[k] = v instanceof Error ? v.message : v;
        write(redact(JSON.stringify(options.redactor ? options.redactor.redactValue(record) : record)));
        return;
      }
      const parts = [time, level.toUpperCase().padEnd(5), scope ? `[${scope}]` : undefined, message];
      for (const [k, v] of Object.entries(fields)) parts.push(`${k}=${formatValue(v)}`);
      write(redact(oneLine(parts.filter((p) => p !== undefined).join(' '))));
    }
    return {
      debug: (m, f) => emit('debug', m, f),
      info: (m, f) => emit('info', m, f),
      warn: (m, f) => emit('warn', m, f),
      error: (m, f) => emit('error', m, f),
      child: (s) => make(scope ? `${scope}/${s}` : s),
    };
  }
  return make(undefined);
}

/** A logger that drops everything (for library use and tests that do not look). */
export function silentLogger(): Logger {
  return createLogger({ write: () => {} });
}
