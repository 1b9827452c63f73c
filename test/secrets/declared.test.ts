/**
 * Plugins receive only the secrets they declare: through core's bot, with a real store
 * holding secrets of several plugins, each plugin sees its own declared values and nothing
 * else; the values found are masked in every log line; a missing required secret is a
 * verify problem naming the key and the command that sets it.
 */
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Bot } from '../../core/bot.js';
import { loadConfig } from '../../core/config.js';
import { createLogger } from '../../core/logger.js';
import { definePlugin, type AnyPlugin } from '../../core/plugin.js';
import { Redactor, createStores, declaredSecrets, resolveDeclaredSecrets, secretsConfigSchema } from '../../secrets/index.js';

const VALUES = {
  'alpha/token': 'alpha-token-value-1234',
  'alpha/undeclared': 'alpha-undeclared-value-5678',
  'beta/key': 'beta-key-value-abcd',
};

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'byoci-declared-'));
  for (const [key, value] of Object.entries(VALUES)) {
    await mkdir(join(dir, 'secrets', key.split('/')[0]!), { recursive: true, mode: 0o700 });
    await writeFile(join(dir, 'secrets', key), value, { mode: 0o600 });
  }
  await chmod(join(dir, 'secrets'), 0o700);
});
after(async () => rm(dir, { recursive: true, force: true }));

function probe(name: string, declares: Record<string, { description: string; required?: boolean }>, asks: string[], seen: Record<string, unknown>): AnyPlugin {
  return definePlugin({
    name,
    description: `probe ${name}`,
    secrets: declares,
    apply(hooks, api) {
      hooks.verify.tapPromise(async () => {
        for (const n of asks) seen[`${name} asks ${n}`] = api.secrets.get(n) ?? null;
        api.log.info('probe sees', { values: asks.map((n) => api.secrets.get(n) ?? null) });
      });
    },
  });
}

describe('plugins receive only the secrets they declare', () => {
  test('through the bot: own declared values only, masked in the logs', async () => {
    const seen: Record<string, unknown> = {};
    const alpha = probe('alpha', { token: { description: 'alpha token' } }, ['token', 'undeclared'], seen);
    const beta = probe('beta', { key: { description: 'beta key' }, missing: { description: 'not stored', required: false } }, ['key', 'missing', 'token'], seen);
    const config = loadConfig({ text: `workdir: ${JSON.stringify(join(dir, 'work'))}\nplugins:\n  alpha: {}\n  beta: {}\n`, env: {} });
    const redactor = new Redactor();
    const lines: string[] = [];
    const bot = await Bot.create({
      config,
      registry: new Map([alpha, beta].map((p) => [p.name, p])),
      defaultPlugins: [],
      stores: createStores(secretsConfigSchema.parse({ order: ['file'], dir: join(dir, 'secrets') })),
      log: createLogger({ level: 'debug', redactor, write: (l) => lines.push(l) }),
      redactor,
    });
    try {
      const { problems } = await bot.verify();
      assert.deepEqual(problems, []);
    } finally {
      await bot.shutdown('done');
    }
    assert.deepEqual(seen, {
      'alpha asks token': VALUES['alpha/token'],
      'alpha asks undeclared': null, // stored, but not declared: never looked up
      'beta asks key': VALUES['beta/key'],
      'beta asks missing': null,
      'beta asks token': null, // alpha's secret
    });
    const log = lines.join('\n');
    assert.ok(!log.includes(VALUES['alpha/token']) && !log.includes(VALUES['beta/key']), log);
    assert.match(log, /probe sees values=\["\[REDACTED\]",null\]/);
    // The undeclared value was never read, so it is not even registered for masking.
    assert.equal(redactor.redact(VALUES['alpha/undeclared']), VALUES['alpha/undeclared']);
  });

  test('a required secret no store holds is a verify problem naming it and the fix', async () => {
    const gamma = probe('gamma', { oauth: { description: 'OAuth credentials' } }, [], {});
    const config = loadConfig({ text: `workdir: ${JSON.stringify(join(dir, 'work2'))}\nplugins:\n  gamma: {}\n`, env: {} });
    const bot = await Bot.create({
      config,
      registry: new Map([[gamma.name, gamma]]),
      defaultPlugins: [],
      stores: createStores(secretsConfigSchema.parse({ order: ['env', 'file'], dir: join(dir, 'secrets') }), { env: {} }),
      log: createLogger({ write: () => {} }),
      redactor: new Redactor(),
    });
    try {
      const { problems } = await bot.verify();
      assert.equal(problems.length, 1);
      assert.match(problems[0]!.message, /required secret gamma\/oauth \(OAuth credentials\) is not set in any store \(env, file\)/);
      assert.equal(problems[0]!.hint, 'byoci secrets set gamma/oauth');
    } finally {
      await bot.shutdown('done');
    }
  });

  test('declaredSecrets and resolveDeclaredSecrets (the helpers for core and check)', async () => {
    const plugin = probe('alpha', { token: { description: 'alpha token' }, other: { description: 'absent', required: false } }, [], {});
    assert.deepEqual(declaredSecrets([plugin]), [
      { plugin: 'alpha', name: 'token', key: 'alpha/token', description: 'alpha token', required: true },
      { plugin: 'alpha', name: 'other', key: 'alpha/other', description: 'absent', required: false },
    ]);
    const stores = createStores(secretsConfigSchema.parse({ order: ['file'], dir: join(dir, 'secrets') }));
    const { values, missing, found } = await resolveDeclaredSecrets(plugin, stores);
    assert.deepEqual([...values], [['token', VALUES['alpha/token']]]);
    assert.deepEqual([...found], [['token', 'file']]);
    assert.deepEqual(missing.map((m) => m.key), ['alpha/other']);
  });
});
