/**
 * Image recipes that work offline here (no image server): each builds a unified image
 * tarball (`metadata.yaml` + `rootfs/`) and imports it through `POST /1.0/images`, under
 * an alias named after the recipe.
 *
 * - `hostusr`: a ~16 KB skeleton; the host's /usr (node, git, compilers...) is bind-mounted
 *   read-only by the plugin (image property `byoci.host-usr`). Fast, but the tests see the
 *   host's programs (not its files: /etc, /home, /root... are the skeleton's).
 * - `busybox`: ~1 MB, self-contained (busybox-static from the apt archive).
 * - `debootstrap`: Debian minbase (~31 MB gz, about a minute), fully self-contained.
 *
 * Every image gets a tiny PID 1 that brings `lo` up (LXC leaves it down), reaps children and
 * exits on SIGPWR so `stop` is quick.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { chmod, chown, copyFile, cp, mkdir, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { run, type Logger } from '../../core/index.js';
import { LxdError, type LxdClient } from './client.js';
import { IMAGE_PROPS, notByociImage, type Source } from './container.js';

export const RECIPES = ['hostusr', 'busybox', 'debootstrap'] as const;
export type Recipe = (typeof RECIPES)[number];

export function isRecipe(name: string): name is Recipe {
  return (RECIPES as readonly string[]).includes(name);
}

/** The command that (re)builds image `image`: its own recipe if it is named after one, else hostusr. */
export function buildCommand(image: string): string {
  return `byoci image build ${isRecipe(image) ? image : 'hostusr'}`;
}

/**
 * Why byoci cannot start from `source`: an image alias that is not a byoci image (see
 * notByociImage), or a base container made from one. LXD copies every property of the
 * image a container was made from into its configuration as `image.<property>`, so a base
 * container prepared from a byoci image carries `image.byoci.recipe` and `image.byoci.init`;
 * one made from another image (a distribution's, one imported by hand) does not, and would
 * fail later with LXD's opaque `forkstart` error. Undefined when it can be used.
 */
export function notByociSource(source: Source): string | undefined {
  if (source.type === 'image') return notByociImage(source);
  const missing = [IMAGE_PROPS.recipe, IMAGE_PROPS.init].filter((k) => !source.properties[k]).map((k) => `image.${k}`);
  if (missing.length === 0) return undefined;
  const image = source.properties.description ? ` (its image: ${JSON.stringify(source.properties.description)})` : '';
  return `LXD base container ${JSON.stringify(source.container)} was not made from a byoci image${image}: its configuration has no ${missing.join(' or ')}`;
}

const PERL_LO_UP =
  `perl -e 'socket(my $s,2,2,0) or exit 1; my $r=pack("a16 s x22","lo",0); ioctl($s,0x8913,$r) or exit 1; ` +
  `ioctl($s,0x8914,pack("a16 s x22","lo",unpack("x16 s",$r)|1)) or exit 1' 2>/dev/null || ip link set lo up 2>/dev/null || true`;

function initScript(loUp: string): string {
  return `#!/bin/sh\ntrap 'exit 0' PWR TERM INT HUP\n${loUp}\nwhile :; do sleep 3600 & wait $!; done\n`;
}

function metadataYaml(recipe: Recipe, description: string, os: string, extra: Record<string, string>): string {
  const props: Record<string, string> = { description, os, release: 'bookworm', 'byoci.recipe': recipe, ...extra };
  const lines = Object.entries(props).map(([k, v]) => `  ${k}: ${JSON.stringify(v)}`);
  return `architecture: x86_64\ncreation_date: ${Math.floor(Date.now() / 1000)}\nproperties:\n${lines.join('\n')}\ntemplates: {}\n`;
}

async function writeExecutable(path: string, text: string): Promise<void> {
  await writeFile(path, text);
  await chmod(path, 0o755);
}

async function baseDirs(rootfs: string, dirs: string[]): Promise<void> {
  for (const d of dirs) await mkdir(join(rootfs, d), { recursive: true });
  await chmod(join(rootfs, 'tmp'), 0o1777);
  await chmod(join(rootfs, 'var/tmp'), 0o1777);
}

async function users(rootfs: string, shell: string, home: string): Promise<void> {
  await writeFile(
    join(rootfs, 'etc/passwd'),
    `root:x:0:0:root:/root:${shell}\ntest:x:1000:1000:test:${home}:${shell}\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n`,
  );
  await writeFile(join(rootfs, 'etc/group'), 'root:x:0:\ntest:x:1000:\nnogroup:x:65534:\n');
  await writeFile(join(rootfs, 'etc/hosts'), '127.0.0.1 localhost\n::1 localhost\n');
  await writeFile(join(rootfs, 'etc/hostname'), 'test\n');
  await writeFile(join(rootfs, 'etc/resolv.conf'), '');
}

