/**
 * Message templates: `${field}` (or `{field}`) placeholders, and `[[...]]` groups dropped
 * when a field inside them is empty (e.g. `[[ ${buildUrl}]]` outside Jenkins). Field
 * values are sanitised before they are put in; the template is the operator's.
 *
 * In byoci.yaml write `${field}`: the config loader expands `{option}` references itself
 * and leaves `${...}` alone.
 */
import { byteLength, cut, sanitize } from './sanitize.js';

export const FIELDS = ['project', 'proposal', 'title', 'url', 'reason', 'revision', 'buildUrl', 'code', 'output'] as const;
export type Field = (typeof FIELDS)[number];
export type Fields = Partial<Record<Field, string>>;

/** Fields shortened (in this order) when a rendered line is too long; the rest stay whole. */
const SHRINKABLE: readonly Field[] = ['output', 'reason', 'title', 'proposal'];

const PLACEHOLDER = /\$?\{(\w*)\}/g;
const GROUP = /\[\[([\s\S]*?)\]\]/g;

/** Problems of a template (unknown fields, unbalanced groups), for the config schema. */
export function templateProblems(template: string): string[] {
  const problems: string[] = [];
  for (const match of template.matchAll(PLACEHOLDER)) {
    const name = match[1] ?? '';
    if (!(FIELDS as readonly string[]).includes(name)) {
      problems.push(`unknown field {${name}} (known: ${FIELDS.map((f) => `{${f}}`).join(' ')})`);
    }
  }
  const withoutGroups = template.replace(GROUP, '');
  if (withoutGroups.includes('[[') || withoutGroups.includes(']]')) problems.push('unbalanced [[ ]] group');
  return problems;
}

function fill(template: string, fields: Fields): string {
  const withGroups = template.replace(GROUP, (_whole, inner: string) => {
    for (const match of inner.matchAll(PLACEHOLDER)) {
      if (!fields[match[1] as Field]) return '';
    }
    return inner;
  });
  return withGroups.replace(PLACEHOLDER, (_whole, name: string) => fields[name as Field] ?? '');
}

/**
 * Renders `template` into one line of at most `maxBytes` bytes. Every field value is
 * sanitised (`clean`, e.g. redaction, is applied first); when the line is too long the
 * longest shrinkable fields (output, reason, title) are cut with an ellipsis, so URLs and
 * the template's own text survive; the whole line is cut as a last resort.
 */
export function renderLine(template: string, raw: Fields, maxBytes: number, clean: (s: string) => string = (s) => s): string {
  const fields: Fields = {};
  for (const name of FIELDS) {
    const value = raw[name];
    if (value !== undefined) fields[name] = sanitize(clean(value));
  }
  let line = fill(template, fields);
  for (const name of SHRINKABLE) {
    const excess = byteLength(line) - maxBytes;
    if (excess <= 0) break;
    const value = fields[name];
    if (!value) continue;
    const keep = Math.max(0, byteLength(value) - excess);
    fields[name] = keep > 8 ? cut(value, keep) : '\u2026';
    line = fill(template, fields);
  }
  return cut(line, maxBytes);
}
