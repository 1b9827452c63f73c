/**
 * The run's containers, kept off the test's critical path:
 * - **warm spares**: containers created from the image and started (their empty workspace
 *   mounted, `lo` up) while the previous test runs, handed to the next tests whose image,
 *   limits and network match; once a test has its container, up to `spares` new ones are
 *   started, no more than core's hint says tests follow (`TestPayload.upcoming`: none after
 *   the last test of a run, several for a speculative window); and before the first test,
 *   core's `prepare` hint (tests follow once the landing has fetched and merged) warms the
 *   first one while the landing fetches and merges (`warm`), within `spares` too;
 * - **background deletion**: a finished container is killed and deleted after the run's
 *   result was handed back, tracked here and awaited by `close()` (the plugin's shutdown),
 *   so the process never exits with a container of its own left.
 *
 * A spare is used once: it is handed to exactly one test and deleted after it, never
 * returned to the pool. Every container (spare or not) carries the owner record of this
 * process, so the sweep of the next run removes what a SIGKILL left behind.
 */
import { mkdirSync, mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { recordSpan, type Logger } from '../../core/index.js';
import type { LxdClient } from './client.js';
import { createInstance, destroyInstance, initPid, instanceConfig, startInstance, type InstancePlan, type Source } from './container.js';
import { ownerConfig } from './owner.js';

type Devices = Record<string, Record<string, string>>;

/** What a container is made of; two plans with the same `key` give interchangeable containers. */
export interface ContainerPlan {
  key: string;
  /** The image alias or base container name (for the log). */
  image: string;
  source: Source;
  limits: InstancePlan['limits'];
  network?: InstancePlan['network'];
}

/** A created and started container with its (empty until staged) workspace. */
export interface Container {
  name: string;
  /** The instance's config (its idmap: who owns the workspace). */
  config: Record<string, string>;
  /** Host pid of its init (for the OOM counter and the freezer); undefined if not running. */
  pid: number | undefined;
  /** Whether it was a warm spare (created before the test asked for it). */
  warm: boolean;
}

/** A container handed to one test: its workspace path is known before the container is ready. */
export interface Lease {
  name: string;
  /** Host directory mounted as the workspace: the tree is copied here. */
  tree: string;
  /** Removed once the container is gone. */
  staging: string;
  ready: Promise<Container>;
}

interface Spare extends Lease {
  key: string;
  failed: boolean;
}

export interface PoolOptions {
  client: LxdClient;
  log: Logger;
  runId: string;
  /** Path of the workspace inside the container. */
  workdir: string;
  /** Parent of the staging directories (the run's workdir). */
  stagingParent: string;
  /** How many spares to keep ready (0: none; every test then creates its container). */
  spares: number;
  /** The next container name of this run. */
  nextName: () => string;
  inheritedDevices: (client: LxdClient, source: Source) => Promise<Devices>;
}

export class ContainerPool {
  readonly #options: PoolOptions;
  readonly #spares: Spare[] = [];
  /** Every piece of background work: creations (spares and fresh) and deletions. */
  readonly #work = new Set<Promise<unknown>>();
  /** Containers handed out and not yet released (deleted at close when still there). */
  readonly #leased = new Set<Lease>();
  #closed = false;

  constructor(options: PoolOptions) {
    this.#options = options;
  }

  /** A container for `plan`: a ready (or still starting) spare that matches, else a new one. */
  take(plan: ContainerPlan): Lease {
    if (this.#closed) throw new Error('lxd: the plugin is shutting down; no new container');
    const index = this.#spares.findIndex((s) => s.key === plan.key && !s.failed);
    const lease = index >= 0 ? this.#spares.splice(index, 1)[0]! : this.#create(plan, false);
    this.#leased.add(lease);
    return lease;
  }

  /**
   * Keeps `min(spares, upcoming)` containers for `plan` on the way (in the background):
   * `upcoming` is core's hint of how many further tests follow soon (`TestPayload.upcoming`;
   * undefined: unknown, `spares` as before the hint). Spares made for another plan (another
   * image, limits or network) are dropped; spares beyond the number are kept (already made,
   * a later test may still take them; the shutdown deletes what is left).
   */
  refill(plan: ContainerPlan, upcoming?: number): void {
    if (this.#closed) return;
    for (const spare of [...this.#spares]) {
      if (spare.key === plan.key && !spare.failed) continue;
      this.#spares.splice(this.#spares.indexOf(spare), 1);
      this.#delete(spare);
    }
    const wanted = sparesWanted(this.#options.spares, upcoming);
    while (this.#spares.length < wanted) this.#spare(plan);
  }

  /**
   * Core's `prepare` hint (tests of this plan follow once the landing has fetched and
   * merged): keeps `min(spares, tests)` spares for `plan` on the way, counting those already
   * there, so the first test of a run takes a container made during its fetch and merge.
   * Spares of other plans are left for `refill` to judge. `spares: 0`: nothing.
   */
  warm(plan: ContainerPlan, tests: number): void {
    if (this.#closed) return;
    const wanted = sparesWanted(this.#options.spares, tests);
    let have = this.#spares.filter((s) => s.key === plan.key && !s.failed).length;
    for (; have < wanted; have++) this.#spare(plan);
  }

  #spare(plan: ContainerPlan): void {
    const spare: Spare = { ...this.#create(plan, true), key: plan.key, failed: false };
    spare.ready.catch((error: unknown) => {
      spare.failed = true;
      this.#options.log.warn('spare container not made; the next test creates its own', { container: spare.name, error });
    });
    this.#spares.push(spare);
  }

  /** The container has served its test: kill and delete it in the background. */
  release(lease: Lease): void {
    this.#leased.delete(lease);
    this.#delete(lease);
  }

  /** Names of the spares waiting for a test. */
  spareNames(): string[] {
    return this.#spares.map((s) => s.name);
  }

  /** Resolves when no background work (spare creation, deletion) is going on. */
  async settled(): Promise<void> {
    while (this.#work.size > 0) await Promise.allSettled([...this.#work]);
  }

  /**
   * Shutdown: no more spares; waits for creations in flight (a half-made container could
   * escape a delete issued before it exists), deletes the spares and any container still
   * handed out, and waits until every deletion has finished.
   */
  async close(): Promise<void> {
    this.#closed = true;
    for (const spare of this.#spares.splice(0)) this.#delete(spare);
    for (const lease of [...this.#leased]) this.release(lease);
    await this.settled();
  }

  #track<T>(promise: Promise<T>): Promise<T> {
    this.#work.add(promise);
    const done = () => this.#work.delete(promise);
    promise.then(done, done);
    return promise;
  }

  #create(plan: ContainerPlan, warm: boolean): Lease {
    const { client, workdir, runId, log } = this.#options;
    const name = this.#options.nextName();
    mkdirSync(this.#options.stagingParent, { recursive: true });
    const staging = mkdtempSync(join(this.#options.stagingParent, 'byoci-lxd-'));
    const tree = join(staging, 'tree');
    mkdirSync(tree);
    const ready = this.#track(
      (async (): Promise<Container> => {
        const started = performance.now();
        await createInstance(client, {
          name,
          source: plan.source,
          workspace: tree,
          workdir,
          limits: plan.limits,
          network: plan.network,
          inheritedDevices: await this.#options.inheritedDevices(client, plan.source),
          owner: ownerConfig(runId),
        });
        const config = await instanceConfig(client, name);
        await startInstance(client, name);
        if (!(await loopbackUp(client, name))) {
          log.warn('the loopback interface is still down: the image init does not bring lo up', { container: name });
        }
        const pid = await initPid(client, name);
        log.info(warm ? 'spare container ready' : 'container created', { container: name, image: plan.image, source: plan.source.type, ms: Math.round(performance.now() - started) });
        // A spare is made beside the steps (the fetch and merge, or the previous test): a span of its own.
        if (warm) recordSpan('background', 'spare container made (lxd)', started);
        return { name, config, pid, warm };
      })(),
    );
    return { name, tree, staging, ready };
  }

  /** Kills and deletes the container (once its creation has settled), then its staging directory. */
  #delete(lease: Lease): void {
    const { client, log } = this.#options;
    void this.#track(
      (async () => {
        // The kill request goes out at once (writing it costs the caller well under a
        // millisecond): waiting a turn of the event loop here let the caller's journal
        // writes and the push's first process go first, ~20 ms later under load, and the
        // process exit waits for this deletion.
        await lease.ready.catch(() => undefined);
        const started = performance.now();
        try {
          await destroyInstance(client, lease.name);
          log.info('container deleted', { container: lease.name, ms: Math.round(performance.now() - started) });
          recordSpan('background', 'container deleted (lxd)', started);
        } catch (error) {
          log.error('container not deleted', { container: lease.name, error });
        }
        await rm(lease.staging, { recursive: true, force: true });
      })(),
    );
  }
}

/** How many spares to keep for the next tests: `spares`, at most as many as core says follow. */
export function sparesWanted(spares: number, upcoming: number | undefined): number {
  if (upcoming === undefined || !Number.isFinite(upcoming)) return spares;
  return Math.max(0, Math.min(spares, Math.floor(upcoming)));
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
