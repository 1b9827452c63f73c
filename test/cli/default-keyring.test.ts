/**
 * A machine without a Secret Service and a config naming no `secrets.order`: the keyring
 * is in the chain by default only, so `byoci list` does not warn about it on every run
 * (doctor still notes it). An operator who names keyring in `secrets.order` is warned.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createDemo, type DemoSetup } from '../../demo/setup.js';
import { byoci } from '../support/cli.js';

/** No D-Bus session: no Secret Service can answer (the keyring store fails at once). */
const NO_SESSION = { DBUS_SESSION_BUS_ADDRESS: undefined };

describe('the keyring of the default secrets.order on a machine without a Secret Service', () => {
  let dir: string;
  let demo: DemoSetup;
  let byDefault: string;
  let named: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'byoci-default-keyring-'));
    demo = await createDemo(join(dir, 'demo'));
    // The demo names `order: [env]`; drop the secrets section, or name keyring.
    const config = readFileSync(demo.config, 'utf8');
    const without = config.replace(/^secrets:\n(?: {2}.*\n)+/m, '');
    assert.notEqual(without, config, 'the demo config has a secrets section to drop');
    byDefault = join(demo.dir, 'default.yaml');
    writeFileSync(byDefault, without);
    named = join(demo.dir, 'named.yaml');
    writeFileSync(named, `${without}secrets:\n  order: [env, file, keyring]\n`);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('byoci list prints no warning when no secrets.order names the keyring; doctor notes it', async () => {
    const list = await byoci(['--config', byDefault, 'list'], { env: NO_SESSION });
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /^ready +calc +local:1 /m);
    assert.doesNotMatch(list.stderr, /WARN|keyring/, list.stderr);
    const doctor = await byoci(['--config', byDefault, 'doctor'], { env: NO_SESSION });
    assert.match(doctor.stdout, /git +secret git\/ssh-key: keyring store: the Secret Service is unavailable.*\(optional: not used; set secrets\.order to name the stores in use\)/);
  });

  test('a keyring named in secrets.order that fails is still a warning', async () => {
    const list = await byoci(['--config', named, 'list'], { env: NO_SESSION });
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stderr, /WARN +optional secret unavailable key=git\/ssh-key error="keyring store: the Secret Service is unavailable/);
  });
});
