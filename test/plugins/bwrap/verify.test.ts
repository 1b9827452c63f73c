/**
 * `verify` (and so `byoci doctor`): a project on backend bwrap gets a problem naming the
 * fix when bwrap is missing; a working bwrap is reported as a note; config and limit
 * mistakes are named.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ProjectConfig } from '../../../hooks/index.js';
import { ConfigError } from '../../../core/errors.js';
import bwrapPlugin from '../../../plugins/bwrap/index.js';
import { cpuList, limitPrefix, parseSize } from '../../../plugins/bwrap/limits.js';
import { suiteNeeds } from '../../support/components.js';
import { applyPlugins, verifyPlugin } from '../../support/harness.js';
import { BWRAP_MISSING, makeProject, makeSpec } from './support.js';

function verify(projects: ProjectConfig[], config: Record<string, unknown> = {}) {
  return verifyPlugin({ plugin: bwrapPlugin, config }, projects);
}

describe('bwrap verify', () => {
  test('backend bwrap without bwrap installed: a problem naming the project and apt-get install bubblewrap', async () => {
    const { problems, notes } = await verify([makeProject(makeSpec(), 'webapp')], { bwrap: '/nonexistent/bwrap' });
    assert.equal(problems.length, 1);
    assert.equal(problems[0]?.source, 'bwrap');
    assert.match(problems[0]?.message ?? '', /project webapp uses backend bwrap, but \/nonexistent\/bwrap is not installed/);
    assert.equal(problems[0]?.hint, 'install it: apt-get install bubblewrap');
    assert.deepEqual(notes, []);
  });

  test('backend auto without bwrap is no problem (LXD may take it); other backends are not looked at', async () => {
    const { problems, notes } = await verify(
      [makeProject(makeSpec({ backend: 'auto' }), 'a'), makeProject(makeSpec({ backend: 'lxd' }), 'b')],
      { bwrap: '/nonexistent/bwrap' },
    );
    assert.deepEqual(problems, []);
    assert.deepEqual(notes, []);
  });

  describe('with bwrap installed', suiteNeeds('bwrap', BWRAP_MISSING), () => {
    test('a working bwrap is a note for byoci doctor, with its version and the projects using it', async () => {
      const { problems, notes } = await verify([
        makeProject(makeSpec(), 'webapp'),
        makeProject(makeSpec({ backend: 'auto' }), 'lib'),
        makeProject(makeSpec({ backend: 'lxd' }), 'other'),
      ]);
      assert.deepEqual(problems, []);
      assert.equal(notes.length, 1);
      assert.match(notes[0]?.message ?? '', /^bwrap \d+\.\d+(\.\d+)? creates namespaces \(backend of webapp; auto fallback for lib\)$/);
    });

    test('a CPU allowance bwrap cannot enforce is a problem for backend bwrap', async () => {
      const { problems } = await verify([makeProject(makeSpec({ limits: { cpu: '50%' } }), 'webapp')]);
      assert.equal(problems.length, 1);
      assert.match(problems[0]?.message ?? '', /project webapp: limits\.cpu "50%" is neither a CPU count \(2\) nor a CPU list/);
    });
  });

  test('plugin config mistakes name the option', async () => {
    await assert.rejects(
      applyPlugins([{ plugin: bwrapPlugin, config: { treePath: 'workspace', roBind: ['/opt/../root'], surprise: 1 } }]),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        const text = error.message;
        assert.match(text, /plugins\.bwrap\.treePath: must be an absolute path/);
        assert.match(text, /plugins\.bwrap\.roBind\.0: must not contain \.\./);
        assert.match(text, /plugins\.bwrap\.surprise: unknown option/);
        return true;
      },
    );
  });
});

describe('bwrap limits', () => {
  test('sizes in LXD notation', () => {
    assert.equal(parseSize('512MiB'), 512 * 2 ** 20);
    assert.equal(parseSize('2GB'), 2e9);
    assert.equal(parseSize('1.5GiB'), 1.5 * 2 ** 30);
    assert.equal(parseSize('4096'), 4096);
    assert.equal(parseSize('lots'), undefined);
    assert.equal(parseSize('0MB'), undefined);
  });

  test('limits.cpu: a count takes the first allowed CPUs, a list is kept, an allowance is refused', () => {
    assert.equal(cpuList('2', [3, 5, 7]), '3,5');
    assert.equal(cpuList('0-1,3', [0, 1, 2, 3]), '0-1,3');
    assert.equal(cpuList('50%', [0, 1]), undefined);
  });

  test('the prefix put in front of the command', () => {
    assert.deepEqual(limitPrefix({}), []);
    assert.deepEqual(limitPrefix({ memory: '1GiB', processes: 100, cpu: '1' }, [2, 3]), [
      'prlimit',
      `--as=${2 ** 30}`,
      '--nproc=100',
      '--',
      'taskset',
      '--cpu-list',
      '2',
    ]);
  });
});
