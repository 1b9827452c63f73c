/**
 * The github plugin: a forge. Discovers open pull requests that are triggered and approved
 * at their head commit, and reports outcomes as the `byoci` commit status, a rejection
 * comment and the trigger label removed. Fetch, merge and push are the git plugin's.
 * See README.md beside this file.
 */
import { definePlugin, targetOptions } from '../../core/index.js';
import type { Problem } from '../../hooks/index.js';
import { openCache, type StoreCache } from './cache.js';
import { createClient, memoryCache, type ConditionalCache, type GithubClient } from './client.js';
import { protectionProblems } from './protection.js';
import { landedComment, rejectionComment } from './comments.js';
import { parseTarget, pluginConfigSchema, targetBranch, targetSchema, type GithubConfig, type GithubTarget } from './config.js';
import { discoverTarget, metaSchema, type PermissionCache } from './discover.js';
import { ensureComment, ensureStatus, removeLabel, type StatusState } from './report.js';

export const NAME = 'github';

function errorMessage(error: unknown): string {
  const e = error as { status?: number; message?: string };
  return e.status ? `HTTP ${e.status}: ${e.message ?? ''}` : error instanceof Error ? error.message : String(error);
}

export default definePlugin({
  name: NAME,
  description: 'GitHub pull requests: lands triggered PRs approved at their head, reports commit statuses',
  config: pluginConfigSchema,
  forge: {
    schema: targetSchema,
    branch: (target, { config }) => targetBranch(target, config as GithubConfig),
    meta: metaSchema,
  },
  secrets: {
    token: { description: 'GitHub token (repo scope, or fine-grained: pull requests, issues, statuses, contents)' },
    'webhook-secret': { description: 'Secret of the repository webhooks (X-Hub-Signature-256)', required: false },
  },
  apply(hooks, api) {
    const config: GithubConfig = api.config;
    const log = api.log;
    // Per run: permissions do not change during one landing run.
    const permissions: PermissionCache = new Map();
    const timeoutMs = (config.maxRateLimitWait + 120) * 1000;
    let cache: ConditionalCache | undefined;
    let durable: StoreCache | undefined;
    let me: Promise<string> | undefined;

    /** ETags of GET answers: in the slave's store, so the next run's requests are conditional. */
    function etags(): ConditionalCache {
      if (cache) return cache;
      const path = config.etagStore === false ? undefined : config.etagStore ? api.resolvePath(config.etagStore) : api.run.storePath;
      if (!path) return (cache = memoryCache());
      try {
        durable = openCache(path);
        cache = durable;
      } catch (error) {
        log.warn('cannot open the ETag store, requests are not conditional across runs', { path, error: (error as Error).message });
        cache = memoryCache();
      }
      return cache;
    }

    function client(signal?: AbortSignal): GithubClient {
      return createClient({
        baseUrl: config.baseUrl,
        token: api.secrets.get('token'),
        log,
        maxWaitSeconds: config.maxRateLimitWait,
        cache: etags(),
        ...(signal ? { signal } : {}),
      });
    }

    /** The token's owner: its comments are the bot's (markers count only there). */
    function botLogin(gh: GithubClient): Promise<string> {
      if (config.botLogin) return Promise.resolve(config.botLogin);
      me ??= gh.rest.users.getAuthenticated().then(({ data }) => data.login);
      me.catch(() => (me = undefined));
      return me;
    }

    hooks.verify.tapPromise(
      async ({ projects, problems, notes, signal }) => {
        const targets: { where: string; target: GithubTarget }[] = [];
        for (const project of projects) {
          project.targets.forEach((raw, i) => {
            if (raw.forge !== NAME) return;
            const where = `projects.${project.name}.targets[${i}]`;
            targets.push({ where, target: parseTarget(targetOptions(targetSchema, raw), config.rules) });
          });
        }
        if (!targets.length) return;
        if (!api.secrets.get('token')) return; // core reports the missing required secret
        const gh = client(signal);
        for (const { where, target } of targets) {
          const problem: Problem | undefined = await gh.rest.repos
            .get({ owner: target.owner, repo: target.name, request: { signal } })
            .then(({ data }) => {
              if (data.permissions && !data.permissions.push) {
                return {
                  source: NAME,
                  message: `${where}: the token cannot push to ${target.repo} (commit statuses and comments need write access)`,
                  hint: 'give the token write access to contents, statuses, issues and pull requests',
                };
              }
              notes.push({ source: NAME, message: `${target.repo} reachable at ${config.baseUrl}, default branch ${data.default_branch}` });
              return data.permissions?.admin === true;
            })
            .then(async (admin) => {
              if (typeof admin !== 'boolean') return admin;
              // A target whose protection refuses the bot's push would fail every landing
              // after its tests: say it once here, not on every triggered pull request.
              const found = await protectionProblems(gh, { where, target, botLogin: await botLogin(gh), admin, signal });
              notes.push(...found.notes.map((message) => ({ source: NAME, message })));
              return found.problem;
            })
            .catch((error: unknown) => ({
              source: NAME,
              message: `${where}: cannot read ${target.repo} at ${config.baseUrl}: ${api.redact(errorMessage(error))}`,
              hint: 'check plugins.github.baseUrl, the repository name and the github/token secret',
            }));
          if (problem) problems.push(problem);
        }
      },
      { timeoutMs },
    );

    hooks.discover.tapPromise(
      async (proposals, { target: raw, signal }) => {
        if (raw.forge !== NAME) return proposals;
        const target = parseTarget(targetOptions(targetSchema, raw), config.rules);
        const gh = client(signal);
        const found = await discoverTarget({ client: gh, config, target, permissions, botLogin: await botLogin(gh), signal });
        for (const p of found) {
          log.info('pull request', { id: p.id, readiness: p.readiness.state, ...('reason' in p.readiness ? { reason: p.readiness.reason } : {}) });
        }
        return [...proposals, ...found];
      },
      { timeoutMs },
    );

    hooks.report.tapPromise(
      async (outcome) => {
        if (outcome.proposal.forge !== NAME) return;
        const meta = api.proposalMeta(outcome.proposal);
        const gh = client();
        const buildUrl = outcome.buildUrl ?? api.run.buildUrl;
        const where = { owner: meta.owner, repo: meta.repo };
        const target = outcome.proposal.target.branch;
        const status = (sha: string, state: StatusState, description: string) =>
          ensureStatus(gh, {
            ...where,
            sha,
            context: config.statusContext,
            state,
            description: api.redact(description),
            ...(buildUrl ? { targetUrl: buildUrl } : {}),
          });

        switch (outcome.kind) {
          case 'started':
            await status(meta.headSha, 'pending', `Testing the merge into ${target}`);
            return;
          case 'landed':
            await status(meta.headSha, 'success', `Landed on ${target} as ${outcome.revision.slice(0, 12)}`);
            if (outcome.revision !== meta.headSha) await status(outcome.revision, 'success', `Tested merge of #${meta.number}`);
            if (outcome.batch) {
              // Landed in a batch: say in which run, with whom (once: the marker is looked for first).
              const triggerId = meta.triggerId ?? `head-${meta.headSha}`;
              const body = landedComment({ triggerId, revision: outcome.revision, headSha: meta.headSha, batch: outcome.batch, ...(buildUrl ? { buildUrl } : {}), redact: (text) => api.redact(text) });
              await ensureComment(gh, { ...where, number: meta.number, triggerId, code: 'landed', botLogin: await botLogin(gh) }, body);
            }
            return;
          case 'error':
            await status(meta.headSha, 'error', `byoci failed: ${outcome.message}`);
            return;
          case 'rejected': {
            const { code, reason, details } = outcome.rejection;
            await status(meta.headSha, 'failure', reason);
            const triggerId = meta.triggerId ?? `head-${meta.headSha}`;
            const body = rejectionComment({
              triggerId,
              code,
              reason,
              ...(outcome.batch ? { batch: outcome.batch } : {}),
              ...(details ?? outcome.test?.outputTail ? { details: details ?? outcome.test?.outputTail } : {}),
              ...(buildUrl ? { buildUrl } : {}),
              headSha: meta.headSha,
              maxDetails: config.maxCommentDetails,
              redact: (text) => api.redact(text),
            });
            await ensureComment(gh, { ...where, number: meta.number, triggerId, code, botLogin: await botLogin(gh) }, body);
            if (meta.triggerLabel) await removeLabel(gh, { ...where, number: meta.number }, meta.triggerLabel);
            return;
          }
        }
      },
      { timeoutMs },
    );

    hooks.shutdown.tapPromise(async () => {
      durable?.close();
      durable = undefined;
      cache = undefined;
    });
  },
});
