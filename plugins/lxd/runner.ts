/**
 * One test run in a throw-away LXD container, in steps of one job each:
 *   containerPlan (what to start from, limits, network) → the pool hands out a started
 *   container (the warm spare, else a new one) → stageTree (copy of the tree, owned by the
 *   container's test user) → setup phase (may get the ssh agent) → test phase (never gets
 *   credentials) → collectArtefacts (the container frozen first) → the result; the pool then
 *   kills and deletes the container in the background, off the critical path.
 */
import type { TestPayload, TestResult } from '../../hooks/index.js';
import { LineSplitter, TailBuffer, Watchdog, hostVariables, run, type Logger, type TimeoutKind } from '../../core/index.js';
import { copyArtefacts } from './artefacts.js';
import { buildCommand } from './images.js';
import type { LxdClient } from './client.js';
import { killInstance, notByociImage, resolveSource } from './container.js';
import { freezeCgroup, hostId, oomKillCount } from './host.js';
import type { Container, ContainerPlan, ContainerPool, Lease } from './pool.js';
import type { LxdConfig } from './schema.js';

export const BACKEND = 'lxd';
/** Where the forwarded ssh agent listens inside the container during setup. */
const AGENT_SOCKET = '/run/byoci-ssh-agent.sock';
const AGENT_DEVICE = 'byoci-ssh-agent';

export interface RunContext {
  client: LxdClient;
  config: LxdConfig;
  log: Logger;
  redact: (text: string) => string;
  /** Where the run's containers come from and go back to (warm spares, background deletion). */
  pool: ContainerPool;
  /** The image's source, cached per run by the plugin. */
  resolveSource?: typeof resolveSource;
}

/** The environment of a phase: container-local basics, listed host variables, fixed ones. */
export function phaseEnvironment(payload: TestPayload, config: LxdConfig, extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    HOME: config.home,
    LANG: 'C.UTF-8',
    ...hostVariables(payload.spec.env),
    ...payload.spec.setEnv,
    ...extra,
  };
}

class Aborted extends Error {
  override readonly name = 'AbortError';
}

export async function runInContainer(payload: TestPayload, ctx: RunContext): Promise<TestResult> {
  const started = performance.now();
  const output = new RunOutput(payload, ctx.redact);
  if (payload.signal.aborted) throw new Aborted('test run aborted before its container was made');
  const plan = await containerPlan(payload, ctx);
  const lease = ctx.pool.take(plan);
  payload.onSandbox?.({ backend: BACKEND, name: lease.name });
  const run = new ContainerRun(payload, ctx, lease, output);
  try {
    const container = await stageTree(payload, lease, ctx.config);
    // The next tests' containers start while this one runs (as many as core says follow).
    ctx.pool.refill(plan, payload.upcoming);
    run.checkAbort();
    const { phase, exitCode, oomKilled } = await run.phases(container, plan.limits.memory);
    const artefacts = await run.collectArtefacts(container);
    const result = testResult({ exitCode, phase, oomKilled, artefacts, killedBy: run.killedBy, memoryLimit: plan.limits.memory, tail: output.tail, started });
    ctx.log.info('container run done', { container: lease.name, warm: container.warm, phase, exitCode, ...(run.killedBy ? { timedOut: run.killedBy } : {}), oomKilled });
    return result;
  } finally {
    run.end();
    // Killed and deleted in the background: the result does not wait for it.
    ctx.pool.release(lease);
  }
}

/** The result handed back, from what the phases and the artefact copy found. */
function testResult(found: {
  exitCode: number;
  phase: 'setup' | 'test';
  oomKilled: boolean;
  artefacts: string[];
  killedBy: TimeoutKind | undefined;
  memoryLimit: string | undefined;
  tail: TailBuffer;
  started: number;
}): TestResult {
  const result: TestResult = {
    backend: BACKEND,
    exitCode: found.exitCode,
    phase: found.phase,
    outputTail: found.tail.text(),
    artefacts: found.artefacts,
    durationMs: Math.round(performance.now() - found.started),
  };
  if (found.killedBy) result.timedOut = found.killedBy;
  if (found.oomKilled) result.oomKilled = true;
  if (found.memoryLimit) result.memoryLimit = found.memoryLimit;
  return result;
}

/**
 * What the run's container is made from: the image (or base container) the project names,
 * checked to be a byoci image; the limits (the project's, else the plugin's); the network.
 * Plans with the same key give interchangeable containers (a spare made for one serves the other).
 */
