/**
 * The gate: waits, bounded, until every required remote result of a landing is green.
 * Red → Rejection `remote-failed` (name, result, link); still missing or pending at the
 * requirement's deadline → Rejection `remote-timeout` (the proposal is taken out with the
 * reason); an error worth retrying (network, 429, 5xx) is reported as the state and polled
 * again; any other remote error (401, a shape zod refuses) is an internal error.
 * Triggered Jenkins jobs are started once per landing, unless a build of the revision exists.
 */
import { Rejection, matchesAny, type Logger } from '../../core/index.js';
import type { Requirement, Site } from './config.js';
import { RemoteError, sleep } from './http.js';
import type { JenkinsSiteClient } from './jenkins.js';
import type { RemoteResult } from './results.js';

export interface SiteReader {
  /** Every result the site has for `revision` (jenkins: the job `name`'s build). */
  read(requirement: Requirement, revision: string, signal: AbortSignal): Promise<RemoteResult[]>;
  /** jenkins only. */
  jenkins?: JenkinsSiteClient;
}

export interface GateOptions {
  requirements: readonly Requirement[];
  sites: Readonly<Record<string, Site>>;
  readers: ReadonlyMap<string, SiteReader>;
  revisions: { approved: string; merged: string };
  proposal: string;
  timeout: number;
  interval: number;
  dryRun: boolean;
  waiting(what: readonly string[]): void;
  signal: AbortSignal;
  log: Logger;
  now?: () => number;
}

interface Tracked {
  req: Requirement;
  revision: string;
  deadline: number;
  /** Words for "what it waits for". */
  state: string;
  done: boolean;
  trigger?: { queue?: string; build?: number };
}

export function describeRequirement(r: Requirement): string {
  return `${r.site} ${r.name}`;
}

/** Evaluates one poll's results against a requirement: done, or the words of its state. */
export function evaluate(req: Requirement, results: readonly RemoteResult[]): { done: boolean; state: string; red?: RemoteResult } {
  const matches = matchesAny([req.name]);
  const mine = results.filter((r) => matches(r.name));
  const red = mine.find((r) => r.state === 'failure');
  if (red) return { done: false, state: red.result, red };
  if (mine.length === 0) return { done: false, state: 'not reported' };
  const pending = mine.filter((r) => r.state === 'pending');
  if (pending.length === 0) return { done: true, state: 'green' };
  return { done: false, state: pending.map((r) => (pending.length === 1 && r.name === req.name ? r.result : `${r.name} ${r.result}`)).join(', ') };
}

async function readTriggered(t: Tracked, reader: SiteReader, opts: GateOptions): Promise<RemoteResult[]> {
  const client = reader.jenkins!;
  const name = t.req.name;
  t.trigger ??= {};
  if (t.trigger.build === undefined && !t.trigger.queue) {
    const existing = await client.buildFor(name, t.revision);
    if (existing) {
      t.trigger.build = existing.number;
    } else if (opts.dryRun) {
      opts.log.info('dry-run: not starting the remote job', { site: t.req.site, job: name, revision: t.revision });
      return [];
    } else {
      const parameters = Object.fromEntries(
        Object.entries(t.req.parameters).map(([k, v]) => [k, v.replaceAll('{revision}', t.revision).replaceAll('{proposal}', opts.proposal)]),
      );
      t.trigger.queue = await client.trigger(name, parameters);
      opts.log.info('started the remote job', { site: t.req.site, job: name, revision: t.revision, queue: t.trigger.queue });
      t.state = 'queued';
    }
  }
  if (t.trigger.build === undefined && t.trigger.queue) {
    const q = await client.queued(t.trigger.queue);
    if (q.number === undefined) {
      t.state = q.why ? `queued: ${q.why}` : 'queued';
      return [{ name, state: 'pending', result: t.state }];
    }
    t.trigger.build = q.number;
  }
  return [await client.resultOf(name, await client.build(name, t.trigger.build!))];
}

/** Resolves when every requirement is green; throws a Rejection otherwise. */
export async function runGate(opts: GateOptions): Promise<void> {
  const now = opts.now ?? Date.now;
  const start = now();
  const tracked: Tracked[] = opts.requirements.map((req) => ({
    req,
    revision: req.revision === 'merged' ? opts.revisions.merged : opts.revisions.approved,
    deadline: start + (req.timeout ?? opts.timeout) * 1000,
    state: 'not reported',
    done: false,
  }));
  let said = '';
  for (;;) {
    for (const t of tracked.filter((x) => !x.done)) {
      const reader = opts.readers.get(t.req.site)!;
      let results: RemoteResult[];
      try {
        results = t.req.trigger ? await readTriggered(t, reader, opts) : await reader.read(t.req, t.revision, opts.signal);
      } catch (error) {
        if (error instanceof RemoteError && error.transient) {
          t.state = `unreachable: ${error.message}`;
          opts.log.warn('remote CI site not answering; polling again', { site: t.req.site, error: error.message });
          continue;
        }
        throw error;
      }
      if (t.req.trigger && opts.dryRun && t.trigger?.build === undefined && !t.trigger?.queue) {
        t.done = true; // dry-run: the job was not started, so there is nothing to wait for
        continue;
      }
      const verdict = evaluate(t.req, results);
      if (verdict.red) {
        const red = verdict.red;
        throw new Rejection('remote-failed', {
          name: red.name,
          site: t.req.site,
          result: red.result,
          revision: t.revision,
          link: red.url ? ` (${red.url})` : '',
          detail: red.detail ? ` ${red.detail}${/[.!?]$/.test(red.detail) ? '' : '.'}` : '',
        });
      }
      t.done = verdict.done;
      t.state = verdict.state;
      if (t.done) opts.log.info('required remote result is green', { site: t.req.site, name: t.req.name, revision: t.revision });
    }
    const open = tracked.filter((t) => !t.done);
    const words = open.map((t) => `${describeRequirement(t.req)}: ${t.state}`);
    const line = words.join('; ');
    if (line !== said) {
      opts.waiting(words);
      said = line;
    }
    if (open.length === 0) return;
    const late = open.find((t) => now() >= t.deadline);
    if (late) {
      throw new Rejection('remote-timeout', {
        name: late.req.name,
        site: late.req.site,
        state: late.state,
        revision: late.revision,
        seconds: late.req.timeout ?? opts.timeout,
      });
    }
    const next = Math.min(...open.map((t) => t.deadline)) - now();
    await sleep(Math.max(0, Math.min(opts.interval * 1000, next)), opts.signal);
  }
}
