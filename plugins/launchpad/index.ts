/**
 * The Launchpad forge: finds approved merge proposals of `lp:` targets (git repositories
 * and bzr branches), says which can land and why the others wait or are rejected, and
 * reports the outcome on the proposal (status `Merged`, or a comment and `Needs review`).
 * Fetch, merge and push are the VCS plugins' job; this plugin only talks to the API.
 */
import type { ProjectConfig, Target } from '../../hooks/index.js';
import { definePlugin, targetOptions, type PluginApi } from '../../core/index.js';
import { parseCriteria } from '../../core/index.js';
import { LaunchpadApiError, LaunchpadClient, type LpEntry } from './client.js';
import { entrySchema, rootSchema } from './answers.js';
import { configSchema, resolveTarget, targetSchema, type LaunchpadConfig } from './config.js';
import { CredentialsError, parseCredentials, type OAuthCredentials } from './credentials.js';
import { bzrUrlFor, Discovery, metaSchema } from './discover.js';
import { Reporter } from './report.js';
import { ensureStatusReport, reportsFor } from './status-report.js';

export const NAME = 'launchpad';

type Secret = 'oauth';
type Api = PluginApi<LaunchpadConfig, Secret>;

const OAUTH_HINT =
  'store the content of a launchpadlib credentials file ([1] consumer_key, consumer_secret, access_token, access_secret): ' +
  'byoci secrets set launchpad/oauth < ~/.config/byoci/launchpad-credentials';

function credentials(api: Api): OAuthCredentials {
  return parseCredentials(api.secrets.require('oauth'), `secret ${NAME}/oauth`);
}

function client(api: Api, signal?: AbortSignal): LaunchpadClient {
  return new LaunchpadClient({
    serviceRoot: api.config.serviceRoot,
    version: api.config.apiVersion,
    credentials: credentials(api),
    retries: api.config.retries,
    retryDelayMs: api.config.retryDelayMs,
    timeoutMs: api.config.requestTimeout * 1000,
    log: api.log,
    signal,
  });
}

/**
 * The run's redaction plus the token's parts: the redactor knows the credentials text as
 * a whole (and its long lines), not the bare token or secret inside it.
 */
function redactor(api: Api): (text: string) => string {
  const parts: string[] = [];
  try {
    const c = credentials(api);
    for (const v of [c.accessToken, c.accessSecret, c.consumerSecret]) {
      if (v.length >= 4) parts.push(v, encodeURIComponent(v), Buffer.from(v).toString('base64').replace(/=+$/, ''));
    }
  } catch {
    // No usable credentials: nothing more to mask than the run's redactor does.
  }
  parts.sort((a, b) => b.length - a.length);
  return (text) => parts.reduce((out, part) => out.split(part).join('[REDACTED]'), api.redact(text));
}

function launchpadTargets(projects: readonly ProjectConfig[]): { project: string; index: number; target: Target }[] {
  return projects.flatMap((p) => p.targets.map((target, index) => ({ project: p.name, index, target })).filter((t) => t.target.forge === NAME));
}

