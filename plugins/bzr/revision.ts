/**
 * Reading one revision's metadata exactly: `brz cat-revision` prints the stored record,
 * which for every current repository format (2a and later) is bencode: structured data
 * with byte-counted strings, so neither a commit message nor an author name can forge a
 * field. Older formats print XML; those fall back to `brz log --long`.
 */
import { brz, lastLine, type BrzEnv } from './brz.js';

export interface RevisionMeta {
  committer: string;
  /** The authors recorded on the revision (the `authors` property), else the committer. */
  authors: string[];
  message: string;
  parents: string[];
}

type Bencoded = Buffer | number | Bencoded[] | Map<string, Bencoded>;

/** Decodes one bencoded value (strings stay bytes: revision texts are UTF-8). */
export function bdecode(data: Buffer): Bencoded {
  let pos = 0;
  function value(): Bencoded {
    const c = data[pos];
    if (c === undefined) throw new Error('bencode: truncated');
    if (c === 0x69 /* i */) {
      const end = data.indexOf(0x65, pos);
      if (end < 0) throw new Error('bencode: unterminated integer');
      const n = Number(data.subarray(pos + 1, end).toString('ascii'));
      pos = end + 1;
      return n;
    }
    if (c === 0x6c /* l */) {
      pos += 1;
      const list: Bencoded[] = [];
      while (data[pos] !== 0x65) list.push(value());
      pos += 1;
      return list;
    }
    if (c === 0x64 /* d */) {
      pos += 1;
      const map = new Map<string, Bencoded>();
      while (data[pos] !== 0x65) {
        const key = value();
        if (!Buffer.isBuffer(key)) throw new Error('bencode: dictionary key is not a string');
        map.set(key.toString('utf8'), value());
      }
      pos += 1;
      return map;
    }
    const colon = data.indexOf(0x3a, pos);
    if (colon < 0 || !/^\d+$/.test(data.subarray(pos, colon).toString('ascii'))) throw new Error('bencode: bad string length');
    const length = Number(data.subarray(pos, colon).toString('ascii'));
    const start = colon + 1;
    if (start + length > data.length) throw new Error('bencode: truncated string');
    pos = start + length;
    return data.subarray(start, start + length);
  }
  const out = value();
  if (pos !== data.length) throw new Error('bencode: trailing data');
  return out;
}

function text(v: Bencoded | undefined): string | undefined {
  return Buffer.isBuffer(v) ? v.toString('utf8') : undefined;
}

/** The fields of a bencoded revision record (a list of `[name, value]` pairs). */
export function parseRevisionRecord(data: Buffer): RevisionMeta {
  const record = bdecode(data);
  if (!Array.isArray(record)) throw new Error('revision record is not a list');
  const fields = new Map<string, Bencoded>();
  for (const pair of record) {
    if (Array.isArray(pair) && pair.length === 2 && Buffer.isBuffer(pair[0])) fields.set(pair[0].toString('utf8'), pair[1]!);
  }
  const committer = text(fields.get('committer'));
  if (committer === undefined) throw new Error('revision record has no committer');
  const properties = fields.get('properties');
  const authorsText = properties instanceof Map ? text(properties.get('authors')) : undefined;
  const authors = authorsText ? authorsText.split('\n').filter((a) => a.length > 0) : [];
  const parentList = fields.get('parent-ids');
  const parents = Array.isArray(parentList) ? parentList.map(text).filter((p): p is string => p !== undefined) : [];
  return { committer, authors: authors.length ? authors : [committer], message: text(fields.get('message')) ?? '', parents };
}

/** Header fields of a `brz log --long --show-ids` record, read only above its `message:` line. */
export function parseLongLog(output: string): RevisionMeta {
  let committer: string | undefined;
  let author: string | undefined;
  const parents: string[] = [];
  const message: string[] = [];
  let inMessage = false;
  for (const line of output.split('\n')) {
    if (inMessage) {
      if (line.startsWith('  ')) message.push(line.slice(2));
      else if (line.length === 0) message.push('');
      else break;
      continue;
    }
    if (line === 'message:') inMessage = true;
    else if (line.startsWith('committer: ') && committer === undefined) committer = line.slice(11);
    else if (line.startsWith('author: ') && author === undefined) author = line.slice(8);
    else if (line.startsWith('parent: ')) parents.push(line.slice(8));
  }
  if (committer === undefined) throw new Error('brz log printed no committer');
  // `author:` joins several authors with ", "; split only between complete "Name <email>" entries.
  const authors = author ? author.split(/(?<=>), (?=[^,]*<)/) : [committer];
  return { committer, authors, message: message.join('\n').trimEnd(), parents };
}

/** Metadata of `revid`, read from the branch/repository at `dir`. */
export async function readRevision(env: BrzEnv, dir: string, revid: string): Promise<RevisionMeta> {
  const cat = await brz(env, dir, ['cat-revision', '--directory=.', '--', revid]);
  if (cat.exitCode === 0 && cat.stdout.startsWith('l')) {
    try {
      return parseRevisionRecord(Buffer.from(cat.stdout, 'utf8'));
    } catch {
      // fall through to the log
    }
  }
  const log = await brz(env, dir, ['log', '--long', '--show-ids', `--revision=revid:${revid}`, '--', '.']);
  if (log.exitCode !== 0) throw new Error(`cannot read revision ${revid}: ${lastLine(log)}`);
  return parseLongLog(log.stdout);
}
