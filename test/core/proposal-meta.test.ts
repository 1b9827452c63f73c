/**
 * Forge-private proposal data: a forge declares the schema of `Proposal.meta`, core
 * validates what its discover returns once, and the forge reads it back typed with
 * `api.proposalMeta()`; data that did not come through discovery is validated on first read.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { definePlugin, z } from '../../core/index.js';
import type { Outcome, Proposal } from '../../hooks/index.js';
import { applyPlugins, targetFor } from '../support/harness.js';
import { testSpec } from '../support/spec.js';

function proposal(id: string, meta: unknown, forge = 'toy'): Proposal {
  return {
    id,
    forge,
    url: `https://toy.example.invalid/${id}`,
    title: id,
    source: { vcs: 'git', url: '/src', branch: 'b' },
    target: { vcs: 'git', url: '/trunk', branch: 'main' },
    commitMessage: 'm',
    votes: [],
    readiness: { state: 'ready' },
    meta,
  };
}

/** A forge whose discover returns `found`, and whose report tap records what it read. */
function toyForge(found: () => Proposal[]) {
  let parses = 0;
  const reads: { number: number; link: string }[] = [];
  const errors: string[] = [];
  const meta = z
    .object({ number: z.number().int(), link: z.string().default('none') })
    .strict()
    .transform((m) => {
      parses++;
      return m;
    });
  const plugin = definePlugin({
    name: 'toy',
    description: 'a forge keeping a number per proposal',
    forge: { schema: z.object({}).passthrough(), branch: () => ({ vcs: 'git', url: '/trunk', branch: 'main' }), meta },
    apply(hooks, api) {
      hooks.discover.tapPromise(async (proposals, { target }) => (target.forge === 'toy' ? [...proposals, ...found()] : proposals));
      hooks.report.tapPromise(async (outcome) => {
        try {
          // Typed: number is a number, link a string, without a cast or a hand check.
          const m = api.proposalMeta(outcome.proposal);
          const n: number = m.number;
          reads.push({ number: n, link: m.link });
        } catch (error) {
          errors.push((error as Error).message);
        }
      });
    },
  });
  return { plugin, reads, errors, parses: () => parses };
}

const project = { name: 'p', targets: [], test: testSpec() };
const target = targetFor('toy', { url: '/trunk' }, { vcs: 'git', url: '/trunk', branch: 'main' });

test('the meta a forge discovers is validated once, defaults applied, and read back typed', async () => {
  const toy = toyForge(() => [proposal('toy:1', { number: 1 })]);
  const h = await applyPlugins([{ plugin: toy.plugin }]);
  try {
    const [p] = await h.hooks.discover.promise([], { project, target, signal: h.run.signal });
    assert.deepEqual(p!.meta, { number: 1, link: 'none' }, 'the parsed value replaces the raw one');
    assert.equal(toy.parses(), 1);
    const started: Outcome = { kind: 'started', proposal: p!, project };
    await h.hooks.report.promise(started);
    // A copy of the proposal (what the queue makes) keeps its validated meta.
    await h.hooks.report.promise({ kind: 'landed', proposal: { ...p!, title: 'copied' }, project, revision: 'r' });
    assert.deepEqual(toy.errors, []);
    assert.deepEqual(toy.reads, [{ number: 1, link: 'none' }, { number: 1, link: 'none' }]);
    assert.equal(toy.parses(), 1, 'not validated again on read');
  } finally {
    h.cleanup();
  }
});

test('a forge discovering a proposal with meta that does not match its schema is an error naming plugin, proposal and field', async () => {
  const toy = toyForge(() => [proposal('toy:2', { number: 'two' })]);
  const h = await applyPlugins([{ plugin: toy.plugin }]);
  try {
    await assert.rejects(
      h.hooks.discover.promise([], { project, target, signal: h.run.signal }),
      (e: Error) => {
        assert.match(e.message, /^\[toy\/discover\] proposal toy:2: as discovered, its toy data \(Proposal\.meta\) does not match the forge's meta schema: number: /);
        return true;
      },
    );
  } finally {
    h.cleanup();
  }
});

test('a proposal listed without meta (one the forge cannot report on) passes discovery; reading it says so', async () => {
  const toy = toyForge(() => [proposal('toy:7', undefined)]);
  const h = await applyPlugins([{ plugin: toy.plugin }]);
  try {
    const [p] = await h.hooks.discover.promise([], { project, target, signal: h.run.signal });
    assert.equal(p!.meta, undefined);
    await h.hooks.report.promise({ kind: 'error', proposal: p!, project, message: 'x' });
    assert.deepEqual(toy.errors, ['proposal toy:7: read back, it carries no toy data (Proposal.meta): was it discovered by toy?']);
  } finally {
    h.cleanup();
  }
});

test('meta that did not come through discovery (reloaded) is validated on first read, with a clear error', async () => {
  const toy = toyForge(() => []);
  const h = await applyPlugins([{ plugin: toy.plugin }]);
  try {
    const reloaded = JSON.parse(JSON.stringify(proposal('toy:3', { number: 3, link: 'x' }))) as Proposal;
    await h.hooks.report.promise({ kind: 'started', proposal: reloaded, project });
    await h.hooks.report.promise({ kind: 'started', proposal: reloaded, project });
    assert.deepEqual(toy.reads, [{ number: 3, link: 'x' }, { number: 3, link: 'x' }]);
    assert.equal(toy.parses(), 1);

    await h.hooks.report.promise({ kind: 'started', proposal: proposal('toy:4', { number: 4, extra: true }), project });
    await h.hooks.report.promise({ kind: 'started', proposal: proposal('toy:5', undefined), project });
    await h.hooks.report.promise({ kind: 'started', proposal: proposal('other:6', { number: 6 }, 'other'), project });
    assert.equal(toy.errors.length, 3, toy.errors.join('\n'));
    assert.match(toy.errors[0]!, /^proposal toy:4: read back, its toy data \(Proposal\.meta\) does not match the forge's meta schema: unknown option extra$/);
    assert.match(toy.errors[1]!, /^proposal toy:5: read back, it carries no toy data \(Proposal\.meta\): was it discovered by toy\?$/);
    assert.equal(toy.errors[2], "proposal other:6 was discovered by other, not toy: its data is not toy's to read");
  } finally {
    h.cleanup();
  }
});

test('a plugin without a meta schema has no proposal data to read', async () => {
  let message = '';
  const plain = definePlugin({
    name: 'plain',
    description: 'no forge',
    apply(hooks, api) {
      hooks.report.tapPromise(async (outcome) => {
        message = (() => {
          try {
            api.proposalMeta(outcome.proposal);
            return 'read';
          } catch (error) {
            return (error as Error).message;
          }
        })();
      });
    },
  });
  const h = await applyPlugins([{ plugin: plain }]);
  try {
    await h.hooks.report.promise({ kind: 'started', proposal: proposal('plain:1', {}, 'plain'), project });
    assert.equal(message, 'plugin plain declares no forge.meta schema: it has no proposal data to read');
  } finally {
    h.cleanup();
  }
});
