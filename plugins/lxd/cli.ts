/**
 * The logic behind `byoci image build <recipe>` and `byoci image list`; the command file
 * (cli/commands/image.ts) only parses arguments and prints.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UsageError, type Logger } from '../../core/index.js';
import { LxdClient, defaultSocketPath } from './client.js';
import { RECIPES, buildImage, isRecipe, listImages, type BuildResult, type ImageRow } from './images.js';

export interface ImageCommandOptions {
  /** The daemon's socket; default `plugins.lxd.socket` or `$LXD_DIR/unix.socket`. */
  socket?: string;
  log: Logger;
}

/** The socket named in a loaded config's `plugins.lxd.socket`, if any. */
export function socketFromSettings(settings: unknown): string | undefined {
  const plugins = (settings as { plugins?: { lxd?: { socket?: unknown } } } | undefined)?.plugins;
  const socket = plugins?.lxd?.socket;
  return typeof socket === 'string' && socket.length > 0 ? socket : undefined;
}

async function connected(socket: string): Promise<LxdClient> {
  const client = new LxdClient(socket);
  try {
    await client.server({ timeoutMs: 5000 });
  } catch (error) {
    client.close();
    throw new Error(`${error instanceof Error ? error.message : String(error)}; start the daemon with scripts/lxd-up.sh`);
  }
  return client;
}

/** Builds an image recipe and imports it under `alias` (default: the recipe name). */
export async function imageBuild(recipe: string, options: ImageCommandOptions & { alias?: string; work?: string }): Promise<BuildResult> {
  if (!isRecipe(recipe)) throw new UsageError(`unknown image recipe ${JSON.stringify(recipe)}: choose one of ${RECIPES.join(', ')}`);
  if (process.getuid?.() !== 0) throw new UsageError('byoci image build must run as root (it writes root-owned image files and talks to the LXD socket)');
  const client = await connected(options.socket ?? defaultSocketPath());
  try {
    const work = options.work ?? (await mkdtemp(join(tmpdir(), `byoci-image-${recipe}-`)));
    await mkdir(work, { recursive: true });
    try {
      const result = await buildImage(client, recipe, { work, log: options.log, ...(options.alias ? { alias: options.alias } : {}) });
      if (options.work) return result;
      const { tarball: _removed, ...rest } = result;
      return rest;
    } finally {
      if (!options.work) await rm(work, { recursive: true, force: true });
    }
  } finally {
    client.close();
  }
}

export async function imageList(options: ImageCommandOptions): Promise<ImageRow[]> {
  const client = await connected(options.socket ?? defaultSocketPath());
  try {
    return await listImages(client);
  } finally {
    client.close();
  }
}

function size(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
  return `${Math.max(1, Math.round(bytes / 1024))} KiB`;
}

/** `byoci image list` as an aligned text table. */
export function formatImageTable(rows: readonly ImageRow[]): string[] {
  const table = [
    ['ALIAS', 'FINGERPRINT', 'RECIPE', 'SIZE', 'UPLOADED', 'DESCRIPTION'],
    ...rows.map((r) => [r.aliases.join(',') || '-', r.fingerprint.slice(0, 12), r.recipe || '-', size(r.bytes), r.uploaded.slice(0, 19).replace('T', ' '), r.description]),
  ];
  const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
  return table.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  '));
}
