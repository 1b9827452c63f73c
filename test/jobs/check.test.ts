import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { after, describe, test } from 'node:test';
import { checkJobsDir, main } from '../../jobs/check.js';
import { JobsRenderError } from '../../jobs/render.js';
import { missingCommands, suiteNeeds } from '../support/components.js';
import { copyJobs, type JobsCopy } from './helpers.js';

function capture(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
}

async function problemsOf(copy: JobsCopy): Promise<string[]> {
  const report = await checkJobsDir(copy.dir);
  return report.problems.map((p) => `${p.job}: ${p.message}`);
}

describe('jobs:check', suiteNeeds('jenkins-job-builder', missingCommands('jenkins-jobs')), () => {
  const copies: JobsCopy[] = [];
  const copy = () => {
    const c = copyJobs();
    copies.push(c);
    return c;
  };
  after(() => copies.forEach((c) => c.remove()));

  test('the committed jobs render and pass, three per project including byoci and brz', async () => {
    const report = await checkJobsDir();
    assert.deepEqual(report.problems, []);
    const names = report.jobs.map((j) => j.name).sort();
    for (const p of ['byoci', 'brz']) {
      for (const k of ['trigger', 'land', 'test']) assert.ok(names.includes(`${p}-${k}`), `${p}-${k} rendered`);
    }
    const trigger = report.jobs.find((j) => j.name === 'brz-trigger')!;
    assert.deepEqual(trigger.timers, ['H/5 * * * *']);
    assert.deepEqual(trigger.downstream.map((d) => d.projects), [['brz-land']]);
    const land = report.jobs.find((j) => j.name === 'brz-land')!;
    assert.equal(land.node, 'byoci-slave');
    assert.equal(land.concurrent, false);
    assert.deepEqual(land.throttle, { enabled: true, maxPerNode: 1, maxTotal: 1 });
    assert.equal(land.timeout?.minutes, 120);
    assert.match(land.builders[0]!.command!, /byoci land --config '\/etc\/byoci\/brz\.yaml'/);
    assert.ok(land.junit?.testResults.startsWith('artefacts/'));
    assert.ok(land.buildDiscarder && land.buildDiscarder.numToKeep > 0);
    const tryJob = report.jobs.find((j) => j.name === 'byoci-test')!;
    assert.deepEqual(tryJob.parameters.map((p) => [p.name, p.kind]), [['SOURCE', 'string'], ['BRANCH', 'string'], ['BYOCI_DECISION', 'string']]);
    assert.deepEqual(land.parameters.map((p) => [p.name, p.kind, p.defaultValue]), [['BYOCI_DECISION', 'string', ''], ['REASON', 'string', '']]);
  });

  test('main() prints one line per job and exits 0', async () => {
    const out = capture();
    const err = capture();
    const code = await main([], out.stream, err.stream);
    assert.equal(code, 0, err.text());
    assert.match(out.text(), /^ok +byoci-land .*→ byoci land --config/m);
    assert.match(out.text(), /jobs:check: ok/);
  });

  test('bad YAML fails with the renderer\'s message', async () => {
    const c = copy();
    c.write('broken.yaml', '- job:\n    name: broken\n    builders: [\n');
    const out = capture();
    const err = capture();
    assert.equal(await main([c.dir], out.stream, err.stream), 1);
    assert.match(err.text(), /jenkins-jobs refused/);
    // The renderer's own words: PyYAML's parser error with the file and line.
    assert.match(err.text(), /broken\.yaml/);
    assert.match(err.text(), /while parsing|expected|found/i);
  });

  test('an unknown builder fails with the renderer\'s message', async () => {
    const c = copy();
    c.edit('templates.yaml', "      - shell: |\n          #!/bin/bash -e\n          byoci land", "      - no-such-builder: x\n      - shell: |\n          #!/bin/bash -e\n          byoci land");
    await assert.rejects(checkJobsDir(c.dir), (error: unknown) => {
      assert.ok(error instanceof JobsRenderError);
      assert.equal(error.exitCode, 1);
      assert.match(error.rendererMessage, /no-such-builder/);
      return true;
    });
  });

  test('byoci called with wrong arguments fails, naming the job and the argument', async () => {
    const c = copy();
    c.edit('templates.yaml', "byoci land --config '{config}'", "byoci land --conf '{config}' --bogus");
    c.edit('templates.yaml', '--source "$SOURCE" --branch "$BRANCH"', '--source "$BRANCH" --branch $BRANCH extra');
    c.edit('templates.yaml', "byoci list --config '{config}' --json", "byoci land --config '{config}' --json");
    const problems = await problemsOf(c);
    const text = problems.join('\n');
    assert.match(text, /^brz-land: line 2 .*unknown option --conf/m);
    assert.match(text, /^brz-land: .*unknown option --bogus/m);
    assert.match(text, /^brz-land: .*--config is missing/m);
    assert.match(text, /^byoci-test: .*\$BRANCH is not double-quoted/m);
    assert.match(text, /^byoci-test: .*--source must be the job's SOURCE parameter/m);
    assert.match(text, /^byoci-test: .*unexpected argument "extra"/m);
    assert.match(text, /^byoci-trigger: .*a trigger job calls `byoci list`, not `byoci land`/m);
  });

  test('a config path other than the project list\'s, and an undeclared variable, fail', async () => {
    const c = copy();
    c.edit('templates.yaml', 'byoci land --config \'{config}\' -O "artefacts=$WORKSPACE/artefacts"', 'byoci land --config /etc/byoci/other.yaml -O "artefacts=$ARTEFACTS/x"');
    const text = (await problemsOf(c)).join('\n');
    assert.match(text, /^brz-land: .*--config \/etc\/byoci\/other\.yaml is not the project's config \/etc\/byoci\/brz\.yaml/m);
    assert.match(text, /^byoci-land: .*\$ARTEFACTS is neither a job parameter nor a Jenkins variable/m);
    assert.match(text, /give -O "artefacts=\$WORKSPACE\/<dir>"/);
  });

  test('node label, trigger, concurrency, timeout, JUnit and discarder are enforced', async () => {
    const c = copy();
    c.edit('templates.yaml', "      - timed: 'H/5 * * * *'", "      - timed: '@hourly'");
    c.edit('templates.yaml', "    name: '{name}-land'\n    node: '{label}'", "    name: '{name}-land'\n    node: master\n    concurrent: true");
    c.edit('templates.yaml', /    wrappers:\n      - timeout:\n          type: absolute\n          timeout: '\{test-timeout\}'\n          fail: true\n/, '    wrappers:\n');
    c.edit('templates.yaml', /      - junit:\n          results: 'artefacts\/\*\*\/\*\.xml'\n          allow-empty-results: true\n      - archive:\n          artifacts: 'artefacts\/\*\*'\n          allow-empty: true\n\n# \{name\}-test/, "      - archive:\n          artifacts: 'artefacts/**'\n\n# {name}-test");
    c.edit('templates.yaml', /(- job-template:\n    name: '\{name\}-trigger'\n    node: '\{label\}'\n    properties:\n)      - build-discarder:\n          days-to-keep: 7\n          num-to-keep: 100\n/, '$1      - slave-prerequisites:\n          script: "true"\n');
    const text = (await problemsOf(c)).join('\n');
    assert.match(text, /^brz-trigger: trigger must be timed "H\/5 \* \* \* \*", found "@hourly"/m);
    assert.match(text, /^brz-land: runs on the controller \(node: master\)/m);
    assert.match(text, /^brz-land: allows concurrent builds/m);
    assert.match(text, /^brz-test: has no build timeout/m);
    assert.match(text, /^brz-land: has no JUnit publisher/m);
    assert.match(text, /^brz-trigger: has no build discarder/m);
  });

  test('a land job without the brain\'s BYOCI_DECISION parameter fails', async () => {
    const c = copy();
    c.edit('templates.yaml', /    parameters:\n      - string:\n          name: BYOCI_DECISION\n          default: ''\n          description: 'Set by the brain: the id of its trigger decision \(empty when started by \{name\}-trigger or by hand\)'\n/, '    parameters:\n');
    const text = (await problemsOf(c)).join('\n');
    assert.match(text, /^brz-land: has no BYOCI_DECISION parameter \(the brain's trigger id, needed for exactly-once triggers\)/m);
    assert.doesNotMatch(text, /^brz-test: has no BYOCI_DECISION/m);
  });

  test('a credential in a job fails without printing it whole', async () => {
    const c = copy();
    const token = `ghp_${'A1b2C3d4'.repeat(5)}`;
    c.edit('templates.yaml', '          byoci land --config', `          export GITHUB_TOKEN=${token}\n          byoci land --config`);
    const text = (await problemsOf(c)).join('\n');
    assert.match(text, /^brz-land: contains a GitHub token/m);
    assert.ok(!text.includes(token), 'the token is not repeated');
  });

  test('Jenkins credentials bindings are refused too', async () => {
    const c = copy();
    c.edit('templates.yaml', '      - timestamps\n      - workspace-cleanup\n    builders:\n      - shell: |\n          #!/bin/bash -e\n          byoci land', '      - timestamps\n      - workspace-cleanup\n      - credentials-binding:\n          - text:\n              credential-id: lp-token\n              variable: LP_TOKEN\n    builders:\n      - shell: |\n          #!/bin/bash -e\n          byoci land');
    const text = (await problemsOf(c)).join('\n');
    assert.match(text, /^brz-land: uses Jenkins credentials/m);
  });

  test('a project of the list that does not generate its jobs is reported', async () => {
    const c = copy();
    c.edit('projects.yaml', /(name: brz[\s\S]*jobs:\n)      - byoci-project/, "$1      - '{name}-land'");
    const text = (await problemsOf(c)).join('\n');
    assert.match(text, /^brz-trigger: missing: project brz/m);
    assert.match(text, /^brz-test: missing: project brz/m);
  });
});
