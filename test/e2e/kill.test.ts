/**
 * Issue 11, item 4: no key file outlives its run. A real bot (`byoci land`) pushing over a
 * real sshd with the `git/ssh-key` secret is killed with kill -9 after `fetched`; then
 * `find` over the work root shows no file holding the key, the run's ssh-agent is gone, and
 * one rerun removes the dead run's directory. Two SIGTERMs in a row still clean up.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parse, stringify } from 'yaml';
import { run } from '../../core/process.js';
import { createDemo, type DemoSetup } from '../../demo/setup.js';
import { suiteNeeds } from '../support/components.js';
import { byoci } from '../support/cli.js';
import { filesHoldingKey } from '../support/key-files.js';
import { startSshd, sshdMissing, type Sshd } from '../support/sshd.js';

/** The demo with its trunk and the contributor's repository reached over ssh. */
async function demoOverSsh(sshd: Sshd): Promise<DemoSetup> {
  const demo = await createDemo(mkdtempSync(join(tmpdir(), 'byoci-kill-')), { backend: 'unsafe-host' });
  for (const id of ['1', '2']) {
    const file = join(demo.proposals, `${id}.yaml`);
    const data = parse(readFileSync(file, 'utf8')) as { source: { repo: string }; target: { repo: string } };
    data.source.repo = sshd.url(demo.contrib);
    data.target.repo = sshd.url(demo.trunk);
    writeFileSync(file, stringify(data));
  }
  const config = readFileSync(demo.config, 'utf8')
    .replace('repo: "{configDir}/trunk.git"', `repo: ${JSON.stringify(sshd.url(demo.trunk))}`)
    .replace('plugins:\n', `plugins:\n  git:\n    knownHosts: ${JSON.stringify(sshd.knownHosts)}\n`);
  assert.ok(config.includes(sshd.url(demo.trunk)), config);
  writeFileSync(demo.config, config);
  return demo;
}

function runDirs(demo: DemoSetup): string[] {
  try {
    return readdirSync(join(demo.dir, 'runs')).filter((d) => d.startsWith('run-'));
  } catch {
    return [];
  }
}

describe('kill -9 during a landing over ssh', suiteNeeds('sshd', sshdMissing()), () => {
  let sshd: Sshd;
  before(async () => {
    sshd = await startSshd();
  });
  after(async () => {
    await sshd?.stop();
  });

  test('after kill -9 no file holds the key, the agent is gone, and the next run removes the dead run directory', async () => {
    const demo = await demoOverSsh(sshd);
    const env = { BYOCI_SECRET_GIT_SSH_KEY: sshd.clientKey };
    const killed = await byoci(['--config', demo.config, 'land', '--proposal', 'local:1'], {
      env,
      signalWhen: { when: /fetched/, signal: 'SIGKILL' },
    });
    assert.equal(killed.signal, 'SIGKILL', killed.stderr);
    const dead = runDirs(demo);
    assert.equal(dead.length, 1, 'the killed run left its directory');
    assert.deepEqual(filesHoldingKey(demo.dir, sshd.clientKey), [], 'no file under the work root holds the key');
    // The agent (the only holder of the key) died with the bot: its socket answers no more.
    const socket = join(demo.dir, 'runs', dead[0]!, 'git-ssh', 'agent.sock');
    let answered = true;
    for (let i = 0; i < 50 && answered; i++) {
      answered = (await run(['ssh-add', '-l'], { env: { SSH_AUTH_SOCK: socket }, reject: false })).exitCode !== 2;
      if (answered) await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(answered, false, 'the run\'s ssh-agent is gone');

    const rerun = await byoci(['--config', demo.config, 'land'], { env });
    assert.equal(rerun.code, 1, rerun.stderr); // 1 lands, 2 is rejected (its tests fail)
    assert.match(rerun.stdout, /^landed +local:1 /m);
    assert.match(rerun.stderr, /removed run directories of dead runs/);
    assert.deepEqual(runDirs(demo), [], 'no run directory is left');
    assert.deepEqual(filesHoldingKey(demo.dir, sshd.clientKey), []);
  });

  test('a second SIGTERM kills the running commands but still cleans up before exiting 143', async () => {
    const demo = await demoOverSsh(sshd);
    // A plugin whose cleanup takes a while (as removing a container does): the second signal comes meanwhile.
    const marker = join(demo.dir, 'cleaned-up');
    writeFileSync(
      join(demo.dir, 'slow-cleanup.mjs'),
      `import { writeFileSync } from 'node:fs';\n` +
        `export default { apiVersion: 1, name: 'slow-cleanup', description: 'cleans up slowly', apply(hooks) {\n` +
        `  hooks.shutdown.tapPromise(async () => { await new Promise((r) => setTimeout(r, 1500)); writeFileSync(${JSON.stringify(marker)}, 'done'); });\n` +
        `} };\n`,
    );
    const config = readFileSync(demo.config, 'utf8')
      .replace('plugins:\n', 'plugins:\n  ./slow-cleanup.mjs: {}\n')
      .replace('        - ./check.sh', '        - sh\n        - -c\n        - echo started; sleep 60');
    writeFileSync(demo.config, config);
    let sent = 0;
    const result = await byoci(['--config', demo.config, 'land', '--proposal', 'local:1'], {
      env: { BYOCI_SECRET_GIT_SSH_KEY: sshd.clientKey },
      onSpawn(pid, output) {
        const timer = setInterval(() => {
          const stderr = output.stderr();
          if (sent === 0 && /\| started/.test(stderr)) {
            sent = 1;
            process.kill(pid, 'SIGTERM');
          } else if (sent === 1 && /interrupted: the proposal stays approved and queued|interrupted: the proposal is left as it was/.test(stderr)) {
            sent = 2;
            clearInterval(timer);
            process.kill(pid, 'SIGTERM');
          }
        }, 20);
        timer.unref();
      },
    });
    assert.equal(sent, 2);
    assert.equal(result.code, 143, result.stderr);
    assert.match(result.stderr, /second signal: killing the running commands, then cleaning up/);
    assert.equal(readFileSync(marker, 'utf8'), 'done', 'every shutdown tap ran to its end');
    assert.deepEqual(runDirs(demo), [], 'the run directory was removed');
  });
});
