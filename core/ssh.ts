/**
 * ssh credentials shared by the VCS plugins (git, bzr): quoting for the shell a VCS hands
 * ssh commands to, the checks `verify` makes of the key and the known_hosts file, and the
 * run's ssh session. The key itself goes into a per-run ssh-agent (ssh-agent.ts), never
 * into a file.
 */
import { access, constants, mkdir, rm } from 'node:fs/promises';
import type { Problem } from '../hooks/types.js';
import { startSshAgent, type SshAgent } from './ssh-agent.js';

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

export interface SshSettings {
  /** Private key text, or undefined to let ssh use the slave's own keys/agent. */
  key?: string;
  /** known_hosts file holding the host keys of the forges (`plugins.<vcs>.knownHosts`). */
  knownHosts?: string;
}

/** The agent holding the key: its socket and the public key naming the one identity to offer. */
export interface AgentIdentity {
  socket: string;
  publicKeyFile: string;
}

/**
 * A run's ssh set-up for a VCS plugin, made on first `get()` and ended by `dispose()` (at
 * shutdown): with a key, a per-run agent holding it (startSshAgent, under `dir`); then
 * `make(agent, dir)` builds what the VCS is given (git's GIT_SSH_COMMAND, brz's wrapper).
 */
export interface SshSession<T> {
  get(): Promise<T>;
  /** `SSH_AUTH_SOCK` for the VCS's ssh: the slave's own agent when no key is configured. */
  authSock(): string | undefined;
  dispose(): Promise<void>;
}

export interface SshSessionOptions<T> {
  /** Where the agent's socket and public key (and what `make` writes) live. */
  dir: string;
  /** The session makes `dir` (0700) first, also without a key, and removes it at dispose. */
  ownDir?: boolean;
  make(agent: AgentIdentity | undefined, dir: string): Promise<T>;
}

export function createSshSession<T>(settings: SshSettings, options: SshSessionOptions<T>): SshSession<T> {
  let agent: SshAgent | undefined;
  let pending: Promise<T> | undefined;
  let made = false;

  async function build(): Promise<T> {
    if (options.ownDir) {
      made = true;
      await mkdir(options.dir, { recursive: true, mode: 0o700 });
    }
    if (settings.key) agent = await startSshAgent(options.dir, settings.key);
    return options.make(agent, options.dir);
  }

  return {
    get() {
      pending ??= build();
      return pending;
    },
    authSock() {
      return settings.key ? undefined : process.env.SSH_AUTH_SOCK;
    },
    async dispose() {
      if (pending) await pending.catch(() => undefined);
      await agent?.stop();
      agent = undefined;
      if (made) await rm(options.dir, { recursive: true, force: true });
      made = false;
      pending = undefined;
    },
  };
}
