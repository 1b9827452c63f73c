/**
 * `byoci image build <recipe>` and `byoci image list`: commands the lxd plugin contributes
 * (definePlugin `commands`), so core validates `plugins.lxd` (the socket) with file and
 * line; without a config file the defaults apply. scripts/lxd-image.ts calls the same
 * functions through the plugin's index.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UsageError, type CommandHelpers, type Logger, type PluginCommandGroup } from '../../core/index.js';
import { LxdClient, defaultSocketPath } from './client.js';
import { RECIPES, buildImage, isRecipe, listImages, type BuildResult, type ImageRow } from './images.js';
import type { LxdConfig } from './schema.js';

export interface ImageCommandOptions {
  /** The daemon's socket; default `plugins.lxd.socket` or `$LXD_DIR/unix.socket`. */
  socket?: string;
  log: Logger;
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

/** The commands of the lxd plugin: `byoci image build|list`. */
export function imageCommands({ command, group }: CommandHelpers<LxdConfig, never>): PluginCommandGroup[] {
  return [
    group('image', 'build and list the LXD images the lxd backend starts containers from', [
      command({
        name: 'build',
        description: `build an image offline and import it into LXD under the recipe's name (recipes: ${RECIPES.join(', ')})`,
        arguments: [{ name: 'recipe', description: `what to build: ${RECIPES.join(', ')}` }],
        options: {
          alias: { value: 'name', description: 'import under this alias instead of the recipe name' },
          work: { value: 'dir', description: 'build directory (kept: holds the image tarball); default a temporary one, removed' },
        },
        help: `Recipes:
  hostusr      ~16 KB skeleton; the host's /usr is bind-mounted read-only (node, git, compilers...)
  busybox      ~1 MB, self-contained (busybox-static from the apt archive)
  debootstrap  Debian bookworm minbase, ~31 MB, about a minute (fetches from the apt mirror)
Name the image in a project's test.image (or plugins.lxd.image). The daemon's socket is
plugins.lxd.socket (default $LXD_DIR/unix.socket). --dry-run says what would be built.`,
        dryRun: 'supported',
        async run(ctx) {
          const { recipe } = ctx.args;
          const { alias, work } = ctx.options;
          if (ctx.dryRun) {
            if (!isRecipe(recipe)) throw new UsageError(`unknown image recipe ${JSON.stringify(recipe)}: choose one of ${RECIPES.join(', ')}`);
            const plan = { dryRun: true, recipe, alias: alias ?? recipe, socket: ctx.config.socket, ...(work ? { work } : {}) };
            if (ctx.json) ctx.printJson(plan);
            else ctx.print(`would build ${recipe} and import it as ${plan.alias} into LXD on ${plan.socket} (dry run: nothing built)`);
            return 0;
          }
          const result = await imageBuild(recipe, { log: ctx.log, socket: ctx.config.socket, ...(alias ? { alias } : {}), ...(work ? { work } : {}) });
          if (ctx.json) ctx.printJson(result);
          else ctx.print(`${result.alias} ${result.fingerprint.slice(0, 12)} ${result.bytes} bytes${result.imported ? '' : ' (identical image was already there)'}`);
          return 0;
        },
      }),
      command({
        name: 'list',
        description: 'list the images LXD holds (alias, fingerprint, recipe, size)',
        dryRun: 'read-only',
        async run(ctx) {
          const rows = await imageList({ log: ctx.log, socket: ctx.config.socket });
          if (ctx.json) ctx.printJson(rows);
          else for (const line of formatImageTable(rows)) ctx.print(line);
          return 0;
        },
      }),
    ]),
  ];
}
