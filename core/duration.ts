/**
 * Durations in config: a number of seconds, or a string such as `90s`, `5m`, `1h30m`.
 */
import { z } from 'zod';

/**
 * The longest duration a Node.js timer holds (2^31-1 ms, about 24.8 days): a longer
 * `setTimeout` fires after 1 ms, so every duration and delay is checked against it.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;
export const MAX_TIMER_SECONDS = Math.floor(MAX_TIMER_MS / 1000);

/** Why `seconds` cannot be used as a timer, or undefined when it can. */
export function durationProblem(seconds: number): string | undefined {
  if (seconds > MAX_TIMER_SECONDS) return `is longer than ${MAX_TIMER_SECONDS} s (about 24.8 days), the longest a timer holds`;
  return undefined;
}

const UNITS: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400 };

/** Seconds in `value`, or undefined when it is not a duration. */
export function parseDuration(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? value : undefined;
  if (typeof value !== 'string') return undefined;
  const text = value.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text);
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy;
  let total = 0;
  let consumed = 0;
  let match: RegExpExecArray | null;
  while ((match = re.exec(text)) !== null) {
    total += Number(match[1]) * (UNITS[match[2] ?? 's'] ?? 1);
    consumed = re.lastIndex;
  }
  return consumed === text.length && consumed > 0 ? total : undefined;
}

/**
 * A config duration (seconds as a number, or `90s`, `5m`, `1h`), checked to fit a timer;
 * the value is seconds. One schema for every core config section.
 */
export const durationSchema = z.union([z.number(), z.string()]).transform((value, ctx) => {
  const seconds = parseDuration(value);
  if (seconds === undefined) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, message: `not a duration: ${JSON.stringify(value)} (use seconds or 90s, 5m, 1h)` });
    return z.NEVER;
  }
  const problem = durationProblem(seconds);
  if (problem) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, message: `${JSON.stringify(value)} ${problem}` });
    return z.NEVER;
  }
  return seconds;
});