export default definePlugin({
  name: NAME,
  description: 'Launchpad forge: lands approved merge proposals of lp: git repositories and bzr branches',
  config: configSchema,
  forge: {
    schema: targetSchema,
    branch: (target) => {
      const resolved = resolveTarget(target);
      return { vcs: resolved.vcs, url: target.url, branch: resolved.branch ?? '' };
    },
    meta: metaSchema,
  },
  secrets: {
    oauth: {
      description: "content of a launchpadlib credentials file (the landing user's OAuth token)",
      required: true,
    },
  },
  apply(hooks, api) {
    hooks.verify.tapPromise(async (payload) => {
      const targets = launchpadTargets(payload.projects);
      if (targets.length === 0) return;
      const problem = (message: string, hint?: string) => payload.problems.push({ source: NAME, message, ...(hint ? { hint } : {}) });
      // Core validated each target with targetSchema at config load.
      const resolved = targets.map((t) => ({ ...t, target: resolveTarget(targetOptions(targetSchema, t.target)) }));
      try {
        parseCriteria(api.config.criteria);
      } catch (e) {
        problem(`plugins.${NAME}.criteria: ${(e as Error).message}`);
      }
      // A missing secret is reported by core (it is declared required); nothing to check without it.
      if (api.secrets.get('oauth') === undefined) return;
      let lp: LaunchpadClient;
      try {
        lp = client(api, payload.signal);
      } catch (e) {
        if (!(e instanceof CredentialsError)) throw e;
        problem(e.message, OAUTH_HINT);
        return;
      }
      try {
        const root = await lp.get('', undefined, rootSchema);
        const me = typeof root.me_link === 'string' ? await lp.get(root.me_link, undefined, entrySchema) : undefined;
        payload.notes.push({ source: NAME, message: `authenticated on ${lp.base} as ${String(me?.name ?? 'an anonymous user')}` });
        // Launchpad shows a token's access level nowhere and checks it only when a write
        // permission is checked (after the parameters are validated), so no harmless request
        // tells a read-only token from a writing one; the first write says it plainly.
        payload.notes.push({
          source: NAME,
          message:
            'the token must be authorised to write ("Change anything": WRITE_PUBLIC or WRITE_PRIVATE); ' +
            'Launchpad does not show the access level, a READ_PUBLIC/READ_PRIVATE token fails at the first comment or status change',
        });
      } catch (e) {
        if (!(e instanceof LaunchpadApiError)) throw e;
        problem(e.message, e.status === 401 ? OAUTH_HINT : undefined);
        return;
      }
      const discovery = new Discovery(lp, {
        criteria: parseCriteria(api.config.criteria),
        gitProtocol: api.config.gitProtocol,
        sshUser: api.config.sshUser ?? api.run.landing.user,
        bzrUrl: bzrUrlFor(api.config.serviceRoot, api.config.bzrRoot),
        log: api.log,
      });
      for (const t of resolved) {
        try {
          const found = await discovery.findTarget(t.target);
          payload.notes.push({ source: NAME, message: `${t.project}: target ${found.identity} found (${found.vcs})` });
          // Which VCS the loaded plugins handle is declared in their definitions (`handles`).
          const handled = payload.handles?.vcs;
          if (handled === undefined) {
            if (found.vcs === 'bzr') {
              const message = `${t.project}: ${found.identity} is a bzr branch: it lands only when a plugin handling bzr branches (fetch, merge, push) is loaded`;
              payload.notes.push({ source: NAME, message });
            }
          } else if (!handled.includes(found.vcs)) {
            problem(
              `projects.${t.project}.targets[${t.index}]: ${found.identity} is a ${found.vcs} branch and no loaded plugin handles ${found.vcs} (handled: ${handled.join(', ') || 'none'})`,
              `load a plugin handling ${found.vcs} branches, or use the ${found.vcs === 'bzr' ? 'git repository' : 'bzr branch'} of the project`,
            );
          }
        } catch (e) {
          problem(`projects.${t.project}.targets[${t.index}]: ${(e as Error).message}`);
        }
      }
    });

    hooks.discover.tapPromise(async (proposals, context) => {
      if (context.target.forge !== NAME) return proposals;
      const target = resolveTarget(targetOptions(targetSchema, context.target));
      const discovery = new Discovery(client(api, context.signal), {
        criteria: parseCriteria(api.config.criteria),
        gitProtocol: api.config.gitProtocol,
        sshUser: api.config.sshUser ?? api.run.landing.user,
        bzrUrl: bzrUrlFor(api.config.serviceRoot, api.config.bzrRoot),
        log: api.log,
      });
      const found = await discovery.proposals(target);
      for (const p of found) {
        api.log.info('proposal', { id: p.id, readiness: p.readiness.state, ...(p.readiness.state === 'ready' ? {} : { why: p.readiness.reason }) });
      }
      return [...proposals, ...found];
    });

    hooks.report.tapPromise(async (outcome) => {
      if (outcome.proposal.forge !== NAME) return;
      const meta = api.proposalMeta(outcome.proposal);
      const buildUrl = outcome.buildUrl ?? api.run.buildUrl;
      if (api.config.statusReport) {
        // Isolated from the comment and status below: a failing status report is logged only.
        const lp = client(api);
        const specs = reportsFor(outcome, { source: meta.sourceRepositoryLink, target: meta.targetLink, vcs: meta.vcs ?? 'bzr' }, api.config.statusReport, buildUrl);
        for (const spec of specs) {
          await ensureStatusReport(lp, { ...spec, summary: redactor(api)(spec.summary) }, api.log).catch((e: unknown) =>
            api.log.warn('status report not written', { commit: spec.commit, error: (e as Error).message }),
          );
        }
      }
      if (outcome.kind === 'started') {
        api.log.info('landing', { proposal: outcome.proposal.id, revision: outcome.proposal.approvedRevision });
        return;
      }
      const reporter = new Reporter(client(api), {
        log: api.log,
        redact: redactor(api),
        commentTail: api.config.commentTail,
        retries: api.config.retries,
        retryDelayMs: api.config.retryDelayMs,
      });
      switch (outcome.kind) {
        case 'landed':
          return reporter.landed(meta, outcome.revision, {
            ...(outcome.pinned ? { pinned: outcome.pinned } : {}),
            ...(outcome.batch ? { batch: outcome.batch } : {}),
            ...(buildUrl ? { buildUrl } : {}),
          });
        case 'rejected':
          // A push refused because the target moved never gets here: core merges again and
          // tests again (queue.attempts), then rejects with `trunk-kept-moving` (approve again).
          return reporter.rejected(meta, {
            reason: outcome.rejection.reason,
            ...(outcome.batch ? { batch: outcome.batch } : {}),
            buildUrl,
            details: outcome.rejection.details ?? outcome.test?.outputTail,
          });
        case 'error':
          return reporter.error(meta, buildUrl);
      }
    });
  },
});