async function buildHostusr(dir: string): Promise<void> {
  const R = join(dir, 'rootfs');
  await baseDirs(R, ['dev', 'proc', 'sys', 'tmp', 'run', 'root', 'etc', 'usr', 'var/tmp', 'var/lib', 'home/test', 'mnt', 'opt', 'srv', 'src']);
  await chmod(join(R, 'root'), 0o700);
  await chown(join(R, 'home/test'), 1000, 1000);
  for (const l of ['bin', 'sbin', 'lib', 'lib64']) await symlink(`usr/${l}`, join(R, l));
  await users(R, '/bin/bash', '/home/test');
  await copyFile('/etc/nsswitch.conf', join(R, 'etc/nsswitch.conf'));
  await copyFile('/etc/ld.so.cache', join(R, 'etc/ld.so.cache'));
  await cp('/etc/ld.so.conf', join(R, 'etc/ld.so.conf'));
  await cp('/etc/ld.so.conf.d', join(R, 'etc/ld.so.conf.d'), { recursive: true });
  await symlink('../usr/lib/os-release', join(R, 'etc/os-release'));
  // /sbin is the host's /usr/sbin: the init lives outside /usr.
  await writeExecutable(join(R, 'init-sh'), initScript(PERL_LO_UP));
  await writeFile(
    join(dir, 'metadata.yaml'),
    metadataYaml('hostusr', 'skeleton rootfs, host /usr bind-mounted read-only', 'debian-hostusr', {
      [IMAGE_PROPS.hostUsr]: 'true',
      [IMAGE_PROPS.init]: '/init-sh',
    }),
  );
}

async function buildBusybox(dir: string, work: string, log: Logger): Promise<void> {
  const R = join(dir, 'rootfs');
  await baseDirs(R, ['bin', 'sbin', 'usr/bin', 'usr/sbin', 'etc', 'dev', 'proc', 'sys', 'tmp', 'run', 'root', 'var/tmp', 'mnt', 'src', 'home/test']);
  await chown(join(R, 'home/test'), 1000, 1000);
  const cached = (await readdir('/var/cache/apt/archives').catch(() => [] as string[])).find((f) => /^busybox-static_.*\.deb$/.test(f));
  let deb = cached ? join('/var/cache/apt/archives', cached) : undefined;
  if (!deb) {
    log.info('fetching busybox-static with apt-get download');
    await run(['apt-get', 'download', '-qq', '-o', 'APT::Sandbox::User=root', 'busybox-static'], { cwd: work });
    const name = (await readdir(work)).find((f) => /^busybox-static_.*\.deb$/.test(f));
    if (!name) throw new Error('apt-get download busybox-static produced no .deb');
    deb = join(work, name);
  }
  const extract = join(work, 'busybox-deb');
  await run(['dpkg-deb', '-x', deb, extract]);
  await copyFile(join(extract, 'bin/busybox'), join(R, 'bin/busybox'));
  await chmod(join(R, 'bin/busybox'), 0o755);
  const applets = (await run([join(R, 'bin/busybox'), '--list'])).stdout.split('\n').filter((a) => /^[\w.[-]+$/.test(a));
  for (const a of applets) if (a !== 'busybox' && a !== 'init') await symlink('busybox', join(R, 'bin', a)).catch(() => {});
  await users(R, '/bin/sh', '/home/test');
  await writeExecutable(join(R, 'sbin/init'), initScript('ip link set lo up 2>/dev/null || true'));
  await writeFile(join(dir, 'metadata.yaml'), metadataYaml('busybox', 'busybox-static skeleton', 'busybox', {}));
}

/** The Debian mirror this machine's apt already uses. */
async function aptMirror(): Promise<string> {
  const sources = await readFile('/etc/apt/sources.list.d/debian.sources', 'utf8').catch(() => '');
  const uri = sources.match(/^URIs:\s*(\S+)/m)?.[1];
  if (uri) return uri;
  const list = await readFile('/etc/apt/sources.list', 'utf8').catch(() => '');
  const deb = list.match(/^deb\s+(?:\[[^\]]*\]\s+)?(\S+)/m)?.[1];
  if (deb) return deb;
  throw new Error('no Debian mirror found in /etc/apt/sources.list(.d): debootstrap needs one');
}

