/**
 * Redaction everywhere, including the last line: a plugin's error that carries its declared
 * secret reaches neither stdout, stderr nor --json output in any form (plain, URL-encoded,
 * base64), whether it is a verify problem, a thrown verify tap or an error escaping to the
 * CLI's top level.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { createDemo } from '../../demo/setup.js';
import { byoci, ROOT } from '../support/cli.js';

const SECRET = 'Tok/3n+with=Special&chars:42';
const FORMS = [SECRET, encodeURIComponent(SECRET), Buffer.from(SECRET).toString('base64')];

function assertNoSecret(output: string, where: string): void {
  for (const form of FORMS) assert.ok(!output.includes(form), `${where} holds ${form}:\n${output}`);
}

describe('redaction of errors that reach the top', () => {
  for (const [mode, command, json] of [
    ['problem', ['land'], false],
    ['problem', ['doctor'], true],
    ['throw-verify', ['land'], true],
    ['throw-discover', ['list'], false],
  ] as const) {
    {
      test(`${mode} in byoci ${command.join(' ')}${json ? ' --json' : ''}: no form of the secret is printed`, async () => {
        const demo = await createDemo(mkdtempSync(join(tmpdir(), 'byoci-redact-')), { backend: 'unsafe-host' });
        copyFileSync(join(ROOT, 'test/fixtures/cli/leaky-plugin.mjs'), join(demo.dir, 'leaky.mjs'));
        writeFileSync(demo.config, readFileSync(demo.config, 'utf8').replace('plugins:\n', 'plugins:\n  ./leaky.mjs: {}\n'));
        const result = await byoci(['--config', demo.config, ...(json ? ['--json'] : []), ...command], {
          env: { BYOCI_SECRET_LEAKY_TOKEN: SECRET, LEAKY_MODE: mode },
        });
        assert.notEqual(result.code, 0, result.stderr);
        assert.match(result.stdout + result.stderr, /\[REDACTED\]/, 'the message is there, masked');
        assertNoSecret(result.stdout, 'stdout');
        assertNoSecret(result.stderr, 'stderr');
      });
    }
  }
});
