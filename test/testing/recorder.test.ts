// byoci/testing's recorder: `Landing.calls` holds every hook point core called, in order,
// for a real landing on the local forge (real git repositories, the kit's sandbox backend).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { HOOK_NAMES } from '../../hooks/index.js';
import { assertHookOrder, createKit } from '../../testing/index.js';

describe('byoci/testing records every hook call', () => {
  test('a landing and a rejection: every hook point appears, in the order of the docs', async () => {
    const kit = await createKit({ test: { command: 'test ! -f broken.txt' } });
    try {
      const good = await kit.propose({ branch: 'good', files: { 'good.txt': 'good\n' }, title: 'Good' });
      const landing = await kit.land();
      assert.deepEqual(landing.results.map((r) => [r.proposal.id, r.kind]), [[good, 'landed']]);
      const hooks = new Set(landing.calls.map((c) => c.hook));
      assert.deepEqual(HOOK_NAMES.filter((h) => !hooks.has(h)), [], `hooks never recorded; calls: ${landing.calls.map((c) => c.name).join(', ')}`);
      assertHookOrder(landing.calls, ['verify', 'sweep', 'discover', 'prepare', 'fetch', 'merge', 'gate', 'testInContainer', 'push', 'report:landed', 'shutdown']);
      assertHookOrder(landing.calls, ['report:started', 'fetch'], good);
      assertHookOrder(landing.calls, ['queueChanged:testing', 'queueChanged:landed'], good);
      for (const call of landing.calls.filter((c) => ['prepare', 'fetch', 'merge', 'gate', 'testInContainer', 'push', 'report', 'queueChanged'].includes(c.hook))) {
        assert.equal(call.proposal, good, `${call.name} names the proposal`);
      }
      assert.equal(landing.calls.at(-1)?.hook, 'shutdown');
      assert.equal(landing.calls.filter((c) => c.hook === 'shutdown').length, 1);

      const bad = await kit.propose({ branch: 'bad', files: { 'broken.txt': 'x\n' } });
      const second = await kit.land();
      assert.deepEqual(second.results.map((r) => [r.proposal.id, r.kind]), [[bad, 'rejected']]);
      assertHookOrder(second.calls, ['prepare', 'fetch', 'merge', 'testInContainer', 'report:rejected', 'queueChanged:out', 'shutdown'], bad);
      assert.ok(!second.calls.some((c) => c.hook === 'push'), 'a rejected landing is never pushed');
    } finally {
      await kit.cleanup();
    }
  });
});
