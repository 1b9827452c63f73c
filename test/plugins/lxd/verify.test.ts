/**
 * Backend selection, `verify` (what `byoci doctor` prints), config validation, and runs
 * from a prepared base container instead of an image.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ConfigError, run } from '../../../core/index.js';
import type { Note, Problem, ProjectConfig, TestSpec } from '../../../hooks/index.js';
import { LxdClient } from '../../../plugins/lxd/client.js';
import { destroyInstance, instanceRequest, type InstancePlan } from '../../../plugins/lxd/container.js';
import { importImage } from '../../../plugins/lxd/images.js';
import lxdPlugin from '../../../plugins/lxd/index.js';
import { suiteNeeds } from '../../support/components.js';
import { applyPlugins, verifyPlugin } from '../../support/harness.js';
import { LXD_SOCKET, lxdMissing, testPrefix } from '../../support/lxd.js';
import { commandLines, lxdBox, makeSpec, type Box } from './support.js';

const MISSING = await lxdMissing();

function project(spec: TestSpec, name = 'demo'): ProjectConfig {
  return { name, targets: [{ forge: 'local', branch: { vcs: 'git', url: '/srv/demo.git', branch: 'main' }, options: {} }], test: spec };
}

function verify(config: Record<string, unknown>, projects: ProjectConfig[]): Promise<{ problems: Problem[]; notes: Note[] }> {
  return verifyPlugin({ plugin: lxdPlugin, config }, projects);
}

describe('lxd backend: selection and verify without a daemon', () => {
  const nowhere = join(tmpdir(), 'byoci-no-lxd-here', 'unix.socket');

  test('backend lxd without a daemon is a verify problem naming the socket and the fix', async () => {
    const { problems } = await verify({ socket: nowhere }, [project(makeSpec())]);
    assert.equal(problems.length, 1);
    assert.equal(problems[0]!.source, 'lxd');
    assert.match(problems[0]!.message, /project demo has test.backend lxd, but no LXD daemon answers on .*byoci-no-lxd-here\/unix.socket/);
    assert.match(problems[0]!.hint ?? '', /scripts\/lxd-up.sh/);
  });

  test('backend auto without a daemon is no problem; the note says lxd will not be used and why', async () => {
    const { problems, notes } = await verify({ socket: nowhere }, [project(makeSpec({ backend: 'auto' }))]);
    assert.deepEqual(problems, []);
    assert.match(notes[0]?.message ?? '', /backend auto will not use lxd: no daemon answers on/);
  });

  test('projects of other backends are none of its business', async () => {
    const { problems, notes } = await verify({ socket: nowhere }, [project(makeSpec({ backend: 'bwrap' }))]);
    assert.deepEqual([problems, notes], [[], []]);
  });

  test('testInContainer: auto passes on without a daemon, lxd fails naming the socket, others pass', async () => {
    const harness = await applyPlugins([{ plugin: lxdPlugin, config: { socket: nowhere } }]);
    const root = mkdtempSync(join(tmpdir(), 'byoci-lxd-sel-'));
    try {
      const payload = (spec: TestSpec) => ({
        project: project(spec),
        spec,
        dir: root,
        runId: harness.run.id,
        artefactsDir: join(root, 'a'),
        onLine: () => {},
        signal: harness.run.signal,
      });
      assert.equal(await harness.hooks.testInContainer.promise(payload(makeSpec({ backend: 'auto' }))), undefined);
      // Falling back from LXD is a warning that says why, not an info line.
      assert.ok(harness.lines.some((l) => /WARN .*backend auto falls back from lxd: no LXD daemon answers/.test(l)), harness.lines.join('\n'));
      assert.equal(await harness.hooks.testInContainer.promise(payload(makeSpec({ backend: 'bwrap' }))), undefined);
      await assert.rejects(harness.hooks.testInContainer.promise(payload(makeSpec())), /\[lxd\/testInContainer\] test.backend is lxd, but no LXD daemon answers on .*byoci-no-lxd-here/);
    } finally {
      harness.cleanup();
      rmSync(root, { recursive: true, force: true });
    }
  });

  test('the instance request applies no profile: only the root disk is carried over, nics and mounts are not', () => {
    const inherited = {
      root: { type: 'disk', path: '/', pool: 'fast' },
      eth0: { type: 'nic', network: 'lxdbr0' },
      home: { type: 'disk', source: '/home', path: '/home' },
    };
    const plan: InstancePlan = {
      name: 'byoci-r1',
      source: { type: 'image', alias: 'hostusr', fingerprint: 'f'.repeat(64), properties: { 'byoci.host-usr': 'true', 'byoci.init': '/init-sh' } },
      workspace: '/tmp/w/tree',
      workdir: '/src',
      limits: { memory: '1GiB', processes: 100, cpu: '1' },
      inheritedDevices: inherited,
      owner: { 'user.byoci.run': 'r1' },
    };
    const body = instanceRequest(plan) as { profiles: string[]; ephemeral: boolean; devices: Record<string, Record<string, string>>; config: Record<string, string> };
    assert.deepEqual(body.profiles, []);
    assert.equal(body.ephemeral, true);
    assert.deepEqual(body.devices, {
      root: { type: 'disk', path: '/', pool: 'fast' },
      'byoci-workspace': { type: 'disk', source: '/tmp/w/tree', path: '/src' },
      'byoci-usr': { type: 'disk', source: '/usr', path: '/usr', readonly: 'true' },
    });
    assert.equal(body.config['raw.lxc'], 'lxc.init.cmd = /init-sh');
    assert.equal(body.config['limits.memory'], '1GiB');
    assert.equal(body.config['security.privileged'], 'false');
    const copy = instanceRequest({ ...plan, source: { type: 'copy', container: 'base', properties: {} } }) as typeof body;
    assert.deepEqual(copy.devices.eth0, { type: 'none' });
    assert.deepEqual(copy.devices.home, { type: 'none' });
    const networked = instanceRequest({ ...plan, network: { network: 'byoci-net' } }) as typeof body;
    assert.deepEqual(networked.devices.eth0, { type: 'nic', network: 'byoci-net', name: 'eth0' });
  });

  test('a base container device named __proto__ is masked in the request like any other device', () => {
    // devices[name] = { type: 'none' } with name `__proto__` set the prototype: the mask was not sent, the copy kept the device.
    const inherited = JSON.parse('{"root":{"type":"disk","path":"/","pool":"fast"},"__proto__":{"type":"disk","source":"/home","path":"/home"}}') as InstancePlan['inheritedDevices'];
    const plan: InstancePlan = {
      name: 'byoci-r2',
      source: { type: 'copy', container: 'base', properties: {} },
      workspace: '/tmp/w/tree',
      workdir: '/src',
      limits: {},
      inheritedDevices: inherited,
      owner: { 'user.byoci.run': 'r2' },
    };
    const sent = JSON.parse(JSON.stringify(instanceRequest(plan))) as { devices: Record<string, Record<string, string>> };
    assert.deepEqual(Object.getOwnPropertyDescriptor(sent.devices, '__proto__')?.value, { type: 'none' });
    assert.deepEqual(Object.keys(sent.devices).sort(), ['__proto__', 'byoci-workspace', 'root']);
  });

  test('a bad plugin config is reported with the option path', async () => {
    await assert.rejects(
      applyPlugins([{ plugin: lxdPlugin, config: { prefix: 'Bad_Prefix', limits: { memory: 'lots' } } }]),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        const paths = error.problems.map((p) => p.path);
        assert.deepEqual(paths.sort(), ['plugins.lxd.limits.memory', 'plugins.lxd.prefix']);
        return true;
      },
    );
  });
});

describe('lxd backend: verify and base containers with the daemon', suiteNeeds('lxd', MISSING), () => {
  const base = `${testPrefix('base')}base`;
  let client: LxdClient;
  let box: Box;

  before(async () => {
    client = new LxdClient(LXD_SOCKET);
    box = await lxdBox({}, 'vb');
  });
  after(async () => {
    await destroyInstance(client, base).catch(() => {});
    client?.close();
    await box?.cleanup();
  });

  test('with the daemon and the image: no problem; a note names the version and the image', async () => {
    const { problems, notes } = await verify({ socket: LXD_SOCKET }, [project(makeSpec({ backend: 'auto' }), 'web')]);
    assert.deepEqual(problems, []);
    assert.match(notes[0]?.message ?? '', /^project web: backend auto picks lxd: LXD \d+\.\d+(\.\d+)? answers on .*, image hostusr is there$/);
  });

  test('a missing image is a problem naming it and how to build one', async () => {
    const { problems } = await verify({ socket: LXD_SOCKET }, [project(makeSpec({ image: 'no-such-image' }))]);
    assert.equal(problems.length, 1);
    assert.match(problems[0]!.message, /project demo: LXD has no image alias or base container named "no-such-image"/);
    assert.match(problems[0]!.hint ?? '', /byoci image build hostusr/);
  });

  test('an image alias that is not a byoci image, or a base container made from one, is a problem naming it and the fix; a run says so too (not a forkstart error)', async () => {
    // A throw-away image as LXD would accept from anyone: a rootfs and metadata, without the
    // properties `byoci image build` sets (byoci.recipe, byoci.init).
    const alias = `${testPrefix('foreign')}img`;
    const foreignBase = `${testPrefix('foreign')}base`;
    const work = mkdtempSync(join(tmpdir(), 'byoci-lxd-foreign-'));
    let fingerprint: string | undefined;
    try {
      mkdirSync(join(work, 'rootfs', 'etc'), { recursive: true });
      writeFileSync(join(work, 'rootfs', 'etc', 'hostname'), 'foreign\n');
      writeFileSync(
        join(work, 'metadata.yaml'),
        `architecture: x86_64\ncreation_date: ${Math.floor(Date.now() / 1000)}\nproperties:\n  description: "not made by byoci ${alias}"\n  os: "none"\ntemplates: {}\n`,
      );
      const tarball = join(work, 'foreign.tar.gz');
      await run(['tar', '--numeric-owner', '-C', work, '-czf', tarball, 'metadata.yaml', 'rootfs']);
      fingerprint = (await importImage(client, tarball, alias)).fingerprint;

      const { problems, notes } = await verify({ socket: LXD_SOCKET }, [project(makeSpec({ image: alias }))]);
      assert.equal(problems.length, 1, JSON.stringify(problems));
      assert.equal(
        problems[0]!.message,
        `project demo: LXD image "${alias}" (${fingerprint.slice(0, 12)}) is not a byoci image: it has no byoci.recipe or byoci.init property; byoci cannot start a container from it`,
      );
      assert.match(problems[0]!.hint ?? '', /build one with `byoci image build hostusr`, or set test.image to one of `byoci image list`/);
      assert.deepEqual(notes, []);

      await assert.rejects(box.run(makeSpec({ image: alias })), (error: Error) => {
        assert.match(error.message, new RegExp(`lxd: LXD image "${alias}" .* is not a byoci image: it has no byoci.recipe or byoci.init property \\(build one with \`byoci image build hostusr\``));
        assert.doesNotMatch(error.message, /forkstart/);
        return true;
      });

      // A base container made from that image (never started): just as unusable, named as such.
      await client.request('POST', '/1.0/instances', { name: foreignBase, source: { type: 'image', alias } }, { timeoutMs: 0 });
      const fromBase = await verify({ socket: LXD_SOCKET }, [project(makeSpec({ image: foreignBase }))]);
      assert.equal(fromBase.problems.length, 1, JSON.stringify(fromBase.problems));
      assert.equal(
        fromBase.problems[0]!.message,
        `project demo: LXD base container "${foreignBase}" was not made from a byoci image (its image: "not made by byoci ${alias}"): its configuration has no image.byoci.recipe or image.byoci.init; byoci cannot start a container from it`,
      );
      assert.match(fromBase.problems[0]!.hint ?? '', /build one with `byoci image build hostusr`, or set test.image to one of `byoci image list`/);
    } finally {
      await client.request('DELETE', `/1.0/instances/${foreignBase}`, undefined, { timeoutMs: 0 }).catch(() => {});
      await client.request('DELETE', `/1.0/images/aliases/${encodeURIComponent(alias)}`).catch(() => {});
      if (fingerprint) await client.request('DELETE', `/1.0/images/${fingerprint}`, undefined, { timeoutMs: 0 }).catch(() => {});
      rmSync(work, { recursive: true, force: true });
    }
    const left = await client.request<string[]>('GET', '/1.0/images/aliases');
    assert.ok(!left.some((a) => a.endsWith(`/${alias}`)), 'the throw-away alias is gone');
    const instances = await client.request<string[]>('GET', '/1.0/instances');
    assert.ok(!instances.some((i) => i.endsWith(`/${foreignBase}`)), 'the throw-away base container is gone');
  });

  test('network asked for without a network to attach is a problem', async () => {
    const { problems } = await verify({ socket: LXD_SOCKET }, [project(makeSpec({ network: true }))]);
    assert.equal(problems.length, 1);
    assert.match(problems[0]!.message, /asks for test.network, but plugins.lxd.network is not set/);
  });

  test('setupAgent without an ssh agent on the bot is a problem', async () => {
    const saved = process.env.SSH_AUTH_SOCK;
    delete process.env.SSH_AUTH_SOCK;
    try {
      const { problems } = await verify({ socket: LXD_SOCKET }, [project(makeSpec({ setupAgent: true, setup: ['true'] }))]);
      assert.equal(problems.length, 1);
      assert.match(problems[0]!.message, /sets test.setupAgent, but the bot has no ssh agent \(SSH_AUTH_SOCK is not set\)/);
    } finally {
      if (saved !== undefined) process.env.SSH_AUTH_SOCK = saved;
    }
  });

  test('test.image may name a prepared base container: the run starts from a copy of it', async () => {
    await client.request('POST', '/1.0/instances', {
      name: base,
      source: { type: 'image', alias: 'hostusr' },
      config: { 'raw.lxc': 'lxc.init.cmd = /init-sh' },
      devices: {
        usr: { type: 'disk', source: '/usr', path: '/usr', readonly: 'true' },
        // A host mount of the base container must not reach the runs made from it.
        hostetc: { type: 'disk', source: '/etc', path: '/host-etc', readonly: 'true' },
      },
    }, { timeoutMs: 0 });
    await client.request('PUT', `/1.0/instances/${base}/state`, { action: 'start', timeout: 30 }, { timeoutMs: 0 });
    const prepared = await client.exec(base, { command: ['sh', '-c', 'mkdir -p /opt/deps && echo prepared > /opt/deps/marker'], environment: {} });
    assert.equal(prepared.exitCode, 0);
    await client.request('PUT', `/1.0/instances/${base}/state`, { action: 'stop', force: true, timeout: -1 }, { timeoutMs: 0 });

    const { result, stdout } = await box.run(makeSpec({ image: base, command: ['sh', '-c', 'cat /opt/deps/marker; cat hello.txt; ls /sys/class/net; ls -d /host-etc/* 2>&1 | head -1'] }));
    assert.equal(result?.exitCode, 0, result?.outputTail);
    assert.deepEqual(commandLines(stdout).slice(0, 3), ['prepared', 'from the merged tree', 'lo']);
    assert.match(commandLines(stdout)[3] ?? '', /No such file or directory/);
    const still = await client.request<{ status: string }>('GET', `/1.0/instances/${base}`);
    assert.equal(still.status, 'Stopped', 'the base container itself is untouched');
  });
});
