/**
 * The example plugins of examples/plugins/, written against the public API only: their own
 * tests (run here too), and loading each by npm package name through the kit, as
 * `byoci plugins` lists them. A plugin of another API version is refused, saying why.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, test } from 'node:test';
import { ConfigError } from '../../core/index.js';
import { createKit, tempDir } from '../../testing/index.js';
import { missingCommands, suiteNeeds } from '../support/components.js';
import { docPluginCode, importsOf, recordingServer, writeRepoPlugin } from '../support/plugin-fixture.js';
import '../../examples/plugins/webhook/test/webhook.test.js';
import '../../examples/plugins/mail/test/mail.test.js';

const WEBHOOK = resolve('examples/plugins/webhook');

describe('example plugins by package name', suiteNeeds('git', missingCommands('git')), () => {
  test('the webhook reporter loads by package name; byoci plugins lists it with its source, API version, hooks and secrets', async () => {
    const server = await recordingServer({ status: 204 });
    const kit = await createKit({
      plugins: { 'byoci-webhook-reporter': { url: server.url } },
      packages: { 'byoci-webhook-reporter': WEBHOOK },
      secrets: { 'webhook/hmac-key': 'k3y-for-the-test' },
    });
    try {
      const id = await kit.propose({ branch: 'fix' });
      const landing = await kit.land();
      assert.deepEqual(landing.results.map((r) => [r.proposal.id, r.kind]), [[id, 'landed']]);
      assert.equal(JSON.parse(server.requests[0]?.body ?? '{}').kind, 'landed');
      const webhook = landing.plugins.find((p) => p.name === 'webhook');
      assert.deepEqual(webhook, {
        name: 'webhook',
        description: 'POSTs each landing outcome as JSON, signed with HMAC-SHA256',
        configKey: 'byoci-webhook-reporter',
        source: 'package',
        apiVersion: 1,
        hooks: ['report'],
        secrets: [{ name: 'hmac-key', description: 'shared key of the HMAC-SHA256 signature', required: true, set: true }],
        commands: [],
      });
      assert.deepEqual(
        landing.plugins.filter((p) => p.source === 'built-in').map((p) => p.name).sort(),
        ['git', 'host', 'local'],
      );
    } finally {
      await kit.cleanup();
      await server.close();
    }
  });

  test('a plugin written for another API version, or declaring none, is refused with the reason', async () => {
    const dir = tempDir('byoci-api-version-');
    try {
      mkdirSync(join(dir.dir, 'p'));
      const write = (name: string, version: string) =>
        writeFileSync(join(dir.dir, 'p', `${name}.mjs`), `export default { name: '${name}', description: 'x', ${version} apply() {} };\n`);
      write('future', 'apiVersion: 2,');
      write('unversioned', '');
      for (const [name, expected] of [
        ['future', /plugin future is written for plugin API version 2, this byoci supports version 1/],
        ['unversioned', /plugin unversioned declares no apiVersion: add apiVersion: 1/],
      ] as const) {
        const kit = await createKit({ plugins: { [join(dir.dir, 'p', `${name}.mjs`)]: {} } });
        try {
          const error = await kit.land().catch((e: unknown) => e);
          assert.ok(error instanceof ConfigError, String(error));
          assert.match(error.message, expected);
          assert.match(error.message, new RegExp(`byoci\\.yaml:\\d+:\\d+: plugins\\.${dir.dir.replace(/[/.]/g, '\\$&')}`));
        } finally {
          await kit.cleanup();
        }
      }
    } finally {
      dir.remove();
    }
  });
});

describe('the reporter of docs/plugins.md', suiteNeeds('git', missingCommands('git')), () => {
  test('is under 60 lines, uses only the public API, and posts a rejection through the kit', async () => {
    const code = docPluginCode('## A complete reporter');
    assert.ok(code.split('\n').length < 60, `${code.split('\n').length} lines`);
    assert.deepEqual(importsOf(code), ['byoci']);
    const dir = tempDir('byoci-doc-reporter-');
    const server = await recordingServer();
    const plugin = writeRepoPlugin(code, 'doc-reporter');
    const kit = await createKit({
      plugins: { [plugin.file]: { url: server.url } },
      secrets: { 'chat/token': 't0k3n' },
      test: { command: 'test ! -f broken.txt' },
    });
    try {
      const id = await kit.propose({ branch: 'bad', files: { 'broken.txt': 'x\n' }, title: 'Break it' });
      const landing = await kit.land();
      assert.deepEqual(landing.results.map((r) => [r.proposal.id, r.kind]), [[id, 'rejected']]);
      assert.equal(server.requests.length, 1);
      assert.equal(server.requests[0]?.headers.authorization, 'Bearer t0k3n');
      assert.match(JSON.parse(server.requests[0]!.body).text, /^Break it \(file:.*\): The tests failed \(exit code 1\)\.$/);
    } finally {
      await kit.cleanup();
      await server.close();
      plugin.remove();
      dir.remove();
    }
  });
});