async function buildDebootstrap(dir: string, log: Logger): Promise<void> {
  const R = join(dir, 'rootfs');
  const mirror = await aptMirror();
  log.info('running debootstrap (about a minute)', { mirror });
  await run(['debootstrap', '--variant=minbase', 'bookworm', R, mirror], { timeoutMs: 20 * 60_000 });
  for (const sub of ['var/cache/apt/archives', 'var/lib/apt/lists', 'usr/share/doc', 'usr/share/man', 'usr/share/locale', 'usr/share/info']) {
    for (const entry of await readdir(join(R, sub)).catch(() => [] as string[])) {
      if (entry !== 'partial' && entry !== 'lock') await rm(join(R, sub, entry), { recursive: true, force: true });
    }
  }
  await writeFile(join(R, 'etc/resolv.conf'), '');
  await writeFile(join(R, 'etc/hostname'), 'test\n');
  await run(['chroot', R, 'useradd', '--uid', '1000', '--user-group', '--create-home', 'test']);
  await mkdir(join(R, 'src'), { recursive: true });
  await writeExecutable(join(R, 'sbin/init'), initScript(PERL_LO_UP));
  await writeFile(join(dir, 'metadata.yaml'), metadataYaml('debootstrap', 'Debian bookworm minbase (debootstrap)', 'debian', {}));
}

async function sha256(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export interface BuildResult {
  alias: string;
  fingerprint: string;
  /** The image tarball (kept only when the caller chose the build directory). */
  tarball?: string;
  bytes: number;
  /** False when an identical image was already there (only the alias was set). */
  imported: boolean;
}

/** Builds `recipe` under `work` and imports it as `alias` (default: the recipe's name). */
export async function buildImage(
  client: LxdClient,
  recipe: Recipe,
  options: { work: string; alias?: string; log: Logger },
): Promise<BuildResult> {
  const alias = options.alias ?? recipe;
  const dir = join(options.work, `img-${recipe}`);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  if (recipe === 'hostusr') await buildHostusr(dir);
  else if (recipe === 'busybox') await buildBusybox(dir, options.work, options.log);
  else await buildDebootstrap(dir, options.log);
  const tarball = join(options.work, `${recipe}.tar.gz`);
  // gzip -1: the debootstrap rootfs compresses 5x slower at the default level for 10% less.
  await run(['tar', '--numeric-owner', '--xattrs', '-I', 'gzip -1', '-C', dir, '-cf', tarball, 'metadata.yaml', 'rootfs'], { timeoutMs: 10 * 60_000 });
  await rm(dir, { recursive: true, force: true });
  const result = await importImage(client, tarball, alias);
  options.log.info('image imported', { alias, fingerprint: result.fingerprint.slice(0, 12), bytes: result.bytes });
  return { ...result, tarball };
}

/** Imports a unified tarball and points `alias` at it, replacing an older image of that alias. */
export async function importImage(client: LxdClient, tarball: string, alias: string): Promise<Omit<BuildResult, 'tarball'>> {
  const fingerprint = await sha256(tarball);
  const bytes = (await stat(tarball)).size;
  let imported = false;
  const exists = await client.request('GET', `/1.0/images/${fingerprint}`).then(
    () => true,
    (e) => {
      if (e instanceof LxdError && e.status === 404) return false;
      throw e;
    },
  );
  if (!exists) {
    await client.request('POST', '/1.0/images', { file: tarball, headers: { 'X-LXD-public': '0', 'X-LXD-filename': `${alias}.tar.gz` } }, { timeoutMs: 0 });
    imported = true;
  }
  const previous = await client.request<{ target: string }>('GET', `/1.0/images/aliases/${encodeURIComponent(alias)}`).then(
    (a) => a.target,
    (e) => {
      if (e instanceof LxdError && e.status === 404) return undefined;
      throw e;
    },
  );
  if (previous === fingerprint) return { alias, fingerprint, bytes, imported };
  if (previous) {
    await client.request('PUT', `/1.0/images/aliases/${encodeURIComponent(alias)}`, { target: fingerprint, description: `byoci image ${alias}` });
    const old = await client.request<{ aliases: unknown[] }>('GET', `/1.0/images/${previous}`);
    if (!old.aliases?.length) await client.request('DELETE', `/1.0/images/${previous}`, undefined, { timeoutMs: 0 });
  } else {
    await client.request('POST', '/1.0/images/aliases', { name: alias, target: fingerprint, description: `byoci image ${alias}` });
  }
  return { alias, fingerprint, bytes, imported };
}

export interface ImageRow {
  aliases: string[];
  fingerprint: string;
  description: string;
  recipe: string;
  bytes: number;
  uploaded: string;
}

export async function listImages(client: LxdClient): Promise<ImageRow[]> {
  const images = await client.request<
    Array<{ aliases: Array<{ name: string }>; fingerprint: string; properties: Record<string, string>; size: number; uploaded_at: string }>
  >('GET', '/1.0/images?recursion=1');
  return images
    .map((i) => ({
      aliases: (i.aliases ?? []).map((a) => a.name).sort(),
      fingerprint: i.fingerprint,
      description: i.properties?.description ?? '',
      recipe: i.properties?.['byoci.recipe'] ?? '',
      bytes: i.size,
      uploaded: i.uploaded_at,
    }))
    .sort((a, b) => (a.aliases[0] ?? '~').localeCompare(b.aliases[0] ?? '~'));
}
