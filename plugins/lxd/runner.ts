/**
 * One test run in a throw-away LXD container:
 *   stage a copy of the tree (owned by the container's test user) → create the ephemeral
 *   container `<prefix>-<run id>` → start → setup phase (may get the ssh agent) → test
 *   phase (never gets credentials) → kill → copy artefacts back → delete, in every case.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestPayload, TestResult } from '../../hooks/index.js';
import { LineSplitter, TailBuffer, Watchdog, run, type Logger, type TimeoutKind } from '../../core/index.js';
import { copyArtefacts } from './artefacts.js';
import { buildCommand } from './images.js';
import type { LxdClient } from './client.js';
import {
  createInstance,
  destroyInstance,
  inheritedDevices,
  initPid,
  instanceConfig,
  killInstance,
  notByociImage,
  resolveSource,
  startInstance,
} from './container.js';
import { hostId, oomKillCount } from './host.js';
import { ownerConfig } from './owner.js';
import type { LxdConfig } from './schema.js';

export const BACKEND = 'lxd';
/** Where the forwarded ssh agent listens inside the container during setup. */
const AGENT_SOCKET = '/run/byoci-ssh-agent.sock';
const AGENT_DEVICE = 'byoci-ssh-agent';

export interface RunContext {
  client: LxdClient;
  config: LxdConfig;
  name: string;
  log: Logger;
  redact: (text: string) => string;
  /** Parent of the staging directory (the run's workdir). */
  stagingParent?: string;
  /** Called once the container exists and once it is gone (for shutdown cleanup). */
  track?: (name: string, alive: boolean) => void;
  /** The image's source and the devices it inherits, cached per run by the plugin. */
  resolveSource?: typeof resolveSource;
  inheritedDevices?: typeof inheritedDevices;
}

/** The environment of a phase: container-local basics, listed host variables, fixed ones. */
export function phaseEnvironment(payload: TestPayload, config: LxdConfig, extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {
    PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    HOME: config.home,
    LANG: 'C.UTF-8',
  };
  for (const name of payload.spec.env) {
    const value = process.env[name];
    if (value !== undefined) env[name] = value;
  }
  Object.assign(env, payload.spec.setEnv, extra);
  return env;
}

class Aborted extends Error {
  override readonly name = 'AbortError';
}

