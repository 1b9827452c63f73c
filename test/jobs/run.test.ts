import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { UsageError } from '../../core/errors.js';
import { parseParams, runJob, type RunJobOptions } from '../../jobs/run.js';
import { missingCommands, suiteNeeds } from '../support/components.js';

const JOBS = `
- job:
    name: envdump
    node: byoci-slave
    parameters:
      - string:
          name: GREETING
          default: hello
      - choice:
          name: COLOR
          choices: [red, blue]
    builders:
      - shell: |
          #!/bin/bash -e
          env | grep -E '^(WORKSPACE|BUILD_NUMBER|BUILD_ID|BUILD_URL|JOB_NAME|NODE_NAME|GREETING|COLOR)=' | sort > env.txt
          pwd > pwd.txt
          printf '%s' "$GREETING" > greeting.txt
          echo first step done

- job:
    name: steps
    builders:
      - shell: |
          #!/bin/bash -e
          echo step one
      - shell: |
          #!/bin/bash -e
          echo step two
          exit 7
      - shell: |
          #!/bin/bash -e
          echo step three

- job:
    name: noshebang
    builders:
      - shell: |
          false
          echo after-false

- job:
    name: selfcall
    builders:
      - shell: |
          #!/bin/bash -e
          byoci --version > version.txt
          command -v byoci > which.txt

- job:
    name: sleeper
    builders:
      - shell: |
          #!/bin/bash -e
          sleep 300 &
          echo $! > "$WORKSPACE/sleep.pid"
          echo sleeping
          wait

- job:
    name: reports
    builders:
      - shell: |
          #!/bin/bash -e
          mkdir -p artefacts/run1
          echo '<testsuites/>' > artefacts/run1/junit.xml
          echo 'READY=local:1' > land.properties
    publishers:
      - junit:
          results: 'artefacts/**/*.xml'
      - trigger-parameterized-builds:
          - project: demo-land
            property-file: land.properties
            fail-on-missing: true
            condition: SUCCESS
`;

function capture(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
}

