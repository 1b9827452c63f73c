/**
 * Container lifecycle through the REST API: what a run's container looks like (isolation
 * by default), creating it from an image or a prepared base container, stopping and
 * deleting it, and removing the leftovers of dead runs.
 */
import type { LxdClient } from './client.js';
import { LxdError } from './client.js';
import { OWNER_KEYS, ownerAlive } from './owner.js';

type Devices = Record<string, Record<string, string>>;

/** Image properties a recipe sets to tell the plugin how to start its containers. */
export const IMAGE_PROPS = Object.freeze({
  /** "true": bind-mount the host's /usr read-only (the `hostusr` recipe). */
  hostUsr: 'byoci.host-usr',
  /** Path of the init the container must run (`lxc.init.cmd`). */
  init: 'byoci.init',
  /** The recipe `byoci image build` made the image with; every byoci image has it. */
  recipe: 'byoci.recipe',
});

/**
 * Why an image alias cannot be run by byoci: undefined for an image `byoci image build`
 * made (it carries `byoci.recipe` and `byoci.init`), else a sentence naming the image.
 * Another image (a distribution's, or one imported by hand) has no init byoci knows to
 * start, and LXD would fail later with an opaque `forkstart` error. Base containers are
 * not judged: the operator prepared them.
 */
export function notByociImage(source: Source): string | undefined {
  if (source.type !== 'image') return undefined;
  const missing = [IMAGE_PROPS.recipe, IMAGE_PROPS.init].filter((k) => !source.properties[k]);
  if (missing.length === 0) return undefined;
  return `LXD image ${JSON.stringify(source.alias)} (${source.fingerprint.slice(0, 12)}) is not a byoci image: it has no ${missing.join(' or ')} property`;
}

/** Where the run's container starts from. */
export type Source =
  | { type: 'image'; alias: string; fingerprint: string; properties: Record<string, string> }
  | { type: 'copy'; container: string; properties: Record<string, string> };

export interface InstancePlan {
  name: string;
  source: Source;
  /** Host directory shared as the workspace. */
  workspace: string;
  /** Path of the workspace inside the container. */
  workdir: string;
  limits: { memory?: string; processes?: number; cpu?: string };
  /** Attach a nic: `undefined` = none; `profile` = keep the profile's nics; else a managed network name. */
  network?: { keepProfile: true } | { network: string };
  /**
   * Devices of the default profile (image) or of the base container (copy): the root disk
   * (and the nics when `network.keepProfile`) are carried over, all others are masked.
   */
  inheritedDevices: Devices;
  owner: Record<string, string>;
}

/** Finds what `image` names: an image alias first, else an existing (base) container. */
export async function resolveSource(client: LxdClient, image: string): Promise<Source | undefined> {
  try {
    const alias = await client.request<{ target: string }>('GET', `/1.0/images/aliases/${encodeURIComponent(image)}`);
    const info = await client.request<{ fingerprint: string; properties: Record<string, string> }>(
      'GET',
      `/1.0/images/${encodeURIComponent(alias.target)}`,
    );
    return { type: 'image', alias: image, fingerprint: info.fingerprint, properties: info.properties ?? {} };
  } catch (error) {
    if (!(error instanceof LxdError) || error.status !== 404) throw error;
  }
  try {
    const inst = await client.request<{ config: Record<string, string> }>('GET', `/1.0/instances/${encodeURIComponent(image)}`);
    const properties: Record<string, string> = {};
    for (const [k, v] of Object.entries(inst.config ?? {})) if (k.startsWith('image.')) properties[k.slice(6)] = v;
    return { type: 'copy', container: image, properties };
  } catch (error) {
    if (error instanceof LxdError && error.status === 404) return undefined;
    throw error;
  }
}

/** Devices the new container would inherit: the default profile's, or the base container's. */
export async function inheritedDevices(client: LxdClient, source: Source): Promise<Devices> {
  if (source.type === 'copy') {
    const inst = await client.request<{ expanded_devices: Devices }>('GET', `/1.0/instances/${encodeURIComponent(source.container)}`);
    return inst.expanded_devices ?? {};
  }
  const profile = await client.request<{ devices: Devices }>('GET', '/1.0/profiles/default');
  return profile.devices ?? {};
}

/**
 * The POST /1.0/instances body. Isolation by default: no profile is applied (so nothing of
 * the default profile leaks in: no nic, no host mount, no `environment.*`, no raw config);
 * the root disk is carried over from it, every other device of a base container is masked
 * (`type: none`). The only host directory is the workspace (and the host's /usr, read-only,
 * for `hostusr` images).
 */
