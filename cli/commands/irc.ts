import type { Command } from 'commander';
import { ConfigError } from '../../core/errors.js';
import { validatePluginConfig } from '../../core/plugin-api.js';
import ircPlugin, { NAME } from '../../plugins/irc/index.js';
import { ircSay } from '../../plugins/irc/cli.js';
import type { IrcConfig } from '../../plugins/irc/config.js';
import { lookupSecret } from '../../secrets/index.js';
import { action } from '../context.js';

export function register(program: Command): void {
  const irc = program.command('irc').description('IRC reporting (plugins.irc)');

  irc
    .command('say <channel> <text...>')
    .description('say a line in an IRC channel with the irc plugin\'s settings (long text is split, control characters removed)')
    .addHelpText('after', "\nExample:\n  byoci irc say '#breezy' \"nightly build $BUILD_NUMBER passed: $BUILD_URL\"")
    .action(
      action(async (rt, channel: string, words: string[]) => {
        const raw = rt.config.settings.plugins[NAME];
        if (raw === undefined) {
          throw new ConfigError([{ path: `plugins.${NAME}`, message: 'not configured: set server and channels to use `byoci irc say`' }]);
        }
        const { config, problems } = validatePluginConfig(ircPlugin, raw);
        if (problems.length) throw new ConfigError(problems.map((p) => ({ ...p, ...rt.config.locate(['plugins', NAME]) })));
        const { value: password } = await lookupSecret(rt.stores, `${NAME}/password`);
        rt.redactor.add(password);
        const result = await ircSay(
          { config: config as IrcConfig, password, log: rt.log.child(NAME), redact: (s) => rt.redactor.redact(s) },
          channel,
          words.join(' '),
        );
        if (rt.globals.json) rt.printJson(result);
        else rt.print(`said ${result.lines.length} line${result.lines.length === 1 ? '' : 's'} in ${result.channel} as ${result.nick}`);
        return 0;
      }),
    );
}
