/**
 * The reporter behind the `report` and `shutdown` taps: one connection per run, opened
 * at the first announcement and closed at shutdown. Never in the way of a landing: each
 * announcement is bounded by `timeout`, failures are logged (warn) and never thrown, and
 * once the server was unreachable the rest of the run does not wait for it again.
 */
import type { Outcome } from '../../hooks/index.js';
import type { Logger } from '../../core/index.js';
import { portOf, type IrcConfig } from './config.js';
import { lineFor, routesFor } from './message.js';
import { IrcError, IrcRefusal, createSession, type IrcSession } from './session.js';

export interface ReporterParts {
  config: IrcConfig;
  password: string | undefined;
  log: Logger;
  buildUrl: string | undefined;
  redact(text: string): string;
}

export interface Reporter {
  report(outcome: Outcome): Promise<void>;
  close(): Promise<void>;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export function sessionFor(parts: Pick<ReporterParts, 'config' | 'password' | 'log'>): IrcSession {
  const { config } = parts;
  return createSession({
    host: config.server,
    port: portOf(config),
    tls: config.tls,
    tlsVerify: config.tlsVerify,
    nick: config.nick,
    username: config.username,
    realname: config.realname,
    auth: config.auth,
    account: config.account ?? config.nick,
    password: parts.password,
    rate: { lines: config.rate.lines, perMs: config.rate.per },
    log: parts.log,
  });
}

/**
 * Says `texts` in the route's channel, joining first (`join: true`) or when the channel
 * refuses outsiders (`join: auto`, +n channels), then saying them again.
 */
export async function sayIn(
  session: IrcSession,
  config: IrcConfig,
  route: { channel: string; key?: string | undefined },
  texts: readonly string[],
  signal: AbortSignal,
): Promise<void> {
  if (config.join === true) await session.join(route.channel, route.key, signal);
  try {
    await session.say(route.channel, texts, signal);
  } catch (error) {
    if (config.join !== 'auto' || !(error instanceof IrcRefusal) || !error.notInChannel) throw error;
    await session.join(route.channel, route.key, signal);
    await session.say(route.channel, texts, signal);
  }
}

/** Runs `work` with a signal aborted after `ms`; clears the timer in every case. */
export async function within<T>(ms: number, what: string, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new IrcError(`${what} did not finish within ${ms} ms`)), ms);
  try {
    return await work(controller.signal);
  } finally {
    clearTimeout(timer);
  }
}

export function createReporter(parts: ReporterParts): Reporter {
  const { config, log } = parts;
  const where = { server: config.server, port: portOf(config) };
  let session: IrcSession | undefined;
  let unavailable: string | undefined;
  let queue: Promise<void> = Promise.resolve();

  async function deliver(outcome: Outcome): Promise<void> {
    const routes = routesFor(config, outcome);
    if (routes.length === 0) return;
    const about = { kind: outcome.kind, proposal: outcome.proposal.id };
    if (unavailable) {
      log.info('not announcing: the IRC server was unavailable earlier in this run', { ...about, ...where });
      return;
    }
    try {
      await within(config.timeout, 'IRC announcement', async (signal) => {
        if (!session?.connected) {
          session?.destroy();
          session = sessionFor(parts);
          await session.open(signal);
        }
        const current = session;
        for (const route of routes) {
          try {
            const line = lineFor(config, outcome, route.channel, current.nick, parts.buildUrl, parts.redact);
            await sayIn(current, config, route, [line], signal);
            log.info('announced', { ...about, channel: route.channel });
          } catch (error) {
            // A refusal in one channel (banned, +m...) does not stop the others.
            if (signal.aborted || !current.connected) throw error;
            log.warn('could not announce in a channel', { ...about, channel: route.channel, error: messageOf(error) });
          }
        }
      });
    } catch (error) {
      unavailable = messageOf(error);
      session?.destroy();
      session = undefined;
      log.warn('could not announce on IRC; the landing is not affected', { ...about, ...where, error: unavailable });
    }
  }

  return {
    report(outcome) {
      // Announcements go out one at a time, in order; none ever rejects.
      queue = queue.then(() => deliver(outcome));
      return queue;
    },
    async close() {
      await queue;
      const current = session;
      session = undefined;
      if (current) await current.quit('byoci: done');
    },
  };
}
