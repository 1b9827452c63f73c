import type { Command } from 'commander';
import { action, withBot, type Runtime } from '../context.js';

export function register(program: Command): void {
  program
    .command('plugins')
    .description('the plugins this config loads: source (built-in, path, package), API version, hooks tapped, secrets and whether set, commands')
    .addHelpText(
      'after',
      '\nOne block per plugin, in tap order. Secrets are listed by name with "set" or "missing" (never a value);\n' +
        'commands are those the plugin adds to byoci (byoci <command> --help describes each).\n' +
        'Exit codes: 0, 2 usage or configuration error (e.g. a plugin written for another API version).',
    )
    .action(
      action(async (rt: Runtime) =>
        withBot(rt, async (bot) => {
          if (rt.globals.json) {
            rt.printJson(bot.loaded);
            return 0;
          }
          for (const p of bot.loaded) {
            const from = p.source === 'built-in' ? 'built-in' : `${p.source} ${p.configKey}`;
            rt.print(`${p.name}  (${from}, API ${p.apiVersion})  ${p.description}`);
            rt.print(`  hooks:   ${p.hooks.join(', ') || 'none'}`);
            if (p.secrets.length) {
              const secrets = p.secrets.map((s) => `${p.name}/${s.name} ${s.set ? 'set' : s.required ? 'MISSING (required)' : 'not set (optional)'}`);
              rt.print(`  secrets: ${secrets.join(', ')}`);
            }
            if (p.commands.length) rt.print(`  commands: ${p.commands.map((c) => `byoci ${c.name}`).join(', ')}`);
          }
          return 0;
        }),
      ),
    );
}