export async function containerPlan({ spec }: Pick<TestPayload, 'spec'>, ctx: Pick<RunContext, 'client' | 'config' | 'resolveSource'>): Promise<ContainerPlan> {
  const image = spec.image ?? ctx.config.image;
  const source = await (ctx.resolveSource ?? resolveSource)(ctx.client, image);
  if (!source) throw new Error(`lxd: no image alias or base container named ${JSON.stringify(image)} (byoci image list; byoci image build hostusr)`);
  const foreign = notByociImage(source);
  if (foreign) throw new Error(`lxd: ${foreign} (build one with \`${buildCommand(image)}\`, or set test.image to one of \`byoci image list\`)`);
  const limits = { ...ctx.config.limits, ...definedOnly(spec.limits) };
  let network: ContainerPlan['network'];
  if (spec.network) network = ctx.config.network ? { network: ctx.config.network } : { keepProfile: true };
  const origin = source.type === 'image' ? `image:${source.fingerprint}` : `copy:${source.container}`;
  return { key: JSON.stringify([origin, limits, network ?? null]), image, source, limits, network };
}

/**
 * Copies the merged tree into the container's workspace (while the container is still being
 * made, when no spare was ready) and gives the copy to the container's test user. The
 * slave's own checkout is neither written nor re-owned.
 */
export async function stageTree(payload: TestPayload, lease: Lease, config: LxdConfig): Promise<Container> {
  const copying = run(['cp', '-a', '--', `${payload.dir}/.`, lease.tree], { signal: payload.signal });
  const [copied, made] = await Promise.allSettled([copying, lease.ready]);
  if (made.status === 'rejected') throw made.reason;
  if (copied.status === 'rejected') throw copied.reason;
  const container = made.value;
  const uid = hostId(container.config, config.user, 'uid');
  const gid = hostId(container.config, config.group, 'gid');
  await run(['chown', '-R', '--no-dereference', `${uid}:${gid}`, '--', lease.tree], { signal: payload.signal });
  return container;
}

/** The run's output: every line redacted, sent to the job's console and kept for the tail. */
class RunOutput {
  readonly tail = new TailBuffer();
  constructor(
    readonly payload: TestPayload,
    readonly redact: (text: string) => string,
  ) {}

  emit(stream: 'stdout' | 'stderr', line: string): void {
    const clean = this.redact(line);
    this.tail.push(clean);
    this.payload.onLine(stream, clean);
  }

  /** A line of the plugin's own. */
  say(line: string): void {
    this.emit('stderr', `byoci-lxd: ${line}`);
  }
}

/** The phases of one run in its container: abort and timeouts kill it at once. */
class ContainerRun {
  killedBy: TimeoutKind | undefined;
  #watchdog: Watchdog | undefined;
  readonly #onAbort: () => void;

