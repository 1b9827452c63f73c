import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { loadConfig } from '../../core/config.js';
import { ConfigError } from '../../core/errors.js';

function write(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'byoci-config-'));
  const file = join(dir, 'byoci.yaml');
  writeFileSync(file, text);
  return file;
}

function problemsOf(fn: () => unknown): ConfigError['problems'] {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected ConfigError, got ${String(error)}`);
    return error.problems;
  }
  assert.fail('expected a ConfigError');
}

const PROJECT = `
projects:
  demo:
    targets:
      - forge: local
        repo: '{configDir}/trunk.git'
        branch: main
    test:
      backend: unsafe-host
      command: make check
`;

describe('config', () => {
  test('the active namespace is merged over the top level and {byoci} names it', () => {
    const file = write(`
byoci: testing
landing:
  user: nobody
  email: nobody@example.org
testing:
  landing:
    user: tester
    fullname: '{byoci} lander ({testing.landing.user})'
production:
  landing:
    user: prod-bot
${PROJECT}`);
    const config = loadConfig({ file });
    assert.equal(config.namespace, 'testing');
    assert.equal(config.settings.landing.user, 'tester');
    assert.equal(config.settings.landing.email, 'nobody@example.org');
    assert.equal(config.settings.landing.fullname, 'testing lander (tester)');
    const production = loadConfig({ file, namespace: 'production' });
    assert.equal(production.settings.landing.user, 'prod-bot');
  });

  test('{{byoci}.landing.user} resolves the landing user of the active namespace', () => {
    const file = write(`
byoci: selftest
selftest: { landing: { user: self } }
testing: { landing: { user: test } }
vars:
  who: '{{byoci}.landing.user}'
landing:
  fullname: 'Bot {vars.who}'
`);
    assert.equal(loadConfig({ file }).settings.landing.fullname, 'Bot self');
    assert.equal(loadConfig({ file, namespace: 'testing' }).settings.landing.fullname, 'Bot test');
  });

  test('strings become sh -c commands, durations are parsed, paths resolve against the config', () => {
    const file = write(`workdir: work\n${PROJECT}`);
    const config = loadConfig({ file, overrides: ['projects.demo.test.timeout=90s'] });
    const demo = config.settings.projects.demo;
    assert.ok(demo);
    assert.deepEqual(demo.test.command, ['sh', '-c', 'make check']);
    assert.equal(demo.test.timeout, 90);
    assert.equal(demo.test.noOutputTimeout, 600);
    assert.equal(config.settings.workdir, join(config.configDir, 'work'));
    assert.equal(demo.targets[0]?.repo, join(config.configDir, 'trunk.git'));
  });

  test('-O values are YAML scalars and override the namespace', () => {
    const file = write(`byoci: testing\ntesting: { landing: { user: a } }\n${PROJECT}`);
    const config = loadConfig({ file, overrides: ['landing.user=b', 'projects.demo.test.network=true'] });
    assert.equal(config.settings.landing.user, 'b');
    assert.equal(config.settings.projects.demo?.test.network, true);
  });

  test('${VAR} is left for the shell', () => {
    const file = write(PROJECT.replace('make check', 'make check HOME=${HOME}'));
    assert.deepEqual(loadConfig({ file }).settings.projects.demo?.test.command, ['sh', '-c', 'make check HOME=${HOME}']);
  });

  test('three mistakes are reported together, each with file and line', () => {
    const file = write(`landing:
  email: not-an-email
projects:
  demo:
    targets:
      - forge: local
    test:
      command: make check
      timeout: forever
      colour: blue
`);
    const problems = problemsOf(() => loadConfig({ file }));
    assert.equal(problems.length, 3);
    const byPath = new Map(problems.map((p) => [p.path, p]));
    assert.equal(byPath.get('landing.email')?.line, 2);
    assert.equal(byPath.get('projects.demo.test.timeout')?.line, 9);
    assert.match(byPath.get('projects.demo.test.timeout')?.message ?? '', /not a duration/);
    assert.equal(byPath.get('projects.demo.test.colour')?.line, 10);
    assert.match(byPath.get('projects.demo.test.colour')?.message ?? '', /unknown option/);
    for (const p of problems) assert.equal(p.file, file);
  });

  test('a problem inside the active namespace points at the namespace line', () => {
    const file = write(`byoci: testing\ntesting:\n  landing:\n    email: nope\n`);
    const [problem] = problemsOf(() => loadConfig({ file }));
    assert.equal(problem?.line, 4);
    assert.equal(problem?.path, 'landing.email');
  });

  test('YAML syntax errors and duplicate keys carry their line', () => {
    const broken = write('landing:\n  user: a\n  user: b\n');
    const [dup] = problemsOf(() => loadConfig({ file: broken }));
    assert.equal(dup?.line, 3);
    const syntax = write('landing: [unclosed\nworkdir: x\n');
    assert.ok(problemsOf(() => loadConfig({ file: syntax })).every((p) => p.file === syntax && typeof p.line === 'number'));
  });

  test('unknown references and malformed -O are problems, not silent text', () => {
    const file = write(`landing:\n  fullname: '{nosuch.option}'\n`);
    const problems = problemsOf(() => loadConfig({ file, overrides: ['justtext'] }));
    assert.ok(problems.some((p) => /unknown option \{nosuch.option\}/.test(p.message) && p.line === 2));
    assert.ok(problems.some((p) => p.file === '-O' && /expected option=value/.test(p.message)));
  });

  test('a missing file is a config error naming it', () => {
    const problems = problemsOf(() => loadConfig({ file: '/nonexistent/byoci.yaml' }));
    assert.match(problems[0]?.message ?? '', /not found/);
    assert.equal(problems[0]?.file, '/nonexistent/byoci.yaml');
  });

  test('credential variables cannot be passed into the container', () => {
    const file = write(PROJECT + '      env: [LANG, BYOCI_SECRET_GIT_SSH_KEY]\n');
    const [problem] = problemsOf(() => loadConfig({ file }));
    assert.equal(problem?.path, 'projects.demo.test.env.1');
    assert.match(problem?.message ?? '', /never passed into the container/);
  });

  test('artefact paths must stay inside the tree', () => {
    const file = write(PROJECT + '      artefacts: [../../etc/passwd]\n');
    const [problem] = problemsOf(() => loadConfig({ file }));
    assert.match(problem?.message ?? '', /inside the tree/);
  });
});
