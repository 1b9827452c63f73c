import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { z } from 'zod';
import type { Outcome, Proposal } from '../../hooks/index.js';
import { ConfigError, PluginError, Rejection, TimeoutError, asRejection, definePlugin } from '../../core/index.js';
import { applyPlugins } from '../support/harness.js';

const proposal: Proposal = {
  id: 'local:1',
  forge: 'local',
  url: 'file:///p/1',
  title: 't',
  source: { vcs: 'git', url: '/src', branch: 'feature' },
  target: { vcs: 'git', url: '/trunk', branch: 'main' },
  commitMessage: 'm',
  votes: [],
  readiness: { state: 'ready' },
};

describe('tap interceptor', () => {
  test('errors are stamped with {plugin, hook}; rejections stay recognisable', async () => {
    const plugin = definePlugin({
      name: 'thrower',
      description: 'throws',
      apply(hooks) {
        hooks.fetch.tapPromise(async () => {
          throw new Rejection('changes-after-approval', { tip: 'b', approved: 'a' });
        });
        hooks.merge.tapPromise(async () => {
          throw new Error('boom');
        });
      },
    });
    const h = await applyPlugins([{ plugin }]);
    const fetchError = await h.hooks.fetch.promise({ proposal, workspace: '/tmp/x', signal: h.run.signal }).catch((e: unknown) => e);
    assert.ok(fetchError instanceof PluginError);
    assert.equal(fetchError.plugin, 'thrower');
    assert.equal(fetchError.hook, 'fetch');
    assert.equal(asRejection(fetchError)?.code, 'changes-after-approval');
    assert.match(asRejection(fetchError)?.reason ?? '', /source is at b, the approved revision is a/);
    const mergeError = await h.hooks.merge
      .promise({ proposal, checkout: { dir: '/x', targetRevision: 'a', sourceRevision: 'b' }, message: 'm', committer: { name: 'n', email: 'e@x' }, signal: h.run.signal })
      .catch((e: unknown) => e);
    assert.ok(mergeError instanceof PluginError);
    assert.equal(mergeError.message, '[thrower/merge] boom');
    assert.equal(asRejection(mergeError), undefined);
    h.cleanup();
  });

  test('a tap that outlives its timeout fails with a TimeoutError naming it', async () => {
    const plugin = definePlugin({
      name: 'slow',
      description: 'never answers',
      apply(hooks) {
        hooks.push.tapPromise(() => new Promise(() => {}), { timeoutMs: 20 });
      },
    });
    const h = await applyPlugins([{ plugin }], { settleMs: 50 });
    const error = await h.hooks.push
      .promise({ proposal, checkout: { dir: '/x', targetRevision: 'a', sourceRevision: 'b' }, merge: { revision: 'c' }, signal: h.run.signal })
      .catch((e: unknown) => e);
    assert.ok(error instanceof PluginError);
    assert.ok(error.cause instanceof TimeoutError);
    assert.match(error.message, /slow on push did not finish within 20 ms/);
    h.cleanup();
  });

  test('a throwing reporter is logged and the other reporters still run', async () => {
    const seen: string[] = [];
    const bad = definePlugin({
      name: 'bad-reporter',
      description: 'throws',
      apply(hooks) {
        hooks.report.tapPromise(async () => {
          throw new Error('reporter down');
        });
      },
    });
    const good = definePlugin({
      name: 'good-reporter',
      description: 'records',
      apply(hooks) {
        hooks.report.tapPromise(async (outcome: Outcome) => {
          seen.push(outcome.kind);
        });
      },
    });
    const h = await applyPlugins([{ plugin: bad }, { plugin: good }]);
    await h.hooks.report.promise({ kind: 'started', proposal, project: { name: 'p', targets: [], test: {} as never } });
    assert.deepEqual(seen, ['started']);
    assert.ok(h.lines.some((l) => l.includes('[bad-reporter] tap failed; outcome unchanged') && l.includes('reporter down')));
    h.cleanup();
  });

  test('taps run in registration order, stage first; bail hooks stop at the first value', async () => {
    const order: string[] = [];
    const make = (name: string, answer: boolean, stage?: number) =>
      definePlugin({
        name,
        description: name,
        apply(hooks) {
          hooks.testInContainer.tapPromise(async () => {
            order.push(name);
            return answer ? { backend: name, exitCode: 0, phase: 'test', outputTail: '', artefacts: [], durationMs: 0 } : undefined;
          }, stage === undefined ? {} : { stage });
        },
      });
    const h = await applyPlugins([{ plugin: make('late', true, 100) }, { plugin: make('first', false) }, { plugin: make('second', true) }]);
    const result = await h.hooks.testInContainer.promise({} as never);
    assert.equal(result?.backend, 'second');
    assert.deepEqual(order, ['first', 'second']);
    h.cleanup();
  });

  test('plugin config is validated by its schema, with the option path', async () => {
    const plugin = definePlugin({
      name: 'configured',
      description: 'has config',
      config: z.object({ port: z.number().int() }).strict(),
      apply() {},
    });
    const error = await applyPlugins([{ plugin, config: { port: 'x', extra: 1 } }]).catch((e: unknown) => e);
    assert.ok(error instanceof ConfigError);
    const paths = error.problems.map((p) => p.path).sort();
    assert.deepEqual(paths, ['plugins.configured.extra', 'plugins.configured.port']);
  });

  test('secret values reach only their plugin and are redacted from every log line', async () => {
    let seen: string | undefined;
    const plugin = definePlugin({
      name: 'needs-token',
      description: 'logs carelessly',
      secrets: { token: { description: 'API token' } },
      apply(hooks, api) {
        hooks.shutdown.tapPromise(async () => {
          seen = api.secrets.require('token');
          api.log.info(`token is ${seen}`, { encoded: encodeURIComponent(seen), b64: Buffer.from(seen).toString('base64') });
        });
      },
    });
    const secret = 's3cr3t/value+with=chars';
    const h = await applyPlugins([{ plugin, secrets: { token: secret } }]);
    await h.hooks.shutdown.promise({ reason: 'done' });
    assert.equal(seen, secret);
    const text = h.lines.join('\n');
    assert.ok(text.includes('token is [REDACTED]'));
    assert.ok(!text.includes(secret));
    assert.ok(!text.includes(encodeURIComponent(secret)));
    assert.ok(!text.includes(Buffer.from(secret).toString('base64')));
    h.cleanup();
  });

  test('resolvePath makes config paths absolute against the config directory', async () => {
    let seen: string[] = [];
    const plugin = definePlugin({
      name: 'paths',
      description: 'resolves paths',
      apply(_hooks, api) {
        seen = [api.resolvePath('known_hosts'), api.resolvePath('/etc/ssh/known')];
      },
    });
    const h = await applyPlugins([{ plugin }]);
    assert.deepEqual(seen, [`${h.run.configDir}/known_hosts`, '/etc/ssh/known']);
    h.cleanup();
  });
});

