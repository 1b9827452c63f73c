/**
 * The local forge: merge proposals are YAML files in a directory (see README.md). The
 * embedded default forge, for trying byoci without Launchpad or GitHub and for tests.
 */
import { stat } from 'node:fs/promises';
import { definePlugin, targetOptions } from '../../core/index.js';
import type { Proposal, Target } from '../../hooks/index.js';
import { FORGE, normaliseRepo, targetMatches, toProposal, type TargetSpec } from './proposal.js';
import { reportOutcome } from './report.js';
import { CLOSED_STATUSES, configSchema, metaSchema, targetSchema, type LocalMeta } from './schema.js';
import { listProposalFiles, readProposalFile, type ReadResult } from './store.js';

export const NAME = FORGE;

/** A proposal file that could not be read: listed (waiting, with why) so `byoci list` shows it. */
function brokenProposal(result: Extract<ReadResult, { ok: false }>): Proposal {
  return {
    id: `${FORGE}:${result.id}`,
    forge: FORGE,
    url: result.file,
    title: `(invalid proposal file ${result.file})`,
    source: { vcs: 'git', url: '', branch: '' },
    target: { vcs: 'git', url: '', branch: '' },
    commitMessage: '',
    votes: [],
    readiness: { state: 'waiting', reason: `invalid proposal file: ${result.error}` },
    meta: { file: result.file, localId: result.id, invalid: true } satisfies LocalMeta,
  };
}

/** The raw `target` of a file that failed validation, when it can still be read. */
function rawTarget(raw: unknown): { repo: string; branch: string } | undefined {
  if (!raw || typeof raw !== 'object') return undefined;
  const t = (raw as Record<string, unknown>).target;
  if (!t || typeof t !== 'object') return undefined;
  const { repo, branch } = t as Record<string, unknown>;
  return typeof repo === 'string' ? { repo, branch: typeof branch === 'string' ? branch : '' } : undefined;
}

export default definePlugin({
  name: NAME,
  description: 'Merge proposals as YAML files in a directory (the embedded default forge)',
  config: configSchema,
  forge: {
    schema: targetSchema,
    branch: (target, { configDir }) => ({ vcs: target.vcs, url: normaliseRepo(target.repo, configDir), branch: target.branch }),
    meta: metaSchema,
  },
  apply(hooks, api) {
    const dir = api.config.dir ? api.resolvePath(api.config.dir) : undefined;
    /** Broken files whose target is unknown are listed once per run, not once per target. */
    const listedBroken = new Set<string>();
    const log = api.log;

    /** Core validated the target with targetSchema at config load. */
    function targetSpec(target: Target): TargetSpec {
      const options = targetOptions(targetSchema, target);
      return { repo: normaliseRepo(options.repo, api.run.configDir), branch: options.branch };
    }

    hooks.verify.tapPromise(async ({ projects, problems, notes }) => {
      const localTargets = projects.flatMap((p) => p.targets.filter((t) => t.forge === FORGE));
      if (!dir) {
        if (localTargets.length > 0) {
          problems.push({ source: NAME, message: 'plugins.local.dir is not set', hint: 'set it to the directory holding the proposal files (<id>.yaml)' });
        }
        return;
      }
      const isDir = await stat(dir).then((s) => s.isDirectory(), () => false);
      if (!isDir) {
        problems.push({ source: NAME, message: `plugins.local.dir: ${dir} is not a directory`, hint: 'create it, or point plugins.local.dir at the proposal files' });
        return;
      }
      const results = await Promise.all((await listProposalFiles(dir)).map(readProposalFile));
      const broken = results.filter((r) => !r.ok);
      notes.push({
        source: NAME,
        message: `${results.length} proposal file(s) in ${dir}${broken.length ? `, ${broken.length} invalid: ${broken.map((b) => b.id).join(', ')}` : ''}`,
      });
    });

    hooks.discover.tapPromise(async (proposals, { target }) => {
      if (target.forge !== FORGE) return proposals;
      if (!dir) throw new Error('plugins.local.dir is not set: the local forge does not know where the proposal files are');
      const spec = targetSpec(target);
      const found: Proposal[] = [];
      for (const entry of await listProposalFiles(dir)) {
        const result = await readProposalFile(entry);
        if (!result.ok) {
          const t = rawTarget(result.raw);
          const mine = t ? targetMatches(t, dir, spec, 'git') : !listedBroken.has(result.file);
          if (!mine) continue;
          listedBroken.add(result.file);
          log.warn('invalid proposal file', { file: result.file, error: result.error });
          found.push(brokenProposal(result));
          continue;
        }
        if (!targetMatches(result.data.target, dir, spec, result.data.vcs)) continue;
        if (CLOSED_STATUSES.includes(result.data.status)) continue;
        found.push(toProposal(result.data, { id: result.id, file: result.file, dir, target: spec, trusted: api.config.trusted, criteria: api.config.criteria }));
      }
      return [...proposals, ...found];
    });

    hooks.report.tapPromise(async (outcome) => {
      if (outcome.proposal.forge !== FORGE) return;
      const meta = api.proposalMeta(outcome.proposal);
      if (meta.invalid) return;
      const changed = await reportOutcome(outcome, meta, {
        author: api.config.commentAuthor ?? api.run.landing.user,
        redact: (text) => api.redact(text),
      });
      if (changed) log.info('proposal file updated', { id: outcome.proposal.id, outcome: outcome.kind });
    });
  },
});
