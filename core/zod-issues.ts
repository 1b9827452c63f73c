/**
 * Turns zod issues into messages that say what is wrong: the expected type or values and
 * what was found ("Invalid input", zod's word for a failed union, never reaches a user).
 */
import type { ZodIssue } from 'zod';

function list(values: readonly unknown[]): string {
  const texts = values.map((v) => JSON.stringify(v));
  return texts.length <= 1 ? (texts[0] ?? '') : `${texts.slice(0, -1).join(', ')} or ${texts[texts.length - 1]}`;
}

function typeName(type: string): string {
  switch (type) {
    case 'object':
      return 'a mapping';
    case 'array':
      return 'a list';
    case 'string':
      return 'a string';
    case 'number':
      return 'a number';
    case 'integer':
      return 'an integer';
    case 'boolean':
      return 'true or false';
    case 'null':
      return 'null';
    default:
      return type;
  }
}

function relative(issue: ZodIssue, base: readonly (string | number)[]): string {
  const rest = issue.path.slice(base.length);
  return rest.length ? `${rest.map((p) => (typeof p === 'number' ? `[${p}]` : p)).join('.').replace(/\.\[/g, '[')}: ` : '';
}

function describeUnion(issue: Extract<ZodIssue, { code: 'invalid_union' }>): string {
  const depth = issue.path.length;
  const expected = new Set<string>();
  let received: string | undefined;
  // A member whose type matched fails deeper or with another code: its problem is the real one.
  const deeper = [];
  for (const member of issue.unionErrors) {
    const first = member.issues[0];
    if (!first) continue;
    if (first.code === 'invalid_type' && first.path.length === depth) {
      expected.add(typeName(first.expected));
      received = first.received;
    } else if (first.code === 'invalid_union' && first.path.length === depth) {
      const inner = describeUnion(first);
      const m = /^expected (.*), got (.*)$/.exec(inner);
      if (m) {
        for (const t of m[1]!.split(' or ')) expected.add(t);
        received = m[2];
      } else deeper.push(first);
    } else deeper.push(first);
  }
  if (deeper.length) return `${relative(deeper[0]!, issue.path)}${describeIssue(deeper[0]!)}`;
  if (expected.size) return `expected ${[...expected].join(' or ')}, got ${received ?? 'something else'}`;
  return 'does not match any of the accepted forms';
}

/** zod's default range message in a user's words: `must be at least 1`, `must not be empty`. */
function bound(issue: Extract<ZodIssue, { code: 'too_small' | 'too_big' }>): string {
  const small = issue.code === 'too_small';
  const limit = Number(small ? issue.minimum : issue.maximum);
  const inclusive = issue.inclusive;
  if (issue.type === 'string' || issue.type === 'array' || issue.type === 'set') {
    const unit = issue.type === 'string' ? 'character' : 'item';
    if (small && limit === 1 && inclusive) return issue.type === 'string' ? 'must not be empty' : 'must list at least one item';
    const n = inclusive ? limit : small ? limit + 1 : limit - 1;
    return `must have ${issue.exact ? 'exactly' : small ? 'at least' : 'at most'} ${n} ${unit}${n === 1 ? '' : 's'}`;
  }
  if (issue.exact) return `must be exactly ${limit}`;
  if (small) return inclusive ? `must be at least ${limit}` : `must be more than ${limit}`;
  return inclusive ? `must be at most ${limit}` : `must be less than ${limit}`;
}

/**
 * The value a problem is about, added to a message that does not show it (a pattern's
 * `not a size such as 2GiB` becomes `not a size such as 2GiB, got "2G"`): `root` is the input the
 * schema validated.
 */
export function withReceived(message: string, issue: ZodIssue, root: unknown): string {
  // not custom issues: their author chose the words (and may have seen a transformed value)
  if (issue.code !== 'invalid_string' && issue.code !== 'too_small' && issue.code !== 'too_big') return message;
  let value: unknown = root;
  for (const key of issue.path) {
    if (value === null || typeof value !== 'object' || !Object.prototype.hasOwnProperty.call(value, key)) return message;
    value = (value as Record<string | number, unknown>)[key];
  }
  if ((typeof value !== 'string' && typeof value !== 'number') || value === '') return message;
  const shown = JSON.stringify(value);
  const shownAlready = typeof value === 'string' ? message.includes(shown) : new RegExp(`(^|[^\\d.])${shown.replace('.', '\\.')}($|[^\\d.])`).test(message);
  if (shown.length > 80 || shownAlready) return message;
  return `${message}, got ${shown}`;
}