export async function runInContainer(payload: TestPayload, ctx: RunContext): Promise<TestResult> {
  const { client, config, name, log } = ctx;
  const { spec } = payload;
  const started = performance.now();
  const tail = new TailBuffer();
  let killedBy: TimeoutKind | undefined;
  let phase: 'setup' | 'test' = spec.setup?.length ? 'setup' : 'test';
  const parent = ctx.stagingParent ?? tmpdir();
  await mkdir(parent, { recursive: true });
  const staging = await mkdtemp(join(parent, 'byoci-lxd-'));
  const tree = join(staging, 'tree');
  let created = false;
  const emit = (stream: 'stdout' | 'stderr', line: string) => {
    const clean = ctx.redact(line);
    tail.push(clean);
    payload.onLine(stream, clean);
  };
  const say = (line: string) => emit('stderr', `byoci-lxd: ${line}`);

  // Abort (SIGINT/SIGTERM of the bot): kill now; `finally` deletes.
  const onAbort = () => {
    if (created) void killInstance(client, name).catch(() => {});
  };
  payload.signal.addEventListener('abort', onAbort, { once: true });
  let watchdog: Watchdog | undefined;
  try {
    const checkAbort = () => {
      if (payload.signal.aborted) throw new Aborted(`test run aborted; container ${name} removed`);
    };
    checkAbort();
    const image = spec.image ?? config.image;
    const source = await (ctx.resolveSource ?? resolveSource)(client, image);
    if (!source) throw new Error(`lxd: no image alias or base container named ${JSON.stringify(image)} (byoci image list; byoci image build hostusr)`);
    const foreign = notByociImage(source);
    if (foreign) throw new Error(`lxd: ${foreign} (build one with \`${buildCommand(image)}\`, or set test.image to one of \`byoci image list\`)`);
    const limits = { ...config.limits, ...definedOnly(spec.limits) };
    let network: { keepProfile: true } | { network: string } | undefined;
    if (spec.network) network = config.network ? { network: config.network } : { keepProfile: true };
    // The copy of the tree and the container's creation overlap. Creation is not cut short
    // by an abort (a half-created container could escape the cleanup below); the abort is
    // honoured right after.
    await mkdir(tree);
    const copying = run(['cp', '-a', '--', `${payload.dir}/.`, tree], { signal: payload.signal });
    const creating = (async () => {
      await createInstance(client, {
        name,
        source,
        workspace: tree,
        workdir: config.workdir,
        limits,
        network,
        inheritedDevices: await (ctx.inheritedDevices ?? inheritedDevices)(client, source),
        owner: ownerConfig(payload.runId),
      });
      created = true;
      ctx.track?.(name, true);
    })();
    const [copied, made] = await Promise.allSettled([copying, creating]);
    if (made.status === 'rejected') throw made.reason;
    if (copied.status === 'rejected') throw copied.reason;
    log.info('container created', { container: name, image, source: source.type });
    checkAbort();
    // The container's user owns its copy of the tree; the slave's checkout is untouched.
    const instConfig = await instanceConfig(client, name);
    const uid = hostId(instConfig, config.user, 'uid');
    const gid = hostId(instConfig, config.group, 'gid');
    await run(['chown', '-R', '--no-dereference', `${uid}:${gid}`, '--', tree], { signal: payload.signal });
    await startInstance(client, name);
    checkAbort();
    if (!(await loopbackUp(client, name))) log.warn('the loopback interface is still down: the image init does not bring lo up', { container: name });
    const pid = await initPid(client, name);
    const oomBefore = pid ? await oomKillCount(pid) : undefined;
    // The timeouts cover setup + test, not the container's creation.
    watchdog = new Watchdog({
      totalSeconds: spec.timeout,
      noOutputSeconds: spec.noOutputTimeout,
      onTimeout: (kind) => {
        killedBy = kind;
        const seconds = kind === 'total' ? spec.timeout : spec.noOutputTimeout;
        say(
          kind === 'total'
            ? `killing the container: the run exceeded its total timeout of ${seconds} s`
            : `killing the container: no output for ${seconds} s (no-output timeout)`,
        );
        void killInstance(client, name).catch((error) => log.warn('kill failed', { container: name, error }));
      },
    });

    const runPhase = async (command: string[], env: Record<string, string>, user: number, group: number): Promise<number> => {
      const out = new LineSplitter((line) => emit('stdout', line));
      const err = new LineSplitter((line) => emit('stderr', line));
      try {
        const result = await client.exec(name, {
          command,
          environment: env,
          user,
          group,
          cwd: config.workdir,
          onStdout: (chunk) => {
            watchdog?.touch();
            out.push(chunk);
          },
          onStderr: (chunk) => {
            watchdog?.touch();
            err.push(chunk);
          },
        });
        // A killed container may end the exec as if it succeeded: the kill decides.
        if (killedBy || payload.signal.aborted) return result.exitCode === 0 ? 137 : result.exitCode;
        if (result.notStarted) say(`${command[0]}: ${result.notStarted.toLowerCase()} (exit code ${result.exitCode})`);
        return result.exitCode;
      } catch (error) {
        // A killed container ends the exec operation with an error: that is the kill, not a bug.
        if (killedBy || payload.signal.aborted) return 137;
        throw error;
      } finally {
        out.end();
        err.end();
      }
    };

    let exitCode = 0;
    if (spec.setup?.length) {
      phase = 'setup';
      const extra: Record<string, string> = {};
      if (spec.setupAgent) {
        await addAgent(client, name, config.setupUser ?? config.user, config.setupGroup ?? config.group);
        extra.SSH_AUTH_SOCK = AGENT_SOCKET;
      }
      say(`setup: ${JSON.stringify(spec.setup)}`);
      exitCode = await runPhase(spec.setup, phaseEnvironment(payload, config, extra), config.setupUser ?? config.user, config.setupGroup ?? config.group);
      checkAbort();
      if (spec.setupAgent && !killedBy) await removeAgent(client, name);
    }
    if (exitCode === 0 && !killedBy) {
      phase = 'test';
      say(`test: ${JSON.stringify(spec.command)}`);
      exitCode = await runPhase(spec.command, phaseEnvironment(payload, config), config.user, config.group);
      checkAbort();
    }
    watchdog.stop();
    let oomKilled = false;
    if (!killedBy && exitCode !== 0 && pid) {
      const oomAfter = await oomKillCount(pid);
      oomKilled = oomAfter !== undefined && oomAfter > (oomBefore ?? 0);
      if (oomKilled) say(`the kernel killed a process for exceeding the memory limit (${limits.memory ?? 'unset'})`);
    }
    // Nothing may run in the container while its files are copied back.
    await killInstance(client, name);
    // A failure to copy artefacts back must not hide the test result.
    const copy = await copyArtefacts(tree, spec.artefacts, payload.artefactsDir, config.maxArtefactBytes).catch((error: unknown) => {
      log.error('artefacts not copied', { error });
      return { copied: [] as string[], skipped: [] as string[] };
    });
    for (const reason of copy.skipped) log.warn('artefact not copied', { reason });
    const result: TestResult = {
      backend: BACKEND,
      exitCode,
      phase,
      outputTail: tail.text(),
      artefacts: copy.copied,
      durationMs: Math.round(performance.now() - started),
    };
    if (killedBy) result.timedOut = killedBy;
    if (oomKilled) result.oomKilled = true;
    if (limits.memory) result.memoryLimit = limits.memory;
    log.info('container run done', { container: name, phase, exitCode, ...(killedBy ? { timedOut: killedBy } : {}), oomKilled });
    return result;
  } finally {
    watchdog?.stop();
    payload.signal.removeEventListener('abort', onAbort);
    if (created) {
      await destroyInstance(client, name).then(
        () => ctx.track?.(name, false),
        (error) => log.error('container not deleted', { container: name, error }),
      );
    }
    await rm(staging, { recursive: true, force: true });
  }
}

