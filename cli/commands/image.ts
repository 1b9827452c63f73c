import type { Command } from 'commander';
import { loadConfig } from '../../core/config.js';
import { ConfigError } from '../../core/errors.js';
import { formatImageTable, imageBuild, imageList, socketFromSettings } from '../../plugins/lxd/cli.js';
import { RECIPES } from '../../plugins/lxd/images.js';
import { createOutput, globalOptions, reportError } from '../context.js';

/**
 * The LXD socket: `plugins.lxd.socket` of the config when there is one; without a config
 * file (none given and no ./byoci.yaml) the default `$LXD_DIR/unix.socket`.
 */
function socketOf(command: Command): string | undefined {
  const globals = globalOptions(command);
  const explicit = Boolean((command.optsWithGlobals() as { config?: string }).config || process.env.BYOCI_CONFIG);
  try {
    const config = loadConfig({ file: globals.config, overrides: globals.option, ...(globals.namespace ? { namespace: globals.namespace } : {}) });
    return socketFromSettings(config.settings);
  } catch (error) {
    const missingFile = error instanceof ConfigError && error.problems.length === 1 && error.problems[0]!.message === 'configuration file not found';
    if (explicit || !missingFile) throw error;
    return undefined;
  }
}

function act(fn: (command: Command, output: ReturnType<typeof createOutput>) => Promise<number>) {
  return async (...args: unknown[]): Promise<void> => {
    const command = args[args.length - 1] as Command;
    const output = createOutput(globalOptions(command));
    try {
      process.exitCode = await fn(command, output);
    } catch (error) {
      process.exitCode = reportError(error, output.log, output.redactor);
    }
  };
}

export function register(program: Command): void {
  const image = program
    .command('image')
    .description('build and list the LXD images the lxd backend starts containers from');

  image
    .command('build <recipe>')
    .description(`build an image offline and import it into LXD under the recipe's name (recipes: ${RECIPES.join(', ')})`)
    .option('--alias <name>', 'import under this alias instead of the recipe name')
    .option('--work <dir>', 'build directory (kept: holds the image tarball); default a temporary one, removed')
    .addHelpText(
      'after',
      `
Recipes:
  hostusr      ~16 KB skeleton; the host's /usr is bind-mounted read-only (node, git, compilers...)
  busybox      ~1 MB, self-contained (busybox-static from the apt archive)
  debootstrap  Debian bookworm minbase, ~31 MB, about a minute (fetches from the apt mirror)
Name the image in a project's test.image (or plugins.lxd.image).`,
    )
    .action(
      act(async (command, output) => {
        const [recipe] = command.args as [string];
        const opts = command.opts<{ alias?: string; work?: string }>();
        const socket = socketOf(command);
        const result = await imageBuild(recipe, { log: output.log, ...(socket ? { socket } : {}), ...opts });
        if (globalOptions(command).json) output.printJson(result);
        else output.print(`${result.alias} ${result.fingerprint.slice(0, 12)} ${result.bytes} bytes${result.imported ? '' : ' (identical image was already there)'}`);
        return 0;
      }),
    );

  image
    .command('list')
    .description('list the images LXD holds (alias, fingerprint, recipe, size)')
    .action(
      act(async (command, output) => {
        const socket = socketOf(command);
        const rows = await imageList({ log: output.log, ...(socket ? { socket } : {}) });
        if (globalOptions(command).json) output.printJson(rows);
        else for (const line of formatImageTable(rows)) output.print(line);
        return 0;
      }),
    );
}
