/**
 * `byoci irc say <channel> <text>`: lets a job announce something with the plugin's
 * connection settings. The text is treated as untrusted (jobs echo branch names and test
 * output): sanitised, redacted, split into at most `sayMaxLines` lines of at most 512 bytes.
 * Unlike a report, a failure here is the command's failure (the job decides whether to mind).
 */
import { UsageError, type Logger } from '../../core/index.js';
import { channelName, type IrcConfig } from './config.js';
import { textBudget } from './message.js';
import { sayIn, sessionFor, within } from './reporter.js';
import { sanitize, splitBytes } from './sanitize.js';

export interface SayContext {
  config: IrcConfig;
  password: string | undefined;
  log: Logger;
  redact(text: string): string;
}

export interface SayResult {
  channel: string;
  lines: string[];
  nick: string;
}

export async function ircSay(ctx: SayContext, channel: string, text: string): Promise<SayResult> {
  const checked = channelName.safeParse(channel);
  if (!checked.success) throw new UsageError(`irc say: ${JSON.stringify(channel)} ${checked.error.issues[0]?.message ?? 'is not a channel'}`);
  const clean = sanitize(ctx.redact(text));
  if (!clean) throw new UsageError('irc say: nothing to say (the text is empty once control characters are removed)');
  const { config } = ctx;
  const session = sessionFor(ctx);
  try {
    return await within(config.timeout, 'irc say', async (signal) => {
      await session.open(signal);
      const route = config.channels.find((r) => r.channel.toLowerCase() === channel.toLowerCase());
      const lines = splitBytes(clean, textBudget(channel, session.nick, config.username), config.sayMaxLines);
      await sayIn(session, config, { channel, key: route?.key }, lines, signal);
      ctx.log.info('said', { channel, lines: lines.length });
      return { channel, lines, nick: session.nick };
    });
  } finally {
    await session.quit('byoci: done');
  }
}
