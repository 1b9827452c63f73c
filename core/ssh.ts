/**
 * ssh credentials shared by the VCS plugins (git, bzr): quoting for the shell a VCS hands
 * ssh commands to, and the checks `verify` makes of the key and the known_hosts file. The
 * key itself goes into a per-run ssh-agent (ssh-agent.ts), never into a file.
 */
import { access, constants } from 'node:fs/promises';
import type { Problem } from '../hooks/types.js';

/** Single-quotes a word for /bin/sh. */
export function shellQuote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

const PRIVATE_KEY = /-----BEGIN [A-Z ]*PRIVATE KEY-----/;

/** True when `text` looks like a whole private key file. */
export function isPrivateKey(text: string): boolean {
  return PRIVATE_KEY.test(text);
}

export interface SshCredentials {
  /** Plugin name: problems' source and the secret's prefix (`<plugin>/ssh-key`). */
  plugin: string;
  knownHosts: string | undefined;
  key: string | undefined;
  /** How to fill known_hosts, e.g. `ssh-keyscan bazaar.launchpad.net`. */
  keyscanHint: string;
}

/** Problems with the configured known_hosts file and the `ssh-key` secret, if any. */
export async function sshCredentialProblems(c: SshCredentials): Promise<Problem[]> {
  const problems: Problem[] = [];
  if (c.knownHosts) {
    try {
      await access(c.knownHosts, constants.R_OK);
    } catch {
      problems.push({
        source: c.plugin,
        message: `plugins.${c.plugin}.knownHosts: cannot read ${c.knownHosts}`,
        hint: `write the forges' host keys there, e.g. ${c.keyscanHint} (then check the fingerprints)`,
      });
    }
  }
  if (c.key !== undefined && !isPrivateKey(c.key)) {
    problems.push({
      source: c.plugin,
      message: `secret ${c.plugin}/ssh-key is not a private key (no "-----BEGIN ... PRIVATE KEY-----" line)`,
      hint: `store the whole key file: byoci secrets set ${c.plugin}/ssh-key < ~/.ssh/id_ed25519`,
    });
  }
  return problems;
}
