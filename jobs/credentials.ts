/**
 * Finds credential-looking strings in a rendered job. No credential belongs in a job:
 * the slave's secrets stores hold them. Findings never repeat the value whole.
 */

export interface CredentialFinding {
  what: string;
  /** The first characters of the match, the rest masked. */
  excerpt: string;
}

const PATTERNS: { what: string; pattern: RegExp }[] = [
  { what: 'a private key', pattern: /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/ },
  { what: 'a GitHub token', pattern: /\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})/ },
  { what: 'an AWS access key', pattern: /\bAKIA[0-9A-Z]{16}\b/ },
  { what: 'a Slack token', pattern: /\bxox[abprs]-[A-Za-z0-9-]{10,}/ },
  { what: 'a password in a URL', pattern: /\b[a-z][a-z0-9+.-]*:\/\/[^\s/:@'"]+:[^\s/@'"]+@/i },
  { what: 'an OAuth credential', pattern: /\boauth_(?:token|signature|consumer_secret|token_secret)\s*=\s*["']?[^\s"'&$]{4,}/i },
  {
    what: 'a secret assigned in the job',
    pattern: /\b[A-Za-z0-9_-]*(?:password|passwd|secret|token|api[_-]?key|private[_-]?key)\s*[=:]\s*["']?(?!\$)[^\s"'$]{6,}/i,
  },
];

/** XML elements of Jenkins' credential plugins: a job using them carries credential ids. */
const CREDENTIAL_ELEMENTS = [
  /credentialsbinding/i,
  /sshagent/i,
  /^credentialsId$/i,
  /PasswordParameterDefinition$/,
  /^password$/i,
];

function excerpt(match: string): string {
  return `${match.slice(0, Math.min(6, Math.floor(match.length / 3)))}…`;
}

/** Credential-looking strings in `text` (a job's decoded XML text). */
export function findCredentials(text: string): CredentialFinding[] {
  const found: CredentialFinding[] = [];
  for (const { what, pattern } of PATTERNS) {
    const m = pattern.exec(text);
    if (m) found.push({ what, excerpt: excerpt(m[0]) });
  }
  return found;
}

/** Element names that belong to Jenkins' credential plugins. */
export function findCredentialElements(names: Iterable<string>): string[] {
  const out = new Set<string>();
  for (const name of names) if (CREDENTIAL_ELEMENTS.some((p) => p.test(name))) out.add(name);
  return [...out];
}