/**
 * Waits (at most 5 s) until the image's init has brought `lo` up, so that a test binding
 * 127.0.0.1 right away does not race it. One exec of a POSIX sh loop.
 */
async function loopbackUp(client: LxdClient, name: string): Promise<boolean> {
  const script = 'i=0; while [ "$i" -lt 100 ]; do f=$(cat /sys/class/net/lo/flags 2>/dev/null) && [ $((f & 1)) -eq 1 ] && exit 0; i=$((i+1)); sleep 0.05; done; exit 1';
  const result = await client.exec(name, { command: ['sh', '-c', script], environment: { PATH: '/usr/bin:/bin:/usr/sbin:/sbin' } });
  return result.exitCode === 0;
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined && v !== '')) as Partial<T>;
}

/**
 * Forwards the slave's ssh agent into the container for the setup phase: a `proxy`
 * device listening on a unix socket inside, connecting to `$SSH_AUTH_SOCK` on the host.
 */
async function addAgent(client: LxdClient, name: string, uid: number, gid: number): Promise<void> {
  const hostSocket = process.env.SSH_AUTH_SOCK;
  if (!hostSocket) throw new Error('test.setupAgent is set but SSH_AUTH_SOCK is not: no ssh agent to forward');
  const path = `/1.0/instances/${encodeURIComponent(name)}`;
  const inst = await client.request<{ devices: Record<string, Record<string, string>> }>('GET', path);
  const devices = {
    ...inst.devices,
    [AGENT_DEVICE]: {
      type: 'proxy',
      connect: `unix:${hostSocket}`,
      listen: `unix:${AGENT_SOCKET}`,
      bind: 'container',
      uid: String(uid),
      gid: String(gid),
      mode: '0600',
    },
  };
  await client.request('PATCH', path, { devices });
}

/** Removes the agent before the test phase: its processes can no longer reach the agent. */
async function removeAgent(client: LxdClient, name: string): Promise<void> {
  const path = `/1.0/instances/${encodeURIComponent(name)}`;
  const inst = await client.request<{ devices: Record<string, Record<string, string>>; config: Record<string, string>; profiles: string[]; ephemeral: boolean; description: string }>('GET', path);
  const devices = { ...inst.devices };
  delete devices[AGENT_DEVICE];
  // PUT replaces the whole local config: send it back as it is (volatile keys included).
  await client.request('PUT', path, { config: inst.config, devices, profiles: inst.profiles, ephemeral: inst.ephemeral, description: inst.description });
}
