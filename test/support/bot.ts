/**
 * The bot (core) as the CLI builds it, for end-to-end tests: a YAML config text, a registry
 * of the plugins the test names, secret stores, and every log line (debug level, redacted)
 * kept for assertions.
 */
import { Bot } from '../../core/bot.js';
import { loadConfig } from '../../core/config.js';
import { createLogger } from '../../core/logger.js';
import type { AnyPlugin } from '../../core/plugin.js';
import type { HookName } from '../../hooks/index.js';
import { Redactor } from '../../secrets/redact.js';
import type { SecretStore } from '../../secrets/types.js';

export interface TestBotOptions {
  /** The configuration file's text (loaded in namespace `selftest`, without environment). */
  yaml: string;
  /** Where the config claims to live (relative paths resolve against its directory). */
  file?: string;
  /** The registry: these plugins, by name. */
  plugins: readonly AnyPlugin[];
  /** Built-ins loaded without being named in the config, in tap order. */
  defaultPlugins: readonly string[];
  stores?: readonly SecretStore[];
  buildUrl?: string;
  dryRun?: boolean;
  /** Tap timeouts and settle grace (ms), e.g. to test a hanging tap quickly. */
  taps?: { timeouts?: Partial<Record<HookName, number>>; settleMs?: number };
}

export interface TestBot {
  bot: Bot;
  /** Every line the bot logged (text format, debug level, through its redactor). */
  lines: string[];
  redactor: Redactor;
}

export async function createTestBot(options: TestBotOptions): Promise<TestBot> {
  const config = loadConfig({ text: options.yaml, ...(options.file ? { file: options.file } : {}), namespace: 'selftest', env: {} });
  const redactor = new Redactor();
  const lines: string[] = [];
  const log = createLogger({ level: 'debug', redactor, write: (l) => lines.push(l) });
  const bot = await Bot.create({
    config,
    registry: new Map(options.plugins.map((p) => [p.name, p])),
    defaultPlugins: options.defaultPlugins,
    stores: options.stores,
    log,
    redactor,
    buildUrl: options.buildUrl,
    dryRun: options.dryRun,
    ...(options.taps ? { taps: options.taps } : {}),
  });
  return { bot, lines, redactor };
}

/** A test bot, verified (throwing on a problem), handed to `use`, then shut down whatever happened. */
export async function withTestBot<T>(options: TestBotOptions, use: (bot: Bot, lines: string[]) => Promise<T>): Promise<T> {
  const { bot, lines } = await createTestBot(options);
  try {
    await bot.verifyOrThrow();
    return await use(bot, lines);
  } finally {
    await bot.shutdown();
  }
}