describe('byoci job run', suiteNeeds('jenkins-job-builder', missingCommands('jenkins-jobs')), () => {
  let dir: string;
  let jobsDir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'byoci-jobrun-test-'));
    jobsDir = join(dir, 'jobs');
    mkdirSync(jobsDir);
    writeFileSync(join(jobsDir, 'test.yaml'), JOBS);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  async function replay(options: Partial<RunJobOptions> & { job: string }) {
    const out = capture();
    const result = await runJob({ jobsDir, out: out.stream, ...options });
    return { ...result, console: out.text() };
  }

  test('builders see the Jenkins environment and the parameters, in the workspace', async () => {
    const workspace = join(dir, 'ws-env');
    const r = await replay({ job: 'envdump', workspace, buildNumber: 5, params: { GREETING: 'hi $(touch pwned) "there"' } });
    assert.equal(r.result, 'SUCCESS');
    assert.equal(r.exitCode, 0);
    const env = Object.fromEntries(
      readFileSync(join(workspace, 'env.txt'), 'utf8').trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );
    assert.deepEqual(env, {
      BUILD_ID: '5',
      BUILD_NUMBER: '5',
      BUILD_URL: 'http://127.0.0.1:8080/job/envdump/5/',
      COLOR: 'red',
      GREETING: 'hi $(touch pwned) "there"',
      JOB_NAME: 'envdump',
      NODE_NAME: 'local',
      WORKSPACE: workspace,
    });
    assert.equal(readFileSync(join(workspace, 'pwd.txt'), 'utf8').trim(), workspace);
    // The parameter reached the script as data, never as code.
    assert.equal(readFileSync(join(workspace, 'greeting.txt'), 'utf8'), 'hi $(touch pwned) "there"');
    assert.equal(existsSync(join(workspace, 'pwned')), false);
    assert.match(r.console, /^\[envdump\] \$ \/bin\/bash -e .*\/jenkins\d+\.sh$/m);
    assert.match(r.console, /^first step done$/m);
    assert.match(r.console, /Finished: SUCCESS\n$/);
  });

  test('the defaults of the job fill the parameters not given', async () => {
    const workspace = join(dir, 'ws-defaults');
    await replay({ job: 'envdump', workspace });
    assert.equal(readFileSync(join(workspace, 'greeting.txt'), 'utf8'), 'hello');
    assert.match(readFileSync(join(workspace, 'env.txt'), 'utf8'), /^BUILD_NUMBER=1$/m);
  });

  test('a failing builder ends the build with its exit code; later builders do not run', async () => {
    const r = await replay({ job: 'steps' });
    assert.equal(r.result, 'FAILURE');
    assert.equal(r.exitCode, 7);
    assert.match(r.console, /^step one$/m);
    assert.match(r.console, /^step two$/m);
    assert.doesNotMatch(r.console, /step three/);
    assert.match(r.console, /Build step 'Execute shell' marked build as failure\nFinished: FAILURE\n$/);
    assert.equal(existsSync(r.workspace), false, 'the temporary workspace is removed');
  });

  test('a builder without #! runs under bash -e', async () => {
    const r = await replay({ job: 'noshebang' });
    assert.equal(r.exitCode, 1);
    assert.match(r.console, /\$ \/bin\/bash -e /);
    assert.doesNotMatch(r.console, /after-false/);
  });

  test('`byoci` in a builder runs the byoci that replays the job', async () => {
    const workspace = join(dir, 'ws-self');
    const main = fileURLToPath(new URL('../../cli/main.ts', import.meta.url));
    const byoci = [process.execPath, '--import', import.meta.resolve('tsx'), main];
    const r = await replay({ job: 'selfcall', workspace, byoci });
    assert.equal(r.exitCode, 0, r.console);
    const pkg = JSON.parse(readFileSync(fileURLToPath(new URL('../../package.json', import.meta.url)), 'utf8')) as { version: string };
    assert.equal(readFileSync(join(workspace, 'version.txt'), 'utf8').trim(), pkg.version);
    assert.match(readFileSync(join(workspace, 'which.txt'), 'utf8'), /@tmp\/bin\/byoci$/m);
  });

  test('JUnit reports are found and a ready trigger file says which job Jenkins would trigger', async () => {
    const r = await replay({ job: 'reports' });
    assert.equal(r.exitCode, 0);
    assert.match(r.console, /Recording test results: 1 file match artefacts\/\*\*\/\*\.xml: artefacts\/run1\/junit\.xml/);
    assert.match(r.console, /Jenkins would trigger demo-land with the parameters of land\.properties/);
  });

  test('an interrupted build kills the whole build step, background processes included', async () => {
    const workspace = join(dir, 'ws-abort');
    const controller = new AbortController();
    const out = capture();
    out.stream.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('sleeping')) controller.abort();
    });
    const r = await runJob({ job: 'sleeper', jobsDir, workspace, out: out.stream, signal: controller.signal });
    assert.equal(r.result, 'ABORTED');
    assert.notEqual(r.exitCode, 0);
    const pid = Number(readFileSync(join(workspace, 'sleep.pid'), 'utf8'));
    let alive = true;
    for (let i = 0; i < 50 && alive; i += 1) {
      try {
        process.kill(pid, 0);
        await new Promise((resolve) => setTimeout(resolve, 100));
      } catch {
        alive = false;
      }
    }
    assert.equal(alive, false, 'the background sleep was killed with its build step');
    assert.match(out.text(), /Aborted by user\nFinished: ABORTED\n$/);
  });

  test('an unknown job or parameter is a usage error naming what exists', async () => {
    await assert.rejects(replay({ job: 'nope' }), (e: unknown) => e instanceof UsageError && /no job "nope".*envdump, noshebang/.test(e.message));
    await assert.rejects(
      replay({ job: 'envdump', params: { GRETING: 'x' } }),
      (e: unknown) => e instanceof UsageError && /has no parameter GRETING; its parameters: GREETING, COLOR/.test(e.message),
    );
    // `--param __proto__=x` was dropped without a word (the assignment set the prototype).
    await assert.rejects(
      replay({ job: 'envdump', params: parseParams(['__proto__=x', 'GREETING=hi']) }),
      (e: unknown) => e instanceof UsageError && /has no parameter __proto__; its parameters: GREETING, COLOR/.test(e.message),
    );
  });
});
