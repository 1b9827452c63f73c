/**
 * Proposal files on disk: listing, parsing with errors that name the file and the field,
 * and edits that keep everything else in the file (comments, key order, unknown fields)
 * and replace the file atomically (temp file in the same directory + rename).
 */
import { randomBytes } from 'node:crypto';
import { chmod, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import YAML, { Document, isSeq, Scalar, YAMLMap, YAMLSeq } from 'yaml';
import { TextPatcher } from './patch.js';
import { proposalFileSchema, type ProposalFile } from './schema.js';

/** File names the store reads: `<id>.yaml`, not hidden (temp files are hidden). */
const FILE_RE = /^([A-Za-z0-9][A-Za-z0-9._-]*)\.yaml$/;

export interface ProposalEntry {
  /** File stem, the local id. */
  id: string;
  file: string;
}

export type ReadResult =
  | { ok: true; id: string; file: string; data: ProposalFile; raw: unknown }
  | { ok: false; id: string; file: string; error: string; raw: unknown };

/** The proposal files of `dir`, sorted by id (numeric ids numerically). */
export async function listProposalFiles(dir: string): Promise<ProposalEntry[]> {
  const names = await readdir(dir);
  const entries: ProposalEntry[] = [];
  for (const name of names) {
    const m = FILE_RE.exec(name);
    if (m) entries.push({ id: m[1]!, file: join(dir, name) });
  }
  return entries.sort((a, b) => a.id.localeCompare(b.id, 'en', { numeric: true }));
}

function parseText(text: string): Document.Parsed {
  return YAML.parseDocument(text, { schema: 'failsafe', prettyErrors: true, uniqueKeys: true });
}

function pathText(path: readonly PropertyKey[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i ? '.' : ''}${String(p)}`)).join('') || '(top level)';
}

/** Reads and validates one proposal file; a problem names the file and the field. */
export async function readProposalFile(entry: ProposalEntry): Promise<ReadResult> {
  const { id, file } = entry;
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    return { ok: false, id, file, error: `${file}: cannot read: ${(error as Error).message}`, raw: undefined };
  }
  const doc = parseText(text);
  if (doc.errors.length > 0) {
    const first = doc.errors[0]!;
    const where = first.linePos?.[0] ? `:${first.linePos[0].line}:${first.linePos[0].col}` : '';
    return { ok: false, id, file, error: `${file}${where}: invalid YAML: ${first.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')}`, raw: undefined };
  }
  const raw: unknown = doc.toJS();
  const parsed = proposalFileSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${pathText(issue.path)}: ${issue.message}`);
    return { ok: false, id, file, error: `${file}: ${problems.join('; ')}`, raw };
  }
  if (parsed.data.id !== undefined && parsed.data.id !== id) {
    return { ok: false, id, file, error: `${file}: id: ${JSON.stringify(parsed.data.id)} does not match the file name (${basename(file)})`, raw };
  }
  return { ok: true, id, file, data: parsed.data, raw };
}

/** A string node that reads back as the same string under YAML's core schema too. */
function stringNode(doc: Document, value: string): Scalar {
  const node = doc.createNode(value) as Scalar;
  if (value.includes('\n')) return node;
  let back: unknown;
  try {
    back = YAML.parse(value);
  } catch {
    back = undefined;
  }
  // e.g. "0123" or "true" would read back as a number or a boolean: quote them.
  if (back !== value) node.type = Scalar.QUOTE_DOUBLE;
  return node;
}

/** An edit of a proposal file's document; returns false when nothing needs to change. */
export type Edit = (doc: ProposalDocument) => boolean;

/**
 * The few operations reporting needs. Each is applied to the parsed document (the intended
 * result) and recorded as a text patch of the original file (what is written, so the rest
 * of a hand-written file keeps its bytes).
 */
export class ProposalDocument {
  readonly #patcher: TextPatcher;

  constructor(
    readonly doc: Document.Parsed,
    text: string,
  ) {
    this.#patcher = new TextPatcher(text, parseText(text));
  }

  get(key: string): unknown {
    return this.doc.get(key);
  }

  /** Sets a top-level string field; false when it already had this value. */
  set(key: string, value: string): boolean {
    const current = this.doc.get(key);
    if (typeof current === 'string' && current === value) return false;
    this.doc.set(key, stringNode(this.doc, value));
    this.#patcher.setScalar(key, value);
    return true;
  }

  /** The `comments` entries as plain objects. */
  comments(): Array<Record<string, unknown>> {
    const node = this.doc.get('comments');
    if (!isSeq(node)) return [];
    return (node.toJSON() as unknown[]).filter((c): c is Record<string, unknown> => !!c && typeof c === 'object');
  }

  /** Appends a comment (fields in the given order), in block style. */
  addComment(comment: Record<string, string>): void {
    const map = new YAMLMap<string, Scalar>();
    for (const [k, v] of Object.entries(comment)) map.set(k, stringNode(this.doc, v));
    let seq = this.doc.get('comments');
    if (isSeq(seq)) {
      seq.flow = false;
      seq.add(map);
    } else {
      seq = new YAMLSeq<YAMLMap<string, Scalar>>();
      (seq as YAMLSeq).add(map);
      this.doc.set('comments', seq);
    }
    const all = seq as YAMLSeq;
    const block = (items: unknown[]) => {
      const s = new YAMLSeq();
      s.items = items;
      return new Document(s).toString({ lineWidth: 0, flowCollectionPadding: false });
    };
    this.#patcher.appendItem('comments', block([map]), () => block(all.items));
  }

  /** The new file text: the patched original when it means exactly the intended data. */
  render(): string {
    const intended: unknown = this.doc.toJS();
    const patched = this.#patcher.result();
    if (patched !== undefined) {
      const check = parseText(patched);
      if (check.errors.length === 0 && isDeepStrictEqual(check.toJS(), intended)) return patched;
    }
    return this.doc.toString({ lineWidth: 0, flowCollectionPadding: false });
  }
}

/**
 * Re-reads `file`, applies `edit`, and replaces the file atomically when the edit changed
 * something. Returns whether the file was written.
 */
export async function editProposalFile(file: string, edit: Edit): Promise<boolean> {
  const text = await readFile(file, 'utf8');
  const doc = parseText(text);
  if (doc.errors.length > 0) throw new Error(`${file}: invalid YAML, not edited: ${doc.errors[0]!.message.split('\n')[0]}`);
  const proposal = new ProposalDocument(doc, text);
  if (!edit(proposal)) return false;
  await writeAtomically(file, proposal.render());
  return true;
}

/** Writes `text` to a hidden temp file beside `file` (same mode), then renames it over `file`. */
export async function writeAtomically(file: string, text: string): Promise<void> {
  const dir = join(file, '..');
  const tmp = join(dir, `.${basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const mode = await stat(file).then((s) => s.mode & 0o777, () => 0o644);
  try {
    await writeFile(tmp, text, { flag: 'wx', mode });
    await chmod(tmp, mode);
    await rename(tmp, file);
  } catch (error) {
    await rm(tmp, { force: true });
    throw error;
  }
}
