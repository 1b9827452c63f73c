/**
 * `byoci irc say <channel> <text>`: lets a job announce something with the plugin's
 * connection settings. A command the plugin contributes (definePlugin `commands`), so core
 * validates `plugins.irc` (file and line), looks up irc/password in the slave's stores and
 * redacts it everywhere, and passes `--dry-run` (the lines are printed, nothing connects).
 * The text is treated as untrusted (jobs echo branch names and test output): sanitised,
 * redacted, split into at most `sayMaxLines` lines of at most 512 bytes.
 * Unlike a report, a failure here is the command's failure (the job decides whether to mind).
 */
import { UsageError, type CommandHelpers, type Logger, type PluginCommandGroup } from '../../core/index.js';
import { channelName, portOf, type IrcConfig } from './config.js';
import { textBudget } from './message.js';
import { sayIn, sessionFor, within } from './reporter.js';
import { sanitize, splitBytes } from './sanitize.js';

export interface SayContext {
  config: IrcConfig;
  password: string | undefined;
  log: Logger;
  redact(text: string): string;
  /** Aborts the connection (the command's SIGINT/SIGTERM); the config's timeout applies too. */
  signal?: AbortSignal;
}

export interface SayResult {
  channel: string;
  lines: string[];
  nick: string;
}

/** Checks the channel and cleans the text: what would be said, as whom (no connection). */
export function planSay(config: IrcConfig, redact: (text: string) => string, channel: string, text: string, nick = config.nick): SayResult {
  const checked = channelName.safeParse(channel);
  if (!checked.success) throw new UsageError(`irc say: ${JSON.stringify(channel)} ${checked.error.issues[0]?.message ?? 'is not a channel'}`);
  const clean = sanitize(redact(text));
  if (!clean) throw new UsageError('irc say: nothing to say (the text is empty once control characters are removed)');
  return { channel, lines: splitBytes(clean, textBudget(channel, nick, config.username), config.sayMaxLines), nick };
}

export async function ircSay(ctx: SayContext, channel: string, text: string): Promise<SayResult> {
  planSay(ctx.config, ctx.redact, channel, text); // refuse bad input before connecting
  const { config } = ctx;
  const session = sessionFor(ctx);
  try {
    return await within(config.timeout, 'irc say', async (timeout) => {
      const signal = ctx.signal ? AbortSignal.any([timeout, ctx.signal]) : timeout;
      await session.open(signal);
      const route = config.channels.find((r) => r.channel.toLowerCase() === channel.toLowerCase());
      const { lines } = planSay(config, ctx.redact, channel, text, session.nick);
      await sayIn(session, config, { channel, key: route?.key }, lines, signal);
      ctx.log.info('said', { channel, lines: lines.length });
      return { channel, lines, nick: session.nick };
    });
  } finally {
    await session.quit('byoci: done');
  }
}

/** The commands of the irc plugin: `byoci irc say`. */
export function ircCommands({ command, group }: CommandHelpers<IrcConfig, 'password'>): PluginCommandGroup[] {
  return [
    group('irc', 'IRC reporting (plugins.irc)', [
      command({
        name: 'say',
        description: "say a line in an IRC channel with the irc plugin's settings (long text is split, control characters removed)",
        help: "Example:\n  byoci irc say '#breezy' \"nightly build $BUILD_NUMBER passed: $BUILD_URL\"\nWith --dry-run the lines are printed and nothing connects.",
        arguments: [
          { name: 'channel', description: 'the channel, e.g. "#breezy" (joined first when plugins.irc.join says so)' },
          { name: 'text', description: 'the words to say (untrusted: sanitised, redacted, split)', variadic: true },
        ],
        dryRun: 'supported',
        async run(ctx) {
          const text = ctx.args.text.join(' ');
          if (ctx.dryRun) {
            const plan = planSay(ctx.config, ctx.redact, ctx.args.channel, text);
            if (ctx.json) ctx.printJson({ ...plan, dryRun: true });
            else {
              const where = `${ctx.config.server}:${portOf(ctx.config)}`;
              ctx.print(`would say ${plan.lines.length} line${plan.lines.length === 1 ? '' : 's'} in ${plan.channel} as ${plan.nick} on ${where} (dry run: not connecting):`);
              for (const line of plan.lines) ctx.print(`  ${line}`);
            }
            return 0;
          }
          const result = await ircSay(
            { config: ctx.config, password: ctx.secrets.get('password'), log: ctx.log, redact: ctx.redact, signal: ctx.signal },
            ctx.args.channel,
            text,
          );
          if (ctx.json) ctx.printJson(result);
          else ctx.print(`said ${result.lines.length} line${result.lines.length === 1 ? '' : 's'} in ${result.channel} as ${result.nick}`);
          return 0;
        },
      }),
    ]),
  ];
}
