/**
 * Minimal text edits of a YAML file: the few changes the bot makes (a top-level scalar,
 * an item appended to a top-level sequence) become patches of the original text, so
 * every other byte of a hand-written file stays as it was (spacing, comments, style).
 * The caller checks the patched text against the intended data and falls back to a full
 * re-render when a layout is too unusual to patch.
 */
import YAML, { isMap, isScalar, isSeq, type Document, type Pair, type Scalar } from 'yaml';

interface Patch {
  start: number;
  end: number;
  text: string;
}

/** A single-line string as YAML: plain when it reads back as itself, else double-quoted. */
export function renderScalar(value: string): string {
  if (value.includes('\n')) return JSON.stringify(value);
  let back: unknown;
  try {
    back = YAML.parse(value);
  } catch {
    back = undefined;
  }
  return back === value && value.trim() === value && value !== '' ? value : JSON.stringify(value);
}

function indentLines(text: string, indent: string): string {
  return text
    .split('\n')
    .map((line) => (line.length ? indent + line : line))
    .join('\n');
}

export class TextPatcher {
  #patches: Patch[] = [];
  #failed = false;
  #touched = new Set<string>();

  constructor(
    readonly text: string,
    readonly doc: Document.Parsed,
  ) {
    if (!isMap(doc.contents) || doc.contents.flow) this.#failed = true;
  }

  #pair(key: string): Pair | undefined {
    const map = this.doc.contents;
    if (!isMap(map)) return undefined;
    return map.items.find((p) => isScalar(p.key) && (p.key as Scalar).value === key);
  }

  #claim(key: string): boolean {
    if (this.#touched.has(key)) this.#failed = true;
    this.#touched.add(key);
    return !this.#failed;
  }

  #append(block: string): void {
    const end = this.text.length;
    const sep = end === 0 || this.text.endsWith('\n') ? '' : '\n';
    this.#patches.push({ start: end, end, text: sep + block });
  }

  /** `key: value` at the top level (replaced in place, or appended). */
  setScalar(key: string, value: string): void {
    if (!this.#claim(key)) return;
    const pair = this.#pair(key);
    const rendered = renderScalar(value);
    if (!pair) return this.#append(`${key}: ${rendered}\n`);
    const node = pair.value;
    if (isScalar(node) && node.range) {
      const [start, end] = node.range;
      if (start === end) {
        this.#patches.push({ start, end, text: this.text[start - 1] === ':' ? ` ${rendered}` : rendered });
      } else {
        this.#patches.push({ start, end, text: rendered });
      }
      return;
    }
    if (node === null || node === undefined) {
      const keyEnd = (pair.key as Scalar).range?.[1];
      const colon = keyEnd === undefined ? -1 : this.text.indexOf(':', keyEnd);
      if (colon < 0) return void (this.#failed = true);
      this.#patches.push({ start: colon + 1, end: colon + 1, text: ` ${rendered}` });
      return;
    }
    this.#failed = true;
  }

  /**
   * Appends `item` (YAML of one sequence item, starting with `- `, at indent 0) to the
   * top-level sequence `key`, creating it when absent. `allItems` re-renders a flow sequence.
   */
  appendItem(key: string, item: string, allItems: () => string): void {
    if (!this.#claim(key)) return;
    const pair = this.#pair(key);
    if (!pair) return this.#append(`${key}:\n${indentLines(item, '  ')}`);
    const node = pair.value;
    if (isSeq(node) && node.range) {
      if (node.flow) {
        const [start, end] = node.range;
        this.#patches.push({ start: this.#backOverSpaces(start), end, text: `\n${indentLines(allItems(), '  ').replace(/\n$/, '')}` });
        return;
      }
      const start = node.range[0];
      const lineStart = this.text.lastIndexOf('\n', start - 1) + 1;
      const indent = this.text.slice(lineStart, start);
      if (!/^ *$/.test(indent)) return void (this.#failed = true);
      let at = node.range[1];
      if (at > 0 && this.text[at - 1] !== '\n') {
        const nl = this.text.indexOf('\n', at);
        at = nl < 0 ? this.text.length : nl + 1;
      }
      const sep = at === this.text.length && !this.text.endsWith('\n') ? '\n' : '';
      this.#patches.push({ start: at, end: at, text: sep + indentLines(item, indent) });
      return;
    }
    if (isScalar(node) && node.range && node.range[0] === node.range[1]) {
      this.#patches.push({ start: this.#backOverSpaces(node.range[0]), end: node.range[1], text: `\n${indentLines(item, '  ').replace(/\n$/, '')}` });
      return;
    }
    this.#failed = true;
  }

  /** Start of the run of spaces before `at` (so a replaced value leaves no trailing blank). */
  #backOverSpaces(at: number): number {
    let s = at;
    while (s > 0 && this.text[s - 1] === ' ') s--;
    return s;
  }

  /** The patched text, or undefined when some edit could not be expressed as a patch. */
  result(): string | undefined {
    if (this.#failed) return undefined;
    const patches = [...this.#patches].sort((a, b) => b.start - a.start);
    for (let i = 1; i < patches.length; i++) if (patches[i]!.end > patches[i - 1]!.start) return undefined;
    let out = this.text;
    for (const p of patches) out = out.slice(0, p.start) + p.text + out.slice(p.end);
    return out;
  }
}
