/**
 * Proposal files on disk: listing, parsing with errors that name the file and the field,
 * and edits that keep everything else in the file (comments, key order, unknown fields)
 * and replace the file atomically (temp file in the same directory + rename).
 */
import { randomBytes } from 'node:crypto';
import { chmod, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import YAML, { Document, isAlias, isCollection, isNode, isScalar, isSeq, Scalar, visit, YAMLMap, YAMLSeq } from 'yaml';
import { ESCAPED_BYTE, FILE_LIMITS, decodeLossless, describeIssue, encodeLossless, lineOf, parseYaml, readRegularFile } from '../../core/index.js';
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
  return YAML.parseDocument(text, { schema: 'failsafe', prettyErrors: true, uniqueKeys: false });
}

/** Fields that go into the Proposal: bytes that are not UTF-8 there make the file invalid. */
const READ_FIELDS = ['id', 'title', 'url', 'vcs', 'source', 'target', 'approved_revision', 'approved_testament', 'status', 'commit_message', 'votes'] as const;

/** The first field the bot reads that holds bytes that are not UTF-8. */
function notUtf8Field(raw: Record<string, unknown>): string | undefined {
  const fields: string[] = [...READ_FIELDS];
  const message = raw.commit_message;
  if (typeof message !== 'string' || message.trim() === '') fields.push('description');
  const bad = (value: unknown): boolean =>
    typeof value === 'string' ? ESCAPED_BYTE.test(value) : Array.isArray(value) ? value.some(bad) : value !== null && typeof value === 'object' ? Object.values(value).some(bad) : false;
  return fields.find((f) => bad(raw[f]));
}

function pathText(path: readonly PropertyKey[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i ? '.' : ''}${String(p)}`)).join('') || '(top level)';
}

/** Reads and validates one proposal file; a problem names the file and the field (and line). */
export async function readProposalFile(entry: ProposalEntry): Promise<ReadResult> {
  const { id, file } = entry;
  let text: string;
  try {
    text = decodeLossless(await readRegularFile(file, FILE_LIMITS.proposal));
  } catch (error) {
    return { ok: false, id, file, error: (error as Error).message, raw: undefined };
  }
  const parsed = parseYaml(text, { schema: 'failsafe' });
  if (parsed.problems.length > 0) {
    const first = parsed.problems[0]!;
    const where = first.line ? `:${first.line}${first.column ? `:${first.column}` : ''}` : '';
    return { ok: false, id, file, error: `${file}${where}: invalid YAML: ${first.message}`, raw: undefined };
  }
  const raw: unknown = parsed.value;
  if (raw === null || raw === undefined) return { ok: false, id, file, error: `${file}: the file is empty`, raw };
  const data = proposalFileSchema.safeParse(raw);
  if (!data.success) {
    const problems = data.error.issues.map((issue) => `${pathText(issue.path)}: ${describeIssue(issue)}`);
    return { ok: false, id, file, error: `${file}: ${problems.join('; ')}`, raw };
  }
  const badField = notUtf8Field(raw as Record<string, unknown>);
  if (badField) {
    const match = ESCAPED_BYTE.exec(text);
    const line = match ? `:${lineOf(text, match.index).line}` : '';
    return { ok: false, id, file, error: `${file}${line}: ${badField}: not UTF-8 text: save the file as UTF-8`, raw };
  }
  if (data.data.id !== undefined && data.data.id !== id) {
    return { ok: false, id, file, error: `${file}: id: ${JSON.stringify(data.data.id)} does not match the file name (${basename(file)})`, raw };
  }
  return { ok: true, id, file, data: data.data, raw };
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
  readonly #text: string;
  /** Why the edit cannot be written without changing bytes the bot does not own. */
  #unfaithful: string | undefined;

  constructor(
    readonly doc: Document.Parsed,
    text: string,
  ) {
    this.#text = text;
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
    let node = this.doc.get('comments');
    if (isAlias(node)) node = node.resolve(this.doc);
    if (!isSeq(node)) return [];
    return (node.toJSON() as unknown[]).filter((c): c is Record<string, unknown> => !!c && typeof c === 'object');
  }

  /** Appends a comment (fields in the given order), in block style. */
  addComment(comment: Record<string, string>): void {
    const map = new YAMLMap<string, Scalar>();
    for (const [k, v] of Object.entries(comment)) map.set(k, stringNode(this.doc, v));
    let seq = this.doc.get('comments');
    if (isAlias(seq) || (isSeq(seq) && seq.anchor)) {
      this.#unfaithful = 'its comments list is a YAML alias or anchor, shared with another field';
      return;
    }
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

  /**
   * The new file text: the patched original when it means exactly the intended data; a
   * re-render only when it loses nothing (no comments, anchors, aliases, tags or bytes that
   * are not UTF-8 in the file). Otherwise throws, and the file stays as it was.
   */
  render(): string {
    if (this.#unfaithful) throw new UnfaithfulEditError(this.#unfaithful);
    const intended: unknown = this.doc.toJS();
    const patched = this.#patcher.result();
    if (patched !== undefined) {
      const check = parseText(patched);
      if (check.errors.length === 0 && isDeepStrictEqual(check.toJS(), intended)) return patched;
    }
    const loses = /(^|\s)#/.test(this.#text)
      ? 'comments'
      : hasAnchorsOrTags(parseText(this.#text))
        ? 'anchors, aliases or tags'
        : ESCAPED_BYTE.test(this.#text)
          ? 'bytes that are not UTF-8'
          : undefined;
    if (loses) throw new UnfaithfulEditError(`its layout cannot be patched and a rewrite would lose its ${loses}`);
    return this.doc.toString({ lineWidth: 0, flowCollectionPadding: false });
  }
}

function hasAnchorsOrTags(doc: Document.Parsed): boolean {
  let found = false;
  visit(doc, (_, node) => {
    if (isAlias(node)) found = true;
    else if (isNode(node) && (node.anchor || (isScalar(node) || isCollection(node)) && /^!/.test(node.tag ?? '') )) found = true;
    return found ? visit.BREAK : undefined;
  });
  return found;
}

/** An edit that would change bytes the bot does not own; the file is left as it was. */
export class UnfaithfulEditError extends Error {
  override readonly name = 'UnfaithfulEditError';
}

/**
 * Re-reads `file`, applies `edit`, and replaces the file atomically when the edit changed
 * something. Returns whether the file was written.
 */
export async function editProposalFile(file: string, edit: Edit): Promise<boolean> {
  const text = decodeLossless(await readRegularFile(file, FILE_LIMITS.proposal));
  const parsed = parseYaml(text, { schema: 'failsafe' });
  if (parsed.problems.length > 0) throw new Error(`${file}: invalid YAML, not edited: ${parsed.problems[0]!.message}`);
  const proposal = new ProposalDocument(parsed.doc, text);
  if (!edit(proposal)) return false;
  let rendered: string;
  try {
    rendered = proposal.render();
  } catch (error) {
    if (error instanceof UnfaithfulEditError) throw new UnfaithfulEditError(`${file} was left as it was: ${error.message}`);
    throw error;
  }
  await writeAtomically(file, encodeLossless(rendered));
  return true;
}

/** Writes `text` to a hidden temp file beside `file` (same mode), then renames it over `file`. */
export async function writeAtomically(file: string, text: string | Uint8Array): Promise<void> {
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
