/**
 * bwrap: runs a project's tests in a bubblewrap sandbox, the fallback container backend
 * when no LXD daemon answers. Takes `backend: bwrap`, and `backend: auto` when bwrap works
 * (its tap runs after LXD's, which takes `auto` first when its daemon answers).
 */
import { definePlugin, tapSandboxBackend } from '../../core/index.js';
import { configSchema } from './config.js';
import { probeBwrap } from './probe.js';
import { runInBwrap } from './run.js';

export const NAME = 'bwrap';

/** Stage of the testInContainer tap: after the default stage, so LXD gets `auto` first. */
export const TEST_STAGE = 10;

export default definePlugin({
  name: NAME,
  description: 'Runs the tests in a bubblewrap sandbox (fallback when LXD is unavailable)',
  config: configSchema,
  handles: { backends: [NAME] },
  apply(hooks, api) {
    tapSandboxBackend(hooks, api.log, {
      name: NAME,
      stage: TEST_STAGE,
      autoUse: 'auto fallback',
      async probe(signal) {
        const result = await probeBwrap(api.config.bwrap, signal);
        return result.ok ? { ok: true, note: `bwrap ${result.version} creates namespaces` } : result;
      },
      run: (payload, live) => runInBwrap(payload, { name: NAME, config: api.config, log: api.log, redact: (text) => api.redact(text), live }),
    });
  },
});
