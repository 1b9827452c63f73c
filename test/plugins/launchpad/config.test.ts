import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { configSchema, resolveTarget, targetSchema } from '../../../plugins/launchpad/config.js';

describe('launchpad config', () => {
  test('service roots: production by default, qastaging, staging or a URL', () => {
    assert.equal(configSchema.parse({}).serviceRoot, 'https://api.launchpad.net/');
    assert.equal(configSchema.parse({ serviceRoot: 'qastaging' }).serviceRoot, 'https://api.qastaging.launchpad.net/');
    assert.equal(configSchema.parse({ serviceRoot: 'staging' }).serviceRoot, 'https://api.staging.launchpad.net/');
    assert.equal(configSchema.parse({ serviceRoot: 'http://127.0.0.1:8085' }).serviceRoot, 'http://127.0.0.1:8085/');
  });

  test('a bad service root, criteria or unknown key is refused, naming it', () => {
    const r = configSchema.safeParse({ serviceRoot: 'launchpad', criteria: 'Approve >= lots', gitprotocol: 'ssh' });
    assert.equal(r.success, false);
    const messages = r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    assert.ok(messages.some((m) => /^serviceRoot: not production, qastaging, staging or an http\(s\) URL: "launchpad"/.test(m)), messages.join('\n'));
    assert.ok(messages.some((m) => /^criteria: voting criterion "Approve >= lots"/.test(m)), messages.join('\n'));
    assert.ok(messages.some((m) => /gitprotocol/.test(m)), messages.join('\n'));
    for (const name of ['constructor', 'toString', '__proto__']) {
      const p = configSchema.safeParse({ serviceRoot: name });
      assert.equal(p.success, false, `${name} is not a service root name`);
      assert.match(p.success ? '' : (p.error.issues[0]?.message ?? ''), /not production, qastaging, staging or an http\(s\) URL/);
    }
  });

  test('targets are lp: URLs; the VCS is inferred and can be forced', () => {
    const t = (x: Record<string, unknown>) => resolveTarget(targetSchema.parse(x));
    assert.deepEqual(t({ url: 'lp:brz', branch: 'master' }), { vcs: 'git', path: 'brz', url: 'lp:brz', branch: 'master' });
    assert.equal(t({ url: 'lp:~brz/brz/+git/brz' }).vcs, 'git');
    assert.deepEqual(t({ url: 'lp:~brz/brz/trunk', branch: 'x' }), { vcs: 'bzr', path: '~brz/brz/trunk', url: 'lp:~brz/brz/trunk', branch: undefined });
    assert.equal(t({ url: 'lp:brz', vcs: 'bzr' }).vcs, 'bzr');
    assert.equal(targetSchema.safeParse({ url: 'https://code.launchpad.net/brz' }).success, false);
    assert.equal(targetSchema.safeParse({ url: 'lp:brz', branch: '--upload-pack=evil' }).success, false);
  });
});
