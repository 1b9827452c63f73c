/**
 * Fuzz-style robustness against junk forge answers (issue 12 acceptance): every answer the
 * Launchpad plugin reads during a discovery is replaced, one at a time, by a seeded
 * shape-breaking mutant of the real answer (served by the local Launchpad over loopback).
 * Asserts: no proposal is rejected or commented on because of it (each proposal keeps the
 * readiness it had, or waits on an internal error), nothing is posted, no raw JavaScript
 * message reaches a reason, peak memory stays bounded. Bounded by count and seconds.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { authorizationHeader } from '../../plugins/launchpad/credentials.js';
import type { LaunchpadServer } from '../support/launchpad-server.js';
import { json, mutateJson, prng, text } from '../support/junk.js';
import { CREDENTIALS, discover, FORK, harness, startLaunchpad, TRUNK } from '../plugins/launchpad/helpers.js';

const SEED = Number(process.env.BYOCI_FUZZ_SEED ?? 20261201);
const COUNT = Number(process.env.BYOCI_FUZZ_COUNT ?? 300);
const BUDGET_MS = 10_000;
const MAX_RSS_BYTES = 1024 * 1024 * 1024;
const RAW_JS = /Cannot read properties|Unexpected token|is not a function|is not iterable|undefined is not|null is not|\n\s+at /;
/** Fields every Launchpad answer of that kind must have: breaking them is junk, never data. */
const REQUIRED = ['self_link', 'entries', 'queue_status', 'is_pending'];

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** A mutant of `value` that no real Launchpad answer can be. */
function breakShape(value: Json, rand: ReturnType<typeof prng>): Json | { html: string } {
  const obj = value && typeof value === 'object' && !Array.isArray(value) ? value : undefined;
  const entries = obj && Array.isArray(obj.entries) && obj.entries.length ? (obj.entries as Json[]) : undefined;
  switch (rand.int(entries ? 5 : obj ? 4 : 3)) {
    case 0:
      return { html: '<!DOCTYPE html><html><body>Launchpad is down for maintenance</body></html>' };
    case 1:
      return typeof value === 'boolean' ? rand.pick([null, 'true', 1, [value]]) : rand.pick([42, 'not an entry', [value], true]);
    case 2:
      return mutateJson(value, rand) === value ? null : typeof value === 'boolean' || value === null ? 'yes' : Array.isArray(value) ? 'a list' : null;
    case 3: {
      const keys = REQUIRED.filter((k) => obj && k in obj);
      if (!keys.length) return null;
      return { ...obj, [rand.pick(keys)]: rand.pick([null, 7, false]) };
    }
    default: {
      const copy = [...entries!];
      const k = rand.int(copy.length);
      const entry = copy[k];
      const keys = REQUIRED.filter((key) => entry && typeof entry === 'object' && !Array.isArray(entry) && key in entry);
      copy[k] = keys.length && rand.int(2) ? { ...(entry as Record<string, Json>), [rand.pick(keys)]: rand.pick([null, 7]) } : rand.pick([null, 7, 'x']);
      return { ...obj!, entries: copy };
    }
  }
}