/** Whether a schema gave its own message (not zod's default, matched by `fallback`). */
function custom(message: string, fallback: RegExp): boolean {
  return !fallback.test(message);
}

/** A message for one issue (without its path). */
export function describeIssue(issue: ZodIssue, _schema?: unknown): string {
  switch (issue.code) {
    case 'invalid_type':
      if (custom(issue.message, /^(Required|Expected .*, received .*)$/)) return issue.message;
      if (issue.received === 'undefined') return `is required (expected ${typeName(issue.expected)})`;
      return `expected ${typeName(issue.expected)}, got ${issue.received}`;
    case 'invalid_union':
      return describeUnion(issue);
    case 'invalid_enum_value':
      if (custom(issue.message, /^Invalid enum value/)) return `${issue.message}, got ${JSON.stringify(issue.received)}`;
      return `expected one of ${list(issue.options)}, got ${JSON.stringify(issue.received)}`;
    case 'invalid_literal':
      if (custom(issue.message, /^Invalid literal value/)) return issue.message;
      return `expected ${JSON.stringify(issue.expected)}, got ${JSON.stringify(issue.received)}`;
    case 'unrecognized_keys':
      return `unknown option${issue.keys.length === 1 ? '' : 's'} ${issue.keys.join(', ')}`;
    case 'invalid_union_discriminator':
      return `expected one of ${list(issue.options)}`;
    case 'too_small':
    case 'too_big':
      if (custom(issue.message, /^(Number|String|Array|Set|BigInt|Date) must /)) return issue.message;
      return bound(issue);
    default:
      if (issue.message === 'Invalid input' || issue.message === 'Invalid') return `invalid value (${issue.code.replace(/_/g, ' ')})`;
      return issue.message;
  }
}

/** Edit distance (insertions, deletions, substitutions, adjacent swaps), case-insensitive. */
function distance(a: string, b: string): number {
  const s = a.toLowerCase();
  const t = b.toLowerCase();
  const d: number[][] = Array.from({ length: s.length + 1 }, (_, i) => [i, ...Array<number>(t.length).fill(0)]);
  for (let j = 0; j <= t.length; j++) d[0]![j] = j;
  for (let i = 1; i <= s.length; i++) {
    for (let j = 1; j <= t.length; j++) {
      const cost = s[i - 1] === t[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && s[i - 1] === t[j - 2] && s[i - 2] === t[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[s.length]![t.length]!;
}

/** The candidate a mistyped name most likely meant (`comand` → command), if one is close. */
export function closest(word: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(1, Math.floor(word.length / 3)) + 1;
  for (const candidate of candidates) {
    if (candidate === word) continue;
    const d = distance(word, candidate);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

/** ` (did you mean X?)` when a candidate is close to `word`, else nothing. */
export function didYouMean(word: string, candidates: Iterable<string>): string {
  const guess = closest(word, candidates);
  return guess === undefined ? '' : ` (did you mean ${guess}?)`;
}

/** The option names of the object schema at `path` of `schema` (empty when there is none). */
export function optionNames(schema: unknown, path: readonly (string | number)[]): string[] {
  let s = schema as { _def?: Record<string, unknown>; shape?: unknown } | undefined;
  const unwrap = () => {
    for (let i = 0; i < 20 && s?._def; i++) {
      const d = s._def as { typeName?: string; innerType?: unknown; schema?: unknown; in?: unknown; getter?: () => unknown };
      const next = d.innerType ?? d.schema ?? d.in ?? (d.typeName === 'ZodLazy' ? d.getter?.() : undefined);
      if (!next || !['ZodDefault', 'ZodOptional', 'ZodNullable', 'ZodEffects', 'ZodPipeline', 'ZodLazy', 'ZodCatch', 'ZodBranded', 'ZodReadonly'].includes(d.typeName ?? '')) return;
      s = next as typeof s;
    }
  };
  const shapeOf = (): Record<string, unknown> | undefined => {
    unwrap();
    const d = s?._def as { typeName?: string; shape?: () => Record<string, unknown> } | undefined;
    return d?.typeName === 'ZodObject' ? d.shape?.() : undefined;
  };
  for (const key of path) {
    unwrap();
    const d = s?._def as { typeName?: string; valueType?: unknown; type?: unknown } | undefined;
    if (d?.typeName === 'ZodRecord') s = d.valueType as typeof s;
    else if (d?.typeName === 'ZodArray') s = d.type as typeof s;
    else {
      const shape = shapeOf();
      if (!shape || !(String(key) in shape)) return [];
      s = shape[String(key)] as typeof s;
    }
  }
  return Object.keys(shapeOf() ?? {});
}