  constructor(
    readonly payload: TestPayload,
    readonly ctx: RunContext,
    readonly lease: Lease,
    readonly output: RunOutput,
  ) {
    // Abort (SIGINT/SIGTERM of the bot): kill now (once the container exists); the pool deletes it.
    this.#onAbort = () => void lease.ready.then(() => killInstance(ctx.client, lease.name)).catch(() => {});
    payload.signal.addEventListener('abort', this.#onAbort, { once: true });
  }

  checkAbort(): void {
    if (this.payload.signal.aborted) throw new Aborted(`test run aborted; container ${this.lease.name} is being deleted`);
  }

  /** Setup (when configured) then test, under the timeouts; then whether the kernel OOM-killed. */
  async phases(container: Container, memoryLimit: string | undefined): Promise<{ phase: 'setup' | 'test'; exitCode: number; oomKilled: boolean }> {
    const { spec } = this.payload;
    const oomBefore = container.pid ? await oomKillCount(container.pid) : undefined;
    this.#startWatchdog();
    let phase: 'setup' | 'test' = spec.setup?.length ? 'setup' : 'test';
    let exitCode = spec.setup?.length ? await this.#setupPhase(spec.setup) : 0;
    if (exitCode === 0 && !this.killedBy) {
      phase = 'test';
      exitCode = await this.#testPhase();
    }
    this.#watchdog?.stop();
    const oomKilled = !this.killedBy && exitCode !== 0 && (await this.#oomKilled(container, oomBefore));
    if (oomKilled) this.output.say(`the kernel killed a process for exceeding the memory limit (${memoryLimit ?? 'unset'})`);
    return { phase, exitCode, oomKilled };
  }

  /**
   * Copies the artefacts back with nothing running in the container: it is frozen (its
   * cgroup's freezer, ~10 ms) or, without a freezer, killed (~1 s). A failure to copy must not
   * hide the test result.
   */
  async collectArtefacts(container: Container): Promise<string[]> {
    const { spec } = this.payload;
    const { client, config, log } = this.ctx;
    if (spec.artefacts.length === 0) return [];
    if (!container.pid || !(await freezeCgroup(container.pid))) {
      log.warn('the container could not be frozen (no cgroup freezer found): killing it before the artefacts are copied', { container: this.lease.name });
      await killInstance(client, this.lease.name);
    }
    const copy = await copyArtefacts(this.lease.tree, spec.artefacts, this.payload.artefactsDir, config.maxArtefactBytes).catch((error: unknown) => {
      log.error('artefacts not copied', { error });
      return { copied: [] as string[], skipped: [] as string[] };
    });
    for (const reason of copy.skipped) log.warn('artefact not copied', { reason });
    return copy.copied;
  }

  end(): void {
    this.#watchdog?.stop();
    this.payload.signal.removeEventListener('abort', this.#onAbort);
  }

  /** The timeouts cover setup + test, not the container's creation. */
  #startWatchdog(): void {
    const { spec } = this.payload;
    this.#watchdog = new Watchdog({
      totalSeconds: spec.timeout,
      noOutputSeconds: spec.noOutputTimeout,
      onTimeout: (kind) => {
        this.killedBy = kind;
        this.output.say(
          kind === 'total'
            ? `killing the container: the run exceeded its total timeout of ${spec.timeout} s`
            : `killing the container: no output for ${spec.noOutputTimeout} s (no-output timeout)`,
        );
        void killInstance(this.ctx.client, this.lease.name).catch((error) => this.ctx.log.warn('kill failed', { container: this.lease.name, error }));
      },
    });
  }

  /** The setup phase, with the ssh agent when the project asks for it (removed before the tests). */
  async #setupPhase(command: string[]): Promise<number> {
    const { spec } = this.payload;
    const { client, config } = this.ctx;
    const user = config.setupUser ?? config.user;
    const group = config.setupGroup ?? config.group;
    const extra: Record<string, string> = {};
    if (spec.setupAgent) {
      await addAgent(client, this.lease.name, user, group);
      extra.SSH_AUTH_SOCK = AGENT_SOCKET;
    }
    this.output.say(`setup: ${JSON.stringify(command)}`);
    const exitCode = await this.#exec(command, phaseEnvironment(this.payload, config, extra), user, group);
    this.checkAbort();
    if (spec.setupAgent && !this.killedBy) await removeAgent(client, this.lease.name);
    return exitCode;
  }

  async #testPhase(): Promise<number> {
    const { spec } = this.payload;
    const { config } = this.ctx;
    this.output.say(`test: ${JSON.stringify(spec.command)}`);
    const exitCode = await this.#exec(spec.command, phaseEnvironment(this.payload, config), config.user, config.group);
    this.checkAbort();
    return exitCode;
  }

  /** One exec, its output split into lines as it arrives; a kill decides the exit code. */
  async #exec(command: string[], env: Record<string, string>, user: number, group: number): Promise<number> {
    const out = new LineSplitter((line) => this.output.emit('stdout', line));
    const err = new LineSplitter((line) => this.output.emit('stderr', line));
    const killed = () => this.killedBy !== undefined || this.payload.signal.aborted;
    try {
      const result = await this.ctx.client.exec(this.lease.name, {
        command,
        environment: env,
        user,
        group,
        cwd: this.ctx.config.workdir,
        onStdout: (chunk) => {
          this.#watchdog?.touch();
          out.push(chunk);
        },
        onStderr: (chunk) => {
          this.#watchdog?.touch();
          err.push(chunk);
        },
      });
      // A killed container may end the exec as if it succeeded: the kill decides.
      if (killed()) return result.exitCode === 0 ? 137 : result.exitCode;
      if (result.notStarted) this.output.say(`${command[0]}: ${result.notStarted.toLowerCase()} (exit code ${result.exitCode})`);
      return result.exitCode;
    } catch (error) {
      // A killed container ends the exec operation with an error: that is the kill, not a bug.
      if (killed()) return 137;
      throw error;
    } finally {
      out.end();
      err.end();
    }
  }

  async #oomKilled(container: Container, before: number | undefined): Promise<boolean> {
    if (!container.pid) return false;
    const after = await oomKillCount(container.pid);
    return after !== undefined && after > (before ?? 0);
  }
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
