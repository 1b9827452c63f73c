/**
 * The LXD daemon for tests: whether it answers (for needs()/suiteNeeds()) and whether the
 * image the tests use is there. `.ci/setup.d/20-lxd.sh` (or `scripts/lxd-up.sh` by hand)
 * starts the daemon and builds the `hostusr` image.
 */
import { LxdClient, defaultSocketPath } from '../../plugins/lxd/client.js';
import { initPid } from '../../plugins/lxd/container.js';
import { run } from '../../core/process.js';

export const LXD_SOCKET = process.env.BYOCI_LXD_SOCKET ?? defaultSocketPath();
/** The image the LXD tests start from (host /usr, so sh, perl, ssh-add... are there). */
export const LXD_TEST_IMAGE = 'hostusr';

/**
 * Why LXD cannot be used by the tests, or undefined when the daemon answers on
 * LXD_SOCKET and has the test image.
 */
export async function lxdMissing(image = LXD_TEST_IMAGE): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return 'the LXD tests run as root (the workspace copy is chowned to the container idmap)';
  const client = new LxdClient(LXD_SOCKET);
  try {
    try {
      await client.server({ timeoutMs: 3000 });
    } catch (error) {
      return `no LXD daemon answers on ${LXD_SOCKET} (${error instanceof Error ? error.message : String(error)}); start it with scripts/lxd-up.sh`;
    }
    try {
      await client.request('GET', `/1.0/images/aliases/${encodeURIComponent(image)}`);
    } catch {
      return `LXD has no image ${image}; build it with scripts/lxd-up.sh (or byoci image build ${image})`;
    }
    return undefined;
  } finally {
    client.close();
  }
}

/** Names of the instances whose name starts with `prefix` (to check nothing is left). */
export async function instancesWithPrefix(prefix: string): Promise<string[]> {
  const client = new LxdClient(LXD_SOCKET);
  try {
    const names = await client.request<string[]>('GET', '/1.0/instances');
    return names.map((url) => url.slice(url.lastIndexOf('/') + 1)).filter((n) => n.startsWith(prefix));
  } finally {
    client.close();
  }
}

/** A prefix unique to one test, so parallel test files never see each other's containers. */
export function testPrefix(tag: string): string {
  return `bt${tag}${Math.random().toString(36).slice(2, 7)}`.toLowerCase().replace(/[^a-z0-9]/g, '').slice(0, 20);
}

/**
 * Starts an ephemeral container `name` by the lxc CLI as the plugin's image gives one (the
 * host's /usr read-only, the image's /init-sh as init); resolves with its init's host pid.
 */
export async function startTestContainer(client: LxdClient, name: string): Promise<number> {
  await run(['lxc', 'init', LXD_TEST_IMAGE, name, '--ephemeral', '-q', '-c', 'raw.lxc=lxc.init.cmd = /init-sh'], { input: '' });
  await run(['lxc', 'config', 'device', 'add', name, 'usr', 'disk', 'source=/usr', 'path=/usr', 'readonly=true', '-q'], { input: '' });
  await run(['lxc', 'start', name, '-q'], { input: '' });
  const pid = await initPid(client, name);
  if (!pid) throw new Error(`container ${name} was started but LXD names no init pid for it`);
  return pid;
}
