/**
 * Bad configuration input (issue 12): every mistake is a configuration error (exit 2) that
 * names the key, what was expected and where, never an internal error, a hang or a
 * change of Object.prototype.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { loadConfig } from '../../core/config.js';
import { ConfigError, formatProblem } from '../../core/errors.js';
import { validatePluginConfig } from '../../core/plugin-api.js';
import github from '../../plugins/github/index.js';
import irc from '../../plugins/irc/index.js';
import launchpad from '../../plugins/launchpad/index.js';
import { byoci } from '../support/cli.js';
import { tempDir } from '../support/git-repos.js';

const FILE = '/etc/byoci/byoci.yaml';
const PROJECT = 'projects:\n  demo:\n    targets: [{forge: local, repo: ../t.git, branch: main}]\n    test: {command: make check}\n';

function problems(text: string, overrides: string[] = [], namespace?: string): string[] {
  try {
    loadConfig({ text, file: FILE, overrides, env: {}, ...(namespace ? { namespace } : {}) });
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${(error as Error).stack}`);
    return error.problems.map(formatProblem);
  }
  assert.fail('expected configuration problems');
}

describe('bad configuration input', () => {
  const tmp = tempDir('byoci-bad-config-');
  after(() => tmp.remove());

  test('YAML alias errors are config problems with file and line (item 1)', () => {
    assert.deepEqual(problems(`${PROJECT}vars:\n  x: *nope\n`), [`${FILE}:6:6: alias *nope refers to no anchor &nope defined before it`]);
    const flood = problems(`vars:\n  a: &a [x]\n  b: [${Array(120).fill('*a').join(', ')}]\n`);
    assert.match(flood[0]!, /^\/etc\/byoci\/byoci\.yaml:3:\d+: too many YAML aliases/);
  });

  test('an empty or comments-only file and an unknown namespace are errors (item 10)', () => {
    assert.match(problems('')[0]!, /byoci\.yaml:1: the configuration is empty/);
    assert.match(problems('# only a comment\n\n')[0]!, /the configuration is empty/);
    assert.deepEqual(problems(`byoci: nonesuch\n${PROJECT}`), [
      `${FILE}:1:8: byoci: unknown namespace "nonesuch": expected one of production, testing, selftest, or a top-level section of that name`,
    ]);
    assert.match(problems(PROJECT, [], 'nonesuch')[0]!, /^--namespace: unknown namespace "nonesuch"/);
  });

  test('type mistakes name the key, the expected type and the place, never only "Invalid input" (item 10)', () => {
    const found = problems('projects:\n  demo:\n    targets: [{forge: local}]\n    test:\n      command: 42\n      timeout: [1]\n      limits: {cpu: true}\n');
    assert.deepEqual(found, [
      `${FILE}:5:16: projects.demo.test.command: expected a string or a list, got number`,
      `${FILE}:6:16: projects.demo.test.timeout: expected a number or a string, got array`,
      `${FILE}:7:21: projects.demo.test.limits.cpu: expected a number or a string, got boolean`,
    ]);
    for (const p of found) assert.doesNotMatch(p, /Invalid input/);
    const plugin = validatePluginConfig(irc, { server: 'irc.example.invalid', channels: 5 });
    for (const p of plugin.problems) assert.doesNotMatch(p.message, /^Invalid input$/);
  });

  test('durations and counts beyond what a timer holds are config errors (item 4)', () => {
    assert.deepEqual(problems(PROJECT.replace('make check}', 'make check, timeout: 25d}')), [
      `${FILE}:4:42: projects.demo.test.timeout: "25d" is longer than 2147483 s (about 24.8 days), the longest a timer holds`,
    ]);
    assert.match(problems(PROJECT.replace('make check}', 'make check, noOutputTimeout: 2160000000}'))[0]!, /noOutputTimeout: 2160000000 is longer than/);
    assert.match(JSON.stringify(validatePluginConfig(irc, { server: 'irc.example.invalid', channels: ['#a'], timeout: '30d' }).problems), /longer than 2147483 s/);
    assert.match(JSON.stringify(validatePluginConfig(launchpad, { retryDelayMs: 10_000_000 }).problems), /retryDelayMs.*at most 60000/);
    assert.match(JSON.stringify(validatePluginConfig(github, { maxRateLimitWait: 3_000_000 }).problems), /maxRateLimitWait.*at most 86400/);
  });

  test('out-of-range numbers and malformed values say the bound and show the value given', () => {
    assert.deepEqual(problems(`${PROJECT}queue: {batch: 0, window: 100, history: 2.5, memory: lots}\n`), [
      `${FILE}:5:41: queue.history: expected an integer, got float`,
      `${FILE}:5:16: queue.batch: must be at least 1, got 0`,
      `${FILE}:5:27: queue.window: must be at most 64, got 100`,
      `${FILE}:5:54: queue.memory: not a size such as 16GiB, got "lots"`,
      `${FILE}:5:27: queue.window: queue.window 100 is above queue.slots 1 (the test containers this slave runs at once): lower the window or raise slots`,
    ]);
    assert.deepEqual(problems(PROJECT.replace('make check}', 'make check, limits: {memory: 2G}, env: []}').replace('[{forge: local, repo: ../t.git, branch: main}]', '[]')), [
      `${FILE}:3:14: projects.demo.targets: a project needs at least one target`,
      `${FILE}:4:50: projects.demo.test.limits.memory: not a size such as 2GiB, got "2G"`,
    ]);
    const plugin = validatePluginConfig(irc, { server: 'irc.example.invalid', channels: [{ channel: '#a' }], username: 'much-too-long-a-name' });
    assert.deepEqual(plugin.problems.map((p) => `${p.path}: ${p.message}`), [
      'plugins.irc.username: must be 1-10 letters, digits, dots, dashes or underscores, got "much-too-long-a-name"',
    ]);
    assert.deepEqual(problems(`${PROJECT}landing: {user: ''}\nqueue: {priorities: []}\n`), [
      `${FILE}:5:17: landing.user: must not be empty`,
      `${FILE}:6:21: queue.priorities: must list at least one item`,
    ]);
  });

  test('an unknown option names the one it most likely meant', () => {
    assert.deepEqual(problems(`${PROJECT.replace('make check}', 'make check, comand: x}')}workdri: /x\nqueue: {windows: 2, zzz: 1}\n`), [
      `${FILE}:6:18: queue.windows: unknown option (did you mean window?)`,
      `${FILE}:6:26: queue.zzz: unknown option`,
      `${FILE}:4:41: projects.demo.test.comand: unknown option (did you mean command?)`,
      `${FILE}:5:10: workdri: unknown option (did you mean workdir?)`,
    ]);
    assert.deepEqual(validatePluginConfig(irc, { server: 'irc.example.invalid', channels: [{ chanel: '#a' }] }).problems.map((p) => `${p.path}: ${p.message}`), [
      'plugins.irc.channels.0.channel: is required (expected a string)',
      'plugins.irc.channels.0.chanel: unknown option (did you mean channel?)',
    ]);
  });

  test('nested {references} are expanded once each; cycles and depth are errors (item 5)', { timeout: 20_000 }, () => {
    // 9 levels of 10 references each: 10^9 expansions without memoisation.
    const levels = Array.from({ length: 10 }, (_, i) => `  l${i}: "${i === 9 ? 'x' : Array(10).fill(`{vars.l${i + 1}}`).join('')}"`);
    const found = problems(`${PROJECT}vars:\n${levels.join('\n')}\n`);
    assert.ok(found.every((p) => /longer than 65536 characters/.test(p)), found.join('\n'));
    assert.match(problems(`${PROJECT}vars:\n  a: "{vars.b}"\n  b: "{vars.a}"\n`)[0]!, /the references form a cycle: \{vars\.(a|b)\} → \{vars\.(a|b)\} → \{vars\.(a|b)\}/);
    const chain = Array.from({ length: 30 }, (_, i) => `  c${i}: "${i === 29 ? 'end' : `{vars.c${i + 1}}`}"`);
    assert.match(problems(`${PROJECT}vars:\n${chain.join('\n')}\n`)[0]!, /references nested more than 16 deep/);
  });

  test('40,000 keys are checked for duplicates in linear time (item 5)', { timeout: 30_000 }, () => {
    const keys = Array.from({ length: 40_000 }, (_, i) => `  k${i}: ${i}`);
    assert.deepEqual(problems(`${PROJECT}vars:\n${keys.join('\n')}\n  k7: again\n`), [`${FILE}:40006:3: duplicate key "k7"`]);
  });

  test('__proto__, constructor and {toString} are unknown options; Object.prototype is untouched (item 8)', () => {
    assert.deepEqual(problems(PROJECT, ['__proto__.polluted=1']), ['-O: __proto__.polluted: unknown option (__proto__ is not an option name)']);
    assert.deepEqual(problems(PROJECT, ['constructor.prototype.polluted=1']), ['-O: constructor.prototype.polluted: unknown option (constructor is not an option name)']);
    assert.deepEqual(problems(`${PROJECT}__proto__:\n  polluted: 1\nplugins:\n  constructor: {}\n`), [
      `${FILE}:6:3: __proto__: unknown option (__proto__ is not an option name)`,
      `${FILE}:8:16: plugins.constructor: unknown option (constructor is not an option name)`,
    ]);
    assert.deepEqual(problems(`${PROJECT}vars:\n  a: "{toString} {constructor.name}"\n`), [
      `${FILE}:6:6: vars.a: unknown option {toString}`,
      `${FILE}:6:6: vars.a: unknown option {constructor.name}`,
    ]);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal(Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted'), false);
  });

  test('NUL or a line break in landing.fullname or email is a config error (item 7)', () => {
    assert.match(problems(`${PROJECT}landing: {fullname: "The\\0Lander"}\n`)[0]!, /landing\.fullname: must not contain NUL, line breaks/);
    assert.match(problems(`${PROJECT}landing: {fullname: "The\\nLander"}\n`)[0]!, /landing\.fullname: must not contain NUL, line breaks/);
    assert.match(problems(`${PROJECT}landing: {email: "a@b\\nc"}\n`)[0]!, /landing\.email: not an e-mail address/);
  });

  test('the CLI refuses a config that is a device, a FIFO or a directory at once, with exit 2 (item 3)', { timeout: 60_000 }, async () => {
    const fifo = join(tmp.dir, 'fifo.yaml');
    execFileSync('mkfifo', [fifo]);
    const broken = join(tmp.dir, 'alias.yaml');
    writeFileSync(broken, `${PROJECT}vars:\n  x: *nope\n`);
    assert.throws(() => loadConfig({ file: tmp.dir, env: {} }), /is a directory, not a regular file/);
    assert.throws(() => loadConfig({ file: broken, env: {} }), /alias\.yaml:6:6: alias \*nope refers to no anchor/);
    for (const [config, expected] of [
      ['/dev/zero', /\/dev\/zero: is a character device, not a regular file/],
      [fifo, /fifo\.yaml: is a FIFO \(named pipe\), not a regular file/],
    ] as const) {
      const run = await byoci(['--config', config, 'list']);
      assert.equal(run.code, 2, run.stderr);
      assert.match(run.stderr, expected);
      assert.doesNotMatch(run.stderr, /\n\s+at /);
    }
  });
});
