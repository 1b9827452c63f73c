/**
 * test-in-lxd: every test run in a real, throw-away, unprivileged LXD container, driven
 * through the LXD REST API on the daemon's unix socket. See README.md beside this file.
 *
 * Taps:
 * - verify: for projects with `backend: lxd` (or `auto`), checks the daemon answers and the
 *   image exists; says in a note which backend `auto` picks and why.
 * - testInContainer: handles `backend: lxd`, and `auto` when the daemon answers (else it
 *   passes, so the bwrap backend can take `auto`).
 * - sweep: at the start of every land or test run, deletes the containers of dead runs.
 * - prepare: tests follow once the landing has fetched and merged: the pool creates and
 *   starts their first container(s) now, like warm spares (within `spares`; 0: nothing).
 * - shutdown: deletes the warm spare and any container of this run still there, and waits
 *   for the deletions started in the background after each result.
 */
import { definePlugin } from '../../core/index.js';
import type { Note, Problem, ProjectConfig, TestResult } from '../../hooks/index.js';
import { LxdClient } from './client.js';
import { buildCommand, notByociSource } from './images.js';
import { containerName, inheritedDevices, removeOrphans, resolveSource, type Source } from './container.js';
import { ContainerPool } from './pool.js';
import { BACKEND, containerPlan, runInContainer } from './runner.js';
import { imageCommands } from './cli.js';
import { lxdConfigSchema } from './schema.js';

export const NAME = 'lxd';

/** The container pools of the runs in this process, by run id (for the benchmark and the tests). */
const pools = new Map<string, ContainerPool>();

/**
 * The lxd plugin's container pool of run `runId` in this process (warm spares, background
 * deletions), or undefined before its first test or after shutdown. For observing only:
 * `settled()` waits for the background work, `spareNames()` lists the spares.
 */
export function containerPool(runId: string): Pick<ContainerPool, 'settled' | 'spareNames'> | undefined {
  return pools.get(runId);
}

// The plugin's public face beyond the plugin itself, for scripts/ and bench/ (they import
// nothing else of this folder; test/hooks/dependencies.test.ts checks it).
export { LxdClient, defaultSocketPath } from './client.js';
export { createInstance, destroyInstance, inheritedDevices, resolveSource, startInstance } from './container.js';
export { ownerConfig } from './owner.js';
export { lxdConfigSchema, type LxdConfig } from './schema.js';
export { formatImageTable, imageBuild, imageList } from './cli.js';

function wantsLxd(project: ProjectConfig): boolean {
  return project.test.backend === BACKEND || project.test.backend === 'auto';
}