export function instanceRequest(plan: InstancePlan): Record<string, unknown> {
  const keepNics = plan.network !== undefined && 'keepProfile' in plan.network;
  // Object.fromEntries defines each device as an own property: a base container's device named
  // `__proto__` (LXD's answer is JSON) is masked like any other; assigning devices[name] would
  // set the object's prototype instead, the mask would not be sent and the copy would keep it.
  const devices: Devices = Object.fromEntries(
    Object.entries(plan.inheritedDevices).flatMap(([name, device]): [string, Devices[string]][] => {
      const isRoot = device.type === 'disk' && device.path === '/';
      if (isRoot || (keepNics && device.type === 'nic')) return [[name, { ...device }]];
      return plan.source.type === 'copy' ? [[name, { type: 'none' }]] : [];
    }),
  );
  if (!Object.values(devices).some((d) => d.type === 'disk' && d.path === '/')) {
    devices.root = { type: 'disk', path: '/', pool: 'default' };
  }
  if (plan.network && 'network' in plan.network) devices.eth0 = { type: 'nic', network: plan.network.network, name: 'eth0' };
  devices['byoci-workspace'] = { type: 'disk', source: plan.workspace, path: plan.workdir };
  const config: Record<string, string> = { ...plan.owner, 'security.nesting': 'false', 'security.privileged': 'false' };
  if (plan.source.properties[IMAGE_PROPS.hostUsr] === 'true') {
    devices['byoci-usr'] = { type: 'disk', source: '/usr', path: '/usr', readonly: 'true' };
  }
  const init = plan.source.properties[IMAGE_PROPS.init];
  if (init) {
    if (!/^\/[\w./-]+$/.test(init)) throw new Error(`image property ${IMAGE_PROPS.init}=${JSON.stringify(init)} is not a plain absolute path`);
    config['raw.lxc'] = `lxc.init.cmd = ${init}`;
  }
  if (plan.limits.memory) {
    config['limits.memory'] = plan.limits.memory;
    config['limits.memory.enforce'] = 'hard';
    config['limits.memory.swap'] = 'false';
  }
  if (plan.limits.processes) config['limits.processes'] = String(plan.limits.processes);
  if (plan.limits.cpu) config['limits.cpu'] = plan.limits.cpu;
  const source =
    plan.source.type === 'image'
      ? { type: 'image', fingerprint: plan.source.fingerprint }
      : { type: 'copy', source: plan.source.container, 'instance-only': true };
  return { name: plan.name, type: 'container', ephemeral: true, profiles: [], source, config, devices };
}

export async function createInstance(client: LxdClient, plan: InstancePlan, signal?: AbortSignal): Promise<void> {
  await client.request('POST', '/1.0/instances', instanceRequest(plan), { signal, timeoutMs: 0 });
}

export async function startInstance(client: LxdClient, name: string, signal?: AbortSignal): Promise<void> {
  await client.request('PUT', `/1.0/instances/${encodeURIComponent(name)}/state`, { action: 'start', timeout: 30 }, { signal, timeoutMs: 0 });
}

export async function instanceConfig(client: LxdClient, name: string): Promise<Record<string, string>> {
  const inst = await client.request<{ config: Record<string, string> }>('GET', `/1.0/instances/${encodeURIComponent(name)}`);
  return inst.config ?? {};
}

/** Host pid of the container's init, or undefined when it is not running. */
export async function initPid(client: LxdClient, name: string): Promise<number | undefined> {
  const state = await client.request<{ pid: number; status: string }>('GET', `/1.0/instances/${encodeURIComponent(name)}/state`);
  return state.pid > 0 ? state.pid : undefined;
}

/** Kills the container at once (an ephemeral container is deleted by the daemon then). */
export async function killInstance(client: LxdClient, name: string): Promise<void> {
  try {
    await client.request('PUT', `/1.0/instances/${encodeURIComponent(name)}/state`, { action: 'stop', force: true, timeout: -1 }, { timeoutMs: 0 });
  } catch (error) {
    if (error instanceof LxdError && error.status === 404) return;
    // "The instance is already stopped": nothing to kill.
    if (error instanceof LxdError && /already stopped|not running/i.test(error.message)) return;
    throw error;
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Kills and deletes the container; done when it is gone (404). Idempotent. */
export async function destroyInstance(client: LxdClient, name: string): Promise<void> {
  const path = `/1.0/instances/${encodeURIComponent(name)}`;
  let lastError: unknown;
  for (let attempt = 0; attempt < 20; attempt++) {
    try {
      await killInstance(client, name);
      await client.request('DELETE', path, undefined, { timeoutMs: 0 });
      return;
    } catch (error) {
      if (error instanceof LxdError && error.status === 404) return;
      // The daemon may be deleting the ephemeral container itself right now.
      lastError = error;
      await sleep(250);
    }
  }
  throw lastError;
}

/** Names of containers carrying `prefix-`. */
export async function listWithPrefix(client: LxdClient, prefix: string): Promise<Array<{ name: string; config: Record<string, string> }>> {
  const all = await client.request<Array<{ name: string; config: Record<string, string> }>>('GET', '/1.0/instances?recursion=1');
  return all.filter((i) => i.name.startsWith(`${prefix}-`)).map((i) => ({ name: i.name, config: i.config ?? {} }));
}

/**
 * Removes the containers with `prefix-` whose owning bot process is gone (a crash, a
 * SIGKILL, a reboot). Containers of live bots are left alone. Returns the names removed.
 */
export async function removeOrphans(client: LxdClient, prefix: string): Promise<string[]> {
  const removed: string[] = [];
  for (const inst of await listWithPrefix(client, prefix)) {
    if (ownerAlive(inst.config)) continue;
    await destroyInstance(client, inst.name);
    removed.push(inst.name);
  }
  return removed;
}

/** A valid LXD instance name (hostname rules) `<prefix>-<run id>[-n]`. */
export function containerName(prefix: string, runId: string, sequence: number): string {
  const suffix = sequence > 1 ? `-${sequence}` : '';
  const id = runId.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '') || 'run';
  const room = 63 - prefix.length - 1 - suffix.length;
  return `${prefix}-${id.slice(0, room).replace(/-+$/, '')}${suffix}`;
}

export { OWNER_KEYS };
