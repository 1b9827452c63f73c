/**
 * launchpadlib's credentials file (`Credentials.save()`), so admins can reuse the token
 * they already authorised:
 *
 *   [1]
 *   consumer_key = byoci
 *   consumer_secret =
 *   access_token = Xo5...
 *   access_secret = Zq8...
 *
 * and the OAuth 1.0 PLAINTEXT `Authorization` header Launchpad expects.
 */
import { randomBytes } from 'node:crypto';

export interface OAuthCredentials {
  consumerKey: string;
  consumerSecret: string;
  accessToken: string;
  accessSecret: string;
}

/** The credentials text is unusable; the message names what is missing, never a value. */
export class CredentialsError extends Error {
  override readonly name = 'CredentialsError';
}

/** Parses an ini text (ConfigParser style: `key = value` or `key: value`, `#`/`;` comments). */
function parseIni(text: string): Map<string, Map<string, string>> {
  const sections = new Map<string, Map<string, string>>();
  let current: Map<string, string> | undefined;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const section = /^\[(.+)\]$/.exec(line);
    if (section) {
      current = new Map();
      sections.set(section[1]!.trim(), current);
      continue;
    }
    const kv = /^([^=:]+?)\s*[=:]\s*(.*)$/.exec(line);
    if (kv && current) current.set(kv[1]!.toLowerCase(), kv[2]!);
  }
  return sections;
}

/** Reads launchpadlib's credentials format (section `[1]`); throws naming missing keys. */
export function parseCredentials(text: string, source = 'launchpad/oauth'): OAuthCredentials {
  const sections = parseIni(text);
  const section = sections.get('1');
  if (!section) {
    throw new CredentialsError(
      `${source}: not a launchpadlib credentials file (no [1] section; found ${sections.size ? [...sections.keys()].map((s) => `[${s}]`).join(', ') : 'no section'})`,
    );
  }
  const missing = ['consumer_key', 'access_token', 'access_secret'].filter((k) => !section.get(k));
  if (missing.length) throw new CredentialsError(`${source}: [1] section lacks ${missing.join(', ')}`);
  return {
    consumerKey: section.get('consumer_key')!,
    consumerSecret: section.get('consumer_secret') ?? '',
    accessToken: section.get('access_token')!,
    accessSecret: section.get('access_secret')!,
  };
}

/** Writes the same format (used by tests and by `byoci secrets` helpers). */
export function formatCredentials(c: OAuthCredentials): string {
  return `[1]\nconsumer_key = ${c.consumerKey}\nconsumer_secret = ${c.consumerSecret}\naccess_token = ${c.accessToken}\naccess_secret = ${c.accessSecret}\n`;
}

/** RFC 5849 section 3.6 percent-encoding. */
export function oauthEscape(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/**
 * The `Authorization` header of one request: OAuth 1.0, PLAINTEXT signature
 * (`<consumer_secret>&<access_secret>`), a fresh timestamp and nonce.
 */
export function authorizationHeader(c: OAuthCredentials, realm = 'https://api.launchpad.net/'): string {
  const params: [string, string][] = [
    ['oauth_consumer_key', c.consumerKey],
    ['oauth_token', c.accessToken],
    ['oauth_signature_method', 'PLAINTEXT'],
    ['oauth_signature', `${oauthEscape(c.consumerSecret)}&${oauthEscape(c.accessSecret)}`],
    ['oauth_timestamp', String(Math.floor(Date.now() / 1000))],
    ['oauth_nonce', randomBytes(12).toString('hex')],
    ['oauth_version', '1.0'],
  ];
  return `OAuth realm="${realm}", ` + params.map(([k, v]) => `${k}="${oauthEscape(v)}"`).join(', ');
}

/** Parses an OAuth `Authorization` header into its (decoded) parameters; for servers and tests. */
export function parseAuthorizationHeader(header: string): Record<string, string> | undefined {
  const m = /^OAuth\s+(.*)$/i.exec(header.trim());
  if (!m) return undefined;
  const out: Record<string, string> = {};
  for (const part of m[1]!.matchAll(/([\w]+)="([^"]*)"/g)) {
    try {
      out[part[1]!] = decodeURIComponent(part[2]!);
    } catch {
      return undefined;
    }
  }
  return out;
}
