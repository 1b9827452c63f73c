/**
 * The bzr plugin: fetch, merge and push for proposals whose target is a Breezy (bzr)
 * branch, e.g. `lp:brz`. See README.md beside this file.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { definePlugin, mirrorAgeSchema, sshCredentialProblems, sweepMirrors } from '../../core/index.js';
import type { Proposal, VerifyPayload } from '../../hooks/index.js';
import { brz, type BrzEnv } from './brz.js';
import { fetchProposal } from './fetch.js';
import { BZR_MIRROR_MARKER, bzrMirrorPath } from './mirror.js';
import { mergeProposal } from './merge.js';
import { pushMerge } from './push.js';
import type { SshSession } from '../../core/index.js';
import { createBzrSsh, usesSsh } from './ssh.js';

export const NAME = 'bzr';

export const configSchema = z
  .object({
    /** known_hosts file with the host keys of the forges reached over bzr+ssh. */
    knownHosts: z.string().min(1, 'must be a path to a known_hosts file').optional(),
    /**
     * Launchpad user name: brz then resolves `lp:` URLs to `bzr+ssh://<user>@bazaar.launchpad.net/...`
     * (needed to push to Launchpad) instead of read-only https. Written into the private HOME's breezy.conf.
     */
    launchpadUser: z
      .string()
      .regex(/^[a-z0-9][a-z0-9+.-]{0,63}$/, 'must be a Launchpad user name (lower-case letters, digits, "+", "." and "-")')
      .optional(),
    /** Keep a shared-repository mirror of each target in the cache directory (default true). */
    mirror: z.boolean().default(true),
    /** A mirror no configured target uses goes after this long without a landing (default 14 days). */
    mirrorMaxAge: mirrorAgeSchema.default('14d'),
  })
  .strict()
  .default({});

function isBzr(proposal: Proposal): boolean {
  return proposal.target.vcs === 'bzr';
}

/** True when a configured target is a bzr branch (core's `vcs`, else a target's `vcs: bzr`). */
function someTargetUsesBzr(payload: VerifyPayload): boolean {
  if (payload.vcs) return payload.vcs.includes('bzr');
  return payload.projects.some((p) => p.targets.some((t) => t.branch.vcs === 'bzr'));
}

/** The private HOME's breezy.conf naming the Launchpad user (a validated name: no quoting needed). */
async function writeBreezyConf(home: string, launchpadUser: string): Promise<void> {
  const dir = join(home, '.config', 'breezy');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await writeFile(join(dir, 'breezy.conf'), `[DEFAULT]\nlaunchpad_username = ${launchpadUser}\n`, { mode: 0o600 });
}

export default definePlugin({
  name: NAME,
  description: 'Fetches, merges and pushes Breezy (bzr) branches with brz (argv only, never --overwrite)',
  config: configSchema,
  handles: { vcs: ['bzr'] },
  secrets: {
    'ssh-key': { description: 'OpenSSH private key used for bzr+ssh:// branches', required: false },
  },
  apply(hooks, api) {
    let session: SshSession<string> | undefined;
    const configured = api.config.knownHosts;
    const launchpadUser = api.config.launchpadUser;
    const knownHosts = configured === undefined ? undefined : api.resolvePath(configured);

    /** The private HOME, made once per run (not once per fetch, merge and push). */
    let homeReady: Promise<string> | undefined;
    function privateHome(): Promise<string> {
      homeReady ??= (async () => {
        const home = join(api.run.workdir, 'bzr-home');
        await mkdir(home, { recursive: true, mode: 0o700 });
        if (launchpadUser) await writeBreezyConf(home, launchpadUser);
        return home;
      })();
      return homeReady;
    }

    /** The environment of brz for these locations: a private HOME, BRZ_SSH when needed. */
    async function envFor(signal: AbortSignal, ...urls: string[]): Promise<BrzEnv> {
      const home = await privateHome();
      const overSsh = (url: string) => usesSsh(url) || (launchpadUser !== undefined && /^lp:/i.test(url));
      if (!urls.some(overSsh)) return { home, signal };
      session ??= createBzrSsh(api.run.workdir, { key: api.secrets.get('ssh-key'), knownHosts });
      const authSock = session.authSock();
      return { home, signal, ssh: await session.get(), ...(authSock ? { authSock } : {}) };
    }

    hooks.verify.tapPromise(async (payload) => {
      const { problems, notes, signal } = payload;
      const env = await envFor(signal);
      // Only what is used: without a bzr target, brz is not run at all (it costs ~100 ms).
      if (!someTargetUsesBzr(payload)) {
        notes.push({ source: NAME, message: 'no bzr target: brz not checked' });
      } else {
        const version = await brz(env, env.home, ['version', '--short']).catch(() => undefined);
        if (!version || version.exitCode !== 0) {
          problems.push({ source: NAME, message: 'brz (Breezy) is not installed or does not run, and a project has a bzr target', hint: 'apt-get install brz' });
        } else {
          notes.push({ source: NAME, message: `brz ${version.stdout.trim()}` });
        }
      }
      const key = api.secrets.get('ssh-key');
      problems.push(...(await sshCredentialProblems({ plugin: NAME, knownHosts, key, keyscanHint: 'ssh-keyscan bazaar.launchpad.net' })));
    });

    hooks.sweep.tapPromise(async ({ projects, removed }) => {
      // Mirrors of targets no longer configured (whatever plugins.bzr.mirror says now).
      const root = join(api.run.cacheDir, 'bzr');
      const keep = new Set((projects ?? []).flatMap((p) => p.targets.filter((t) => t.branch.vcs === 'bzr').map((t) => bzrMirrorPath(root, t.branch.url))));
      for (const dir of await sweepMirrors({ root, keep, maxAgeSeconds: api.config.mirrorMaxAge, marker: BZR_MIRROR_MARKER, log: api.log })) {
        removed.push(`bzr: mirror ${dir}`);
      }
    });

    hooks.fetch.tapPromise(async ({ proposal, workspace, signal }) => {
      if (!isBzr(proposal)) return undefined;
      const env = await envFor(signal, proposal.target.url, proposal.source.url);
      const checkout = await fetchProposal({
        proposal,
        workspace,
        env,
        redact: (s) => api.redact(s),
        log: api.log,
        ...(api.config.mirror ? { mirrorRoot: join(api.run.cacheDir, 'bzr') } : {}),
      });
      api.log.info('approved revision pinned by content', {
        revid: checkout.sourceRevision,
        testament: checkout.sourceTestament,
        reviewed: proposal.approvedTestament ?? 'not recorded by the forge',
      });
      return checkout;
    });

    hooks.merge.tapPromise(async ({ proposal, checkout, message, committer, signal }) => {
      if (!isBzr(proposal)) return undefined;
      const env = await envFor(signal, proposal.target.url, proposal.source.url);
      return mergeProposal({ proposal, checkout, message, committer, env });
    });

    hooks.push.tapPromise(async ({ proposal, checkout, merge, signal }) => {
      if (!isBzr(proposal)) return undefined;
      const env = await envFor(signal, proposal.target.url);
      return pushMerge({ proposal, checkout, merge, env, redact: (s) => api.redact(s) });
    });

    hooks.shutdown.tapPromise(async () => {
      await session?.dispose();
      session = undefined;
    });
  },
});
