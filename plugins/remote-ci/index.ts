/**
 * remote-ci: gates landings on results from other CI sites (GitHub statuses and check
 * runs, a Jenkins job, Launchpad revision status reports, a JUnit file at a URL), and
 * starts Jenkins jobs for the revision when asked. Taps `verify` (config against the
 * projects), `discover` (what a ready proposal will wait for, for `byoci list`) and `gate`.
 */
import { definePlugin, type Logger } from '../../core/index.js';
import type { Proposal } from '../../hooks/index.js';
import { pluginConfigSchema, type RemoteCiConfig, type Requirement, type Site } from './config.js';
import { evaluate, describeRequirement, runGate, type SiteReader } from './gate.js';
import { readGithub } from './github.js';
import { RemoteError, type HttpLimits } from './http.js';
import { JenkinsSiteClient } from './jenkins.js';
import { readJunit } from './junit-url.js';
import { readLaunchpad } from './launchpad.js';

export const NAME = 'remote-ci';

interface Tokens {
  github: string | undefined;
  jenkins: string | undefined;
}

function readerFor(site: Site, tokens: Tokens, limits: (signal: AbortSignal) => HttpLimits): SiteReader {
  switch (site.type) {
    case 'github':
      return { read: (_req, rev, signal) => readGithub(site, rev, tokens.github, { limits: limits(signal) }) };
    case 'launchpad':
      return { read: (_req, rev, signal) => readLaunchpad(site, rev, { limits: limits(signal) }) };
    case 'junit':
      return { read: (_req, rev, signal) => readJunit(site, rev, { limits: limits(signal) }) };
    case 'jenkins': {
      const reader: SiteReader = {
        async read(req, rev, signal) {
          const client = new JenkinsSiteClient(site, tokens.jenkins, { limits: limits(signal) });
          const b = await client.buildFor(req.name, rev);
          return b ? [await client.resultOf(req.name, b)] : [];
        },
      };
      // The triggering client is bound to the run's signal when the gate starts.
      return reader;
    }
  }
}

export default definePlugin({
  name: NAME,
  description: 'Gates landings on remote CI results (GitHub, Jenkins, Launchpad, JUnit URL); triggers Jenkins jobs',
  config: pluginConfigSchema,
  secrets: {
    'github-token': {
      description: 'GitHub token to read commit statuses and check runs (read-only scopes suffice; may be the github plugin\'s token)',
      required: false,
    },
    'jenkins-token': { description: 'API token of plugins.remote-ci.sites.<jenkins site>.user', required: false },
  },
  apply(hooks, api) {
    const config: RemoteCiConfig = api.config;
    const log: Logger = api.log;
    const tokens: Tokens = { github: api.secrets.get('github-token'), jenkins: api.secrets.get('jenkins-token') };
    const limits = (signal: AbortSignal): HttpLimits => ({
      timeoutMs: config.requestTimeout * 1000,
      maxBytes: config.maxBytes,
      retries: config.retries,
      signal,
    });
    const readers = new Map(Object.entries(config.sites).map(([name, site]) => [name, readerFor(site, tokens, limits)]));
    /** A project's requirements; own keys only: a project named toString or valueOf has none, not Object.prototype's function. */
    const required = (name: string): Requirement[] => (Object.hasOwn(config.require, name) ? config.require[name]! : []);

    hooks.verify.tapPromise(async ({ projects, problems, notes }) => {
      const known = new Set(projects.map((p) => p.name));
      for (const project of Object.keys(config.require)) {
        if (!known.has(project)) {
          problems.push({ source: NAME, message: `plugins.remote-ci.require.${project}: no such project (projects: ${[...known].join(', ') || 'none'})` });
        }
      }
      for (const [name, site] of Object.entries(config.sites)) {
        if (site.type === 'jenkins' && site.user && !tokens.jenkins) {
          problems.push({ source: NAME, message: `site ${name}: user ${site.user} is set but secret remote-ci/jenkins-token is not`, hint: 'byoci secrets set remote-ci/jenkins-token' });
        }
        if (site.type === 'github' && !tokens.github) {
          notes.push({ source: NAME, message: `site ${name}: no remote-ci/github-token, reading ${site.repo} anonymously (public repositories only, 60 requests an hour)` });
        }
      }
      const count = Object.values(config.require).reduce((n, r) => n + r.length, 0);
      if (count) notes.push({ source: NAME, message: `${count} required remote result${count === 1 ? '' : 's'} on ${Object.keys(config.require).length} project(s); timeout ${config.timeout} s, poll every ${config.interval} s` });
    });

    // For `byoci list` (and the log of `land`): what a ready proposal will wait for. One
    // poll, no trigger, no wait; a site that does not answer is said, not fatal.
    hooks.discover.tapPromise(
      async (proposals, { project, signal }) => {
        const requirements = required(project.name).filter((r) => r.revision === 'approved');
        if (requirements.length === 0) return proposals;
        return Promise.all(proposals.map((p) => (p.readiness.state === 'ready' ? annotate(p, requirements, signal) : p)));
      },
      { stage: 100 },
    );

    async function annotate(proposal: Proposal, requirements: Requirement[], signal: AbortSignal): Promise<Proposal> {
      const revision = proposal.approvedRevision;
      if (!revision) return proposal;
      const waitsFor: string[] = [];
      for (const req of requirements) {
        try {
          const verdict = evaluate(req, await readers.get(req.site)!.read(req, revision, signal));
          if (verdict.red) waitsFor.push(`${describeRequirement(req)}: ${verdict.red.result} (will be rejected)`);
          else if (!verdict.done) waitsFor.push(`${describeRequirement(req)}: ${req.trigger && verdict.state === 'not reported' ? 'not started (byoci starts it)' : verdict.state}`);
        } catch (error) {
          waitsFor.push(`${describeRequirement(req)}: unknown (${error instanceof RemoteError ? error.message : String(error)})`);
        }
      }
      return waitsFor.length ? { ...proposal, readiness: { state: 'ready', waitsFor } } : proposal;
    }

    hooks.gate.tapPromise(async ({ proposal, project, checkout, merge, waiting, signal }) => {
      const requirements = required(project.name);
      if (requirements.length === 0) return;
      const bound = new Map(
        [...readers].map(([name, reader]) => {
          const site = config.sites[name]!;
          return [name, site.type === 'jenkins' ? { ...reader, jenkins: new JenkinsSiteClient(site, tokens.jenkins, { limits: limits(signal) }) } : reader];
        }),
      );
      await runGate({
        requirements,
        sites: config.sites,
        readers: bound,
        revisions: { approved: checkout.sourceRevision, merged: merge.revision },
        proposal: proposal.id,
        timeout: config.timeout,
        interval: config.interval,
        dryRun: api.run.dryRun,
        waiting,
        signal,
        log,
      });
    });
  },
});