describe('tap signals', () => {
  const checkout = { dir: '/x', targetRevision: 'a', sourceRevision: 'b' };

  test('a tap past its timeout sees its own signal fire, and core waits for it to settle', async () => {
    const events: string[] = [];
    const plugin = definePlugin({
      name: 'patient',
      description: 'stops when told',
      apply(hooks) {
        hooks.push.tapPromise(
          ({ signal }) =>
            new Promise((_, reject) => {
              signal.addEventListener('abort', () => {
                events.push(`aborted: ${(signal.reason as Error).message}`);
                setTimeout(() => {
                  events.push('settled');
                  reject(new Error('stopped'));
                }, 30);
              });
            }),
          { timeoutMs: 20 },
        );
      },
    });
    const h = await applyPlugins([{ plugin }]);
    const error = await h.hooks.push.promise({ proposal, checkout, merge: { revision: 'c' }, signal: h.run.signal }).catch((e: unknown) => e);
    events.push('core resumed');
    assert.deepEqual(events, ['aborted: patient on push did not finish within 20 ms', 'settled', 'core resumed']);
    assert.ok(error instanceof PluginError);
    assert.equal(error.message, '[patient/push] patient on push did not finish within 20 ms (aborted)');
    assert.equal(h.run.signal.aborted, false, "the tap's signal is its own: the run goes on");
    h.cleanup();
  });

  test('a tap that never settles fails after the grace time, naming plugin and hook, and is recorded as abandoned', async () => {
    const plugin = definePlugin({
      name: 'deaf',
      description: 'ignores its signal',
      apply(hooks) {
        hooks.fetch.tapPromise(() => new Promise(() => {}), { timeoutMs: 20 });
      },
    });
    const h = await applyPlugins([{ plugin }], { settleMs: 50 });
    const started = Date.now();
    const error = await h.hooks.fetch.promise({ proposal, workspace: '/tmp/x', signal: h.run.signal }).catch((e: unknown) => e);
    assert.ok(Date.now() - started < 2000);
    assert.ok(error instanceof PluginError);
    assert.equal(error.plugin, 'deaf');
    assert.equal(error.hook, 'fetch');
    assert.match(error.message, /^\[deaf\/fetch\] deaf on fetch did not finish within 20 ms and did not stop within 50 ms of being aborted$/);
    assert.ok(h.lines.some((l) => l.includes('tap did not stop after being aborted')));
    h.cleanup();
  });

  test("the run's abort reaches running taps (payload.signal and context.signal), not shutdown's", async () => {
    const seen: Record<string, boolean> = {};
    let release: () => void = () => {};
    const plugin = definePlugin({
      name: 'listener',
      description: 'waits for an abort',
      apply(hooks) {
        hooks.merge.tapPromise(
          ({ signal }, context) =>
            new Promise((_, reject) => {
              signal.addEventListener('abort', () => {
                seen.payload = true;
                seen.context = context.signal.aborted;
                reject(new Error('interrupted'));
              });
            }),
        );
        hooks.report.tapPromise(async (_outcome, { signal }) => {
          seen.reportAborted = signal.aborted;
        });
        hooks.shutdown.tapPromise(
          ({ signal }) =>
            new Promise<void>((resolve) => {
              seen.shutdownAborted = signal?.aborted ?? true;
              release = resolve;
            }),
        );
      },
    });
    const h = await applyPlugins([{ plugin }]);
    const merging = h.hooks.merge
      .promise({ proposal, checkout, message: 'm', committer: { name: 'n', email: 'e@x' }, signal: h.run.signal })
      .catch((e: unknown) => e);
    setTimeout(() => h.abort('SIGTERM'), 10);
    const error = await merging;
    assert.ok(error instanceof PluginError);
    assert.equal(error.message, '[listener/merge] interrupted');
    assert.deepEqual({ payload: seen.payload, context: seen.context }, { payload: true, context: true });
    await h.hooks.report.promise({ kind: 'started', proposal, project: { name: 'p', targets: [], test: {} as never } });
    assert.equal(seen.reportAborted, true, 'report taps are aborted with the run');
    const shutdown = h.hooks.shutdown.promise({ reason: 'signal' });
    await new Promise((r) => setTimeout(r, 10));
    assert.equal(seen.shutdownAborted, false, 'shutdown runs after an abort, to clean up');
    release();
    await shutdown;
    h.cleanup();
  });
});
