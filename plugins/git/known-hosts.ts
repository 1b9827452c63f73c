/**
 * OpenSSH known_hosts files, read the way `ssh` reads them for one host and port:
 * `host`, `[host]:port`, comma-separated patterns with `*`/`?` and `!negation`, hashed
 * `|1|salt|hmac` names, and the `@revoked` marker. `@cert-authority` lines are skipped
 * (certificates are not checked here).
 */
import { createHash, createHmac } from 'node:crypto';
import { readFile } from 'node:fs/promises';

export interface KnownHostKey {
  /** Key type as written in the file, e.g. `ssh-ed25519`. */
  type: string;
  /** The key blob, base64 as in the file. */
  key: string;
  revoked: boolean;
  file: string;
}

/** The name OpenSSH looks up: `host` on port 22, `[host]:port` otherwise. */
export function hostName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

function wildcard(pattern: string): RegExp {
  const body = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${body}$`, 'i');
}

function patternMatches(pattern: string, name: string): boolean {
  if (pattern.startsWith('|1|')) {
    const [, , salt, hash] = pattern.split('|');
    if (!salt || !hash) return false;
    return createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64') === hash;
  }
  return wildcard(pattern).test(name);
}

/** True when the comma-separated host field names `name` (and no negation excludes it). */
export function hostsFieldMatches(field: string, name: string): boolean {
  let matched = false;
  for (const pattern of field.split(',')) {
    if (pattern.startsWith('!')) {
      if (patternMatches(pattern.slice(1), name)) return false;
    } else if (patternMatches(pattern, name)) {
      matched = true;
    }
  }
  return matched;
}

/** The keys that `text` (one known_hosts file) holds for `host`:`port`. */
export function keysFor(text: string, host: string, port: number, file: string): KnownHostKey[] {
  const name = hostName(host, port);
  const keys: KnownHostKey[] = [];
  for (const raw of text.split('\n')) {
    const fields = raw.trim().split(/\s+/);
    if (!fields[0] || fields[0].startsWith('#')) continue;
    const marker = fields[0].startsWith('@') ? fields.shift() : undefined;
    if (marker === '@cert-authority') continue;
    const [hosts, type, key] = fields;
    if (!hosts || !type || !key || !hostsFieldMatches(hosts, name)) continue;
    keys.push({ type, key, revoked: marker === '@revoked', file });
  }
  return keys;
}

/** Keys for `host`:`port` from every readable file; unreadable files are skipped. */
export async function knownKeys(files: readonly string[], host: string, port: number): Promise<KnownHostKey[]> {
  const keys: KnownHostKey[] = [];
  for (const file of files) {
    const text = await readFile(file, 'utf8').catch(() => undefined);
    if (text !== undefined) keys.push(...keysFor(text, host, port, file));
  }
  return keys;
}

/** `SHA256:<base64 without padding>` of a key blob, as `ssh-keygen -l` prints it. */
export function fingerprint(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/** The type name at the start of an ssh wire-format key blob (`ssh-ed25519`...). */
export function blobType(blob: Buffer): string {
  if (blob.length < 4) return 'unknown';
  const length = blob.readUInt32BE(0);
  return length > 0 && length <= 64 && blob.length >= 4 + length ? blob.subarray(4, 4 + length).toString('latin1') : 'unknown';
}