export default definePlugin({
  name: NAME,
  description: 'Runs the tests in a throw-away unprivileged LXD container (REST API over the unix socket)',
  config: lxdConfigSchema,
  handles: { backends: [BACKEND] },
  commands: imageCommands,
  apply(hooks, api) {
    const config = api.config;
    let client: LxdClient | undefined;
    let orphansChecked = false;
    let sequence = 0;
    let pool: ContainerPool | undefined;
    const getClient = () => (client ??= new LxdClient(config.socket));
    // Checks that would run every landing are asked once per run: does the daemon answer,
    // what does an image name resolve to, which devices does it inherit.
    let answering: Promise<boolean> | undefined;
    const answers = () => (answering ??= getClient().answers());
    const sources = new Map<string, Promise<Source | undefined>>();
    const cachedSource = (c: LxdClient, image: string) => {
      let found = sources.get(image);
      if (!found) {
        found = resolveSource(c, image);
        sources.set(image, found);
        found.catch(() => sources.delete(image)); // a failed lookup is asked again
      }
      return found;
    };
    const devices = new Map<Source, ReturnType<typeof inheritedDevices>>();
    const cachedDevices = (c: LxdClient, source: Source) => {
      let found = devices.get(source);
      if (!found) {
        found = inheritedDevices(c, source);
        devices.set(source, found);
        found.catch(() => devices.delete(source));
      }
      return found;
    };

    /** The last `prepare` call's work until its containers are asked for (never rejects). */
    let preparing: Promise<void> | undefined;
    const runPool = async (lxd: LxdClient): Promise<ContainerPool> => {
      if (!orphansChecked) {
        orphansChecked = true;
        const removed = await removeOrphans(lxd, config.prefix);
        if (removed.length) api.log.warn('removed containers of dead runs', { containers: removed.join(',') });
      }
      if (!pool) {
        pool = new ContainerPool({
          client: lxd,
          log: api.log,
          runId: api.run.id,
          workdir: config.workdir,
          stagingParent: api.run.workdir,
          spares: config.spares,
          nextName: () => containerName(config.prefix, api.run.id, ++sequence),
          inheritedDevices: cachedDevices,
        });
        pools.set(api.run.id, pool);
      }
      return pool;
    };

    hooks.verify.tapPromise(async ({ projects, problems, notes, signal }) => {
      const relevant = projects.filter(wantsLxd);
      if (relevant.length === 0) return;
      const lxd = getClient();
      let version: string | undefined;
      try {
        version = (await lxd.server({ signal, timeoutMs: 5000 })).environment.server_version;
        answering ??= Promise.resolve(true); // the tests of this run need not ask again
      } catch (error) {
        const why = error instanceof Error ? error.message : String(error);
        for (const project of relevant) {
          if (project.test.backend === BACKEND) {
            problems.push({
              source: NAME,
              message: `project ${project.name} has test.backend lxd, but no LXD daemon answers on ${config.socket}: ${why}`,
              hint: 'start it with scripts/lxd-up.sh (or `lxd --group lxd &`), or set plugins.lxd.socket',
            } satisfies Problem);
          } else {
            notes.push({ source: NAME, message: `project ${project.name}: backend auto will not use lxd: no daemon answers on ${config.socket}` } satisfies Note);
          }
        }
        return;
      }
      for (const project of relevant) {
        const image = project.test.image ?? config.image;
        const source = await cachedSource(lxd, image);
        if (!source) {
          problems.push({
            source: NAME,
            message: `project ${project.name}: LXD has no image alias or base container named ${JSON.stringify(image)}`,
            hint: `build it with \`${buildCommand(image)}\`, or set test.image to one of \`byoci image list\``,
          });
          continue;
        }
        const foreign = notByociSource(source);
        if (foreign) {
          problems.push({
            source: NAME,
            message: `project ${project.name}: ${foreign}; byoci cannot start a container from it`,
            hint: `build one with \`${buildCommand(image)}\`, or set test.image to one of \`byoci image list\``,
          });
          continue;
        }
        if (project.test.network && !config.network) {
          const profile = await lxd.request<{ devices: Record<string, Record<string, string>> }>('GET', '/1.0/profiles/default');
          if (!Object.values(profile.devices ?? {}).some((d) => d.type === 'nic')) {
            problems.push({
              source: NAME,
              message: `project ${project.name} asks for test.network, but plugins.lxd.network is not set and the default profile has no nic`,
              hint: 'create a managed network (lxc network create) and name it in plugins.lxd.network',
            });
          }
        }
        if (project.test.setupAgent && !process.env.SSH_AUTH_SOCK) {
          problems.push({
            source: NAME,
            message: `project ${project.name} sets test.setupAgent, but the bot has no ssh agent (SSH_AUTH_SOCK is not set)`,
            hint: 'start the bot under an ssh agent holding the key setup needs (eval $(ssh-agent); ssh-add <key>)',
          });
        }
        const how = project.test.backend === 'auto' ? 'backend auto picks lxd: ' : '';
        notes.push({
          source: NAME,
          message: `project ${project.name}: ${how}LXD ${version} answers on ${config.socket}, ${source.type === 'image' ? 'image' : 'base container'} ${image} is there`,
        });
      }
    });

    hooks.sweep.tapPromise(async ({ removed }) => {
      const lxd = getClient();
      if (!(await answers())) return;
      orphansChecked = true;
      for (const name of await removeOrphans(lxd, config.prefix)) removed.push(`lxd container ${name}`);
    });

    hooks.testInContainer.tapPromise(async (payload): Promise<TestResult | undefined> => {
      const backend = payload.spec.backend;
      if (backend !== BACKEND && backend !== 'auto') return undefined;
      const lxd = getClient();
      if (!(await answers())) {
        if (backend === 'auto') {
          api.log.warn('backend auto falls back from lxd: no LXD daemon answers (start it with scripts/lxd-up.sh)', { socket: config.socket });
          return undefined;
        }
        throw new Error(`test.backend is lxd, but no LXD daemon answers on ${config.socket} (start it with scripts/lxd-up.sh)`);
      }
      // A container the `prepare` hint is still asking for is this test's to take.
      await preparing;
      return runInContainer(payload, {
        client: lxd,
        config,
        log: api.log,
        redact: (text) => api.redact(text),
        pool: await runPool(lxd),
        resolveSource: cachedSource,
      });
    });

    // Tests follow once the landing has fetched and merged: their first container is created
    // and started now, like a warm spare (its workspace stays empty until testInContainer
    // copies the merged tree in). Returns once the creation is under way; the pool tracks it
    // and shutdown deletes it if no test took it (a landing rejected at fetch or merge).
    hooks.prepare.tapPromise(async (payload) => {
      const backend = payload.spec.backend;
      if ((backend !== BACKEND && backend !== 'auto') || config.spares === 0) return;
      const work = (async () => {
        const lxd = getClient();
        if (!(await answers())) return; // testInContainer says why (or auto falls back)
        const plan = await containerPlan(payload, { client: lxd, config, resolveSource: cachedSource });
        (await runPool(lxd)).warm(plan, payload.tests);
      })();
      preparing = work.catch(() => undefined);
      await work;
    });

    hooks.shutdown.tapPromise(async () => {
      if (!client) return;
      await preparing;
      if (pool) {
        await pool.close();
        pools.delete(api.run.id);
        pool = undefined;
      }
      client.close();
      client = undefined;
      answering = undefined;
      sources.clear();
      devices.clear();
    });
  },
});