describe('fuzz: junk Launchpad answers', () => {
  let lp: LaunchpadServer;
  const REV = 'c'.repeat(40);
  before(async () => {
    lp = await startLaunchpad();
    lp.addPerson('maintainer');
    lp.repos.get(TRUNK)!.trusted.add('maintainer');
    const add = (name: string, reviewer: string, extra: Record<string, unknown> = {}) => {
      lp.setRef(FORK, name, REV);
      const p = lp.addProposal({ source: { git: FORK, path: name }, target: { git: TRUNK, path: 'master' }, commitMessage: `Land ${name}`, ...extra });
      lp.approve(p.id, REV);
      lp.vote(p.id, reviewer, 'Approve');
      return p.id;
    };
    add('ready-a', 'reviewer');
    add('ready-b', 'maintainer');
    lp.vote(add('untrusted', 'outsider'), 'outsider', 'Approve');
    add('no-message', 'reviewer', { commitMessage: null, description: ' ' });
    lp.vote(add('pending', 'reviewer'), 'maintainer', 'pending');
  });
  after(() => lp.close());

  async function run(): Promise<{ readiness: Map<string, unknown>; posts: number; error?: Error }> {
    const h = await harness(lp);
    const before = lp.requests.length;
    try {
      const found = await discover(h);
      return { readiness: new Map([...found].map(([id, p]) => [id, p.readiness])), posts: lp.requests.slice(before).filter((r) => r.method === 'POST').length };
    } catch (error) {
      return { readiness: new Map(), posts: lp.requests.slice(before).filter((r) => r.method === 'POST').length, error: error as Error };
    } finally {
      h.cleanup();
    }
  }

  test(`up to ${COUNT} junk answers: no rejection, no comment, no raw JavaScript message`, async () => {
    const start = lp.requests.length;
    const baseline = await run();
    assert.equal(baseline.error, undefined);
    const states = [...baseline.readiness.values()].map((r) => (r as { state: string }).state);
    assert.ok(states.includes('ready') && states.includes('rejected'), `baseline has ready and rejected proposals: ${states}`);

    // Every GET the discovery made, with Launchpad's real answer.
    const seen = new Map<string, { match: RegExp; answer: Json }>();
    for (const r of lp.requests.slice(start)) {
      if (r.method !== 'GET') continue;
      const query = new URLSearchParams(r.params).toString();
      const url = `${lp.root.replace(/\/$/, '')}${r.path}${query ? `?${query}` : ''}`;
      if (seen.has(url)) continue;
      const res = await fetch(url, { headers: { Accept: 'application/json', Authorization: authorizationHeader(CREDENTIALS, lp.root) } });
      const escaped = `${r.path}${query ? `?${query}` : ''}`.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      seen.set(url, { match: new RegExp(`^GET ${escaped}$`), answer: (await res.json()) as Json });
    }
    const resources = [...seen.values()];
    assert.ok(resources.length >= 8, `the discovery reads ${resources.length} resources`);

    const rand = prng(SEED + 10);
    const started = Date.now();
    let n = 0;
    let junkSeen = 0;
    for (; n < COUNT && Date.now() - started < BUDGET_MS; n++) {
      const resource = resources[n % resources.length]!;
      const mutant = breakShape(resource.answer, rand);
      lp.clearOverrides();
      lp.override(resource.match, mutant && typeof mutant === 'object' && 'html' in mutant ? text(200, String(mutant.html)) : json(200, mutant));
      const result = await run();
      const where = `mutant ${n} of ${resource.match.source}: ${JSON.stringify(mutant).slice(0, 200)}`;
      assert.equal(result.posts, 0, `${where}: nothing is posted`);
      if (result.error) {
        assert.doesNotMatch(result.error.message, RAW_JS, where);
        junkSeen++;
        continue;
      }
      for (const [id, before] of baseline.readiness) {
        const now = result.readiness.get(id) as { state: string; internal?: boolean; reason?: string } | undefined;
        if (now === undefined) continue; // skipped with its target or its page
        if (now.state === 'waiting' && now.internal) {
          junkSeen++;
          assert.doesNotMatch(now.reason ?? '', RAW_JS, where);
          continue;
        }
        // Waiting posts nothing and keeps the status (a null answer can mean "no such branch");
        // a rejection must be exactly the one the real answers give.
        if (now.state === 'rejected') assert.deepEqual(now, before, `${where}: ${id} rejected because of a junk answer`);
        if (now.state === 'ready') assert.equal((before as { state: string }).state, 'ready', `${where}: ${id} became ready`);
        if (now.state === 'waiting') assert.doesNotMatch(now.reason ?? '', RAW_JS, where);
      }
    }
    lp.clearOverrides();
    // A floor, not a speed goal: under load the budget ends the loop early.
    assert.ok(n >= Math.min(COUNT, 10), `only ${n} mutants in the budget`);
    assert.ok(junkSeen > n / 2, `the junk was noticed (${junkSeen} of ${n})`);
    const peak = process.resourceUsage().maxRSS * 1024;
    assert.ok(peak < MAX_RSS_BYTES, `peak RSS ${Math.round(peak / 1024 / 1024)} MiB`);
  });
});
