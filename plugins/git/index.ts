/**
 * The git plugin: fetch, merge and push for proposals whose target is a git branch.
 * See README.md beside this file.
 */
import { homedir, userInfo } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { definePlugin, isPrivateKey, mirrorAgeSchema, sshCredentialProblems, sweepMirrors } from '../../core/index.js';
import type { Proposal } from '../../hooks/index.js';
import { fetchProposal } from './fetch.js';
import { MIRROR_MARKER, mirrorPath } from './mirror.js';
import { mergeProposal } from './merge.js';
import { pushMerge } from './push.js';
import type { SshSession } from '../../core/index.js';
import { createGitSsh } from './ssh.js';
import { remoteLabel, targetRemotes } from './ssh-remote.js';
import { gitVersion } from './version.js';

export const NAME = 'git';

export const configSchema = z
  .object({
    /** known_hosts file with the host keys of the forges reached over ssh. */
    knownHosts: z.string().min(1, 'must be a path to a known_hosts file').optional(),
    /** Seconds `verify` waits for each ssh handshake + login of the push-key check. */
    sshCheckTimeout: z.number().positive().max(50, 'must be at most 50 s (verify itself times out at 60 s)').default(10),
    /** Keep a mirror of each target in the cache directory and check out from it (default true). */
    mirror: z.boolean().default(true),
    /** A mirror no configured target uses goes after this long without a landing (default 14 days). */
    mirrorMaxAge: mirrorAgeSchema.default('14d'),
  })
  .strict()
  .default({});

/** True when git would reach `url` over ssh (ssh://, git+ssh://, or scp-like host:path). */
export function usesSsh(url: string): boolean {
  if (/^(ssh|git\+ssh|ssh\+git):\/\//i.test(url)) return true;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url) || url.startsWith('/') || url.startsWith('.')) return false;
  const colon = url.indexOf(':');
  const slash = url.indexOf('/');
  return colon > 0 && (slash < 0 || colon < slash);
}

function isGit(proposal: Proposal): boolean {
  return proposal.target.vcs === 'git' && proposal.source.vcs === 'git';
}

export default definePlugin({
  name: NAME,
  description: 'Fetches, merges and pushes git branches (argv only, never forced, none of the slave\'s git config)',
  config: configSchema,
  handles: { vcs: ['git'] },
  secrets: {
    'ssh-key': { description: 'OpenSSH private key used to fetch and push over ssh', required: false },
  },
  apply(hooks, api) {
    let session: SshSession<string> | undefined;
    const configured = api.config.knownHosts;
    const knownHosts = configured === undefined ? undefined : api.resolvePath(configured);

    async function sshFor(...urls: string[]): Promise<{ sshCommand?: string; authSock?: string }> {
      if (!urls.some(usesSsh)) return {};
      session ??= createGitSsh(api.run.workdir, { key: api.secrets.get('ssh-key'), knownHosts });
      const authSock = session.authSock();
      return { sshCommand: await session.get(), ...(authSock ? { authSock } : {}) };
    }

    hooks.verify.tapPromise(async ({ projects, vcs, problems, notes, signal }) => {
      // Only what is used: git is run when a target is a git branch (or core did not say).
      if (!vcs || vcs.includes('git')) {
        // Asked once per git binary: later runs take the answer from the cache (version.ts).
        const version = await gitVersion(api.run.cacheDir, signal);
        if (version === undefined) {
          problems.push({ source: NAME, message: 'git is not installed or does not run', hint: 'apt-get install git' });
        } else {
          notes.push({ source: NAME, message: version });
        }
      }
      const key = api.secrets.get('ssh-key');
      problems.push(...(await sshCredentialProblems({ plugin: NAME, knownHosts, key, keyscanHint: 'ssh-keyscan -p <port> <host>' })));
      if (key !== undefined && !knownHosts) {
        notes.push({ source: NAME, message: 'ssh-key set without plugins.git.knownHosts: the slave\'s ~/.ssh/known_hosts decides which hosts are trusted' });
      }
      const remotes = targetRemotes(projects, userInfo().username);
      if (remotes.length === 0) return;
      const hosts = remotes.map(remoteLabel).join(', ');
      if (key === undefined) {
        notes.push({ source: NAME, message: `no secret git/ssh-key: ssh remotes (${hosts}) use the slave user's own ssh keys and config (not checked)` });
        return;
      }
      if (!isPrivateKey(key)) return; // already a problem above
      // ssh2 is loaded only here: a slave with no ssh remote and no key never loads it.
      const { checkPushKey, parsePrivateKey } = await import('./ssh-check.js');
      const parsed = parsePrivateKey(key);
      if (typeof parsed === 'string') {
        problems.push({
          source: NAME,
          message: `secret git/ssh-key cannot be used: ${parsed}`,
          hint: 'store an unencrypted OpenSSH or PEM private key (ssh-keygen -p -N "" -f <copy of the key> removes a passphrase)',
        });
        return;
      }
      const trustedFiles = knownHosts ? [knownHosts] : [join(homedir(), '.ssh', 'known_hosts'), '/etc/ssh/ssh_known_hosts'];
      const timeoutMs = api.config.sshCheckTimeout * 1000;
      const results = await Promise.all(remotes.map((remote) => checkPushKey({ remote, privateKey: key, knownHosts: trustedFiles, timeoutMs, signal })));
      for (const result of results) {
        if (result.ok) notes.push({ source: NAME, message: result.message });
        else problems.push({ source: NAME, message: result.message, hint: result.hint });
      }
    });

    hooks.sweep.tapPromise(async ({ projects, removed }) => {
      // Mirrors of targets no longer configured (whatever plugins.git.mirror says now).
      const root = join(api.run.cacheDir, 'git');
      const keep = new Set((projects ?? []).flatMap((p) => p.targets.filter((t) => t.branch.vcs === 'git').map((t) => mirrorPath(root, t.branch.url))));
      for (const dir of await sweepMirrors({ root, keep, maxAgeSeconds: api.config.mirrorMaxAge, marker: MIRROR_MARKER, log: api.log })) {
        removed.push(`git: mirror ${dir}`);
      }
    });

    hooks.fetch.tapPromise(async ({ proposal, workspace, signal }) => {
      if (!isGit(proposal)) return undefined;
      const ssh = await sshFor(proposal.target.url, proposal.source.url);
      return fetchProposal({
        proposal,
        workspace,
        ...ssh,
        signal,
        redact: (s) => api.redact(s),
        log: api.log,
        ...(api.config.mirror ? { mirrorRoot: join(api.run.cacheDir, 'git') } : {}),
      });
    });

    hooks.merge.tapPromise(async ({ proposal, checkout, message, committer, signal }) => {
      if (!isGit(proposal)) return undefined;
      return mergeProposal({ proposal, checkout, message, committer, signal });
    });

    hooks.push.tapPromise(async ({ proposal, checkout, merge, signal }) => {
      if (!isGit(proposal)) return undefined;
      const ssh = await sshFor(proposal.target.url);
      return pushMerge({ proposal, checkout, merge, ...ssh, signal, redact: (s) => api.redact(s) });
    });

    hooks.shutdown.tapPromise(async () => {
      await session?.dispose();
      session = undefined;
    });
  },
});
