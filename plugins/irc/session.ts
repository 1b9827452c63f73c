/**
 * One IRC connection, built on irc-framework: connect, register (SASL / PASS / NickServ),
 * join channels, send pre-built lines through a rate limiter, quit. Every wait ends on the
 * server's answer, on the connection closing, or when the caller's signal aborts.
 */
import IRC from 'irc-framework';
import type { IrcErrorEvent, JoinEvent } from 'irc-framework';
import PQueue from 'p-queue';
import type { Logger } from '../../core/index.js';
import { LINE_BREAKERS, byteLength } from './sanitize.js';

/** RFC 1459 2.3: a line is at most 512 bytes, CRLF included. */
export const MAX_LINE_BYTES = 512;

export interface SessionOptions {
  host: string;
  port: number;
  tls: boolean;
  tlsVerify: boolean;
  nick: string;
  username: string;
  realname: string;
  auth: 'none' | 'sasl' | 'nickserv' | 'server';
  account: string;
  password: string | undefined;
  rate: { lines: number; perMs: number };
  log: Logger;
}

export class IrcError extends Error {
  override readonly name: string = 'IrcError';
}

/** The server refused a message; `notInChannel` when joining would help (+n channels). */
export class IrcRefusal extends IrcError {
  override readonly name = 'IrcRefusal';
  constructor(
    message: string,
    readonly notInChannel: boolean,
  ) {
    super(message);
  }
}

const JOIN_ERRORS = new Set([
  'channel_is_full',
  'invite_only_channel',
  'banned_from_channel',
  'bad_channel_key',
  'too_many_channels',
]);
/** Numerics irc-framework has no name for but that refuse a JOIN or a message. */
const REFUSALS = new Set(['403', '405', '437', '477', '489']);

function aborted(signal: AbortSignal): IrcError {
  const reason: unknown = signal.reason;
  return new IrcError(reason instanceof Error ? reason.message : 'aborted');
}

/** Resolves/rejects from client events; always unhooks its listeners. */
function waitFor<T>(
  signal: AbortSignal,
  setup: (resolve: (value: T) => void, reject: (error: Error) => void) => () => void,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    if (signal.aborted) return reject(aborted(signal));
    let teardown: () => void = () => {};
    const onAbort = () => finish(() => reject(aborted(signal)));
    function finish(settle: () => void) {
      teardown();
      signal.removeEventListener('abort', onAbort);
      settle();
    }
    teardown = setup(
      (value) => finish(() => resolve(value)),
      (error) => finish(() => reject(error)),
    );
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

export interface IrcSession {
  readonly connected: boolean;
  /** The nick the server accepted (may carry a suffix when the configured one was taken). */
  readonly nick: string;
  /** Connects and registers. */
  open(signal: AbortSignal): Promise<void>;
  /** Joins `channel` unless already in it; rejects with the server's refusal. */
  join(channel: string, key: string | undefined, signal: AbortSignal): Promise<void>;
  /**
   * Sends `PRIVMSG <target> :<text>` for each text, rate limited, then waits until the
   * server has processed them (PING/PONG); rejects when the server refused one.
   */
  say(target: string, texts: readonly string[], signal: AbortSignal): Promise<void>;
  /** Sends QUIT and waits (bounded) for the server to close; then the socket is gone. */
  quit(message: string, waitMs?: number): Promise<void>;
  /** Drops the connection at once. */
  destroy(): void;
}

export function createSession(options: SessionOptions): IrcSession {
  const { log } = options;
  const client = new IRC.Client();
  const queue = new PQueue({ concurrency: 1, intervalCap: options.rate.lines, interval: options.rate.perMs });
  const joined = new Set<string>();
  let registered = false;
  let closed = false;
  let pings = 0;
  const fold = (name: string) => name.toLowerCase();

  client.on('close', () => {
    closed = true;
    registered = false;
    joined.clear();
    queue.clear();
  });
  client.on('join', (event: JoinEvent) => {
    if (client.caseCompare(event.nick, client.user.nick)) joined.add(fold(event.channel));
  });
  client.on('part', (event: JoinEvent) => {
    if (client.caseCompare(event.nick, client.user.nick)) joined.delete(fold(event.channel));
  });
  client.on('kick', (event: { kicked: string; channel: string }) => {
    if (client.caseCompare(event.kicked, client.user.nick)) joined.delete(fold(event.channel));
  });

  function write(line: string): void {
    if (LINE_BREAKERS.test(line)) throw new IrcError('refusing to send a line containing CR, LF or NUL');
    if (byteLength(line) + 2 > MAX_LINE_BYTES) throw new IrcError(`refusing to send a line of ${byteLength(line) + 2} bytes`);
    client.raw(line);
  }

  /** Rejects when the connection closes or the server sends ERROR. */
  function watchClose(reject: (error: Error) => void): () => void {
    const onClose = () => reject(new IrcError('the server closed the connection'));
    const onError = (event: IrcErrorEvent) => {
      if (event.error === 'irc') reject(new IrcError(`the server said: ${event.reason ?? 'ERROR'}`));
    };
    client.on('close', onClose);
    client.on('irc error', onError);
    return () => {
      client.off('close', onClose);
      client.off('irc error', onError);
    };
  }

  async function open(signal: AbortSignal): Promise<void> {
    let attempt = 0;
    await waitFor<void>(signal, (resolve, reject) => {
      const unwatch = watchClose(reject);
      const onSocketClose = (err?: Error) =>
        reject(new IrcError(`cannot connect to ${options.host}:${options.port}: ${err?.message ?? 'connection closed'}`));
      const onRegistered = () => {
        registered = true;
        resolve();
      };
      const onNickInUse = () => {
        if (registered) return;
        attempt += 1;
        if (attempt > 5) return reject(new IrcError(`nick ${options.nick} and its variants are in use`));
        client.changeNick(`${options.nick.slice(0, 27)}_${attempt}`);
      };
      const onErrorEvent = (event: IrcErrorEvent) => {
        if (event.error === 'password_mismatch') reject(new IrcError('the server refused the password (auth: server)'));
      };
      const onSasl = (event: { reason: string; message?: string }) => {
        // irc-framework also tries SASL with a server password; only `auth: sasl` cares.
        if (options.auth !== 'sasl') return;
        log.warn('SASL authentication failed; going on unauthenticated', { reason: event.reason, message: event.message });
      };
      client.on('socket close', onSocketClose);
      client.on('registered', onRegistered);
      client.on('nick in use', onNickInUse);
      client.on('irc error', onErrorEvent);
      client.on('sasl failed', onSasl);
      client.connect({
        host: options.host,
        port: options.port,
        tls: options.tls,
        rejectUnauthorized: options.tlsVerify,
        nick: options.nick,
        username: options.username,
        gecos: options.realname,
        auto_reconnect: false,
        ...(options.auth === 'server' && options.password ? { password: options.password } : {}),
        ...(options.auth === 'sasl' && options.password
          ? { account: { account: options.account, password: options.password } }
          : {}),
      });
      return () => {
        unwatch();
        client.off('socket close', onSocketClose);
        client.off('registered', onRegistered);
        client.off('nick in use', onNickInUse);
        client.off('irc error', onErrorEvent);
        client.off('sasl failed', onSasl);
      };
    });
    log.debug('registered', { server: options.host, port: options.port, nick: client.user.nick });
    if (options.auth === 'nickserv' && options.password) {
      write(`PRIVMSG NickServ :IDENTIFY ${options.account} ${options.password}`);
    }
  }

  function join(channel: string, key: string | undefined, signal: AbortSignal): Promise<void> {
    if (joined.has(fold(channel))) return Promise.resolve();
    return waitFor<void>(signal, (resolve, reject) => {
      const unwatch = watchClose(reject);
      const onJoin = (event: JoinEvent) => {
        if (client.caseCompare(event.nick, client.user.nick) && client.caseCompare(event.channel, channel)) resolve();
      };
      const onError = (event: IrcErrorEvent) => {
        if (JOIN_ERRORS.has(event.error) && event.channel && client.caseCompare(event.channel, channel)) {
          reject(new IrcError(`cannot join ${channel}: ${event.reason ?? event.error}`));
        }
      };
      const onUnknown = (command: { command: string; params: string[] }) => {
        if (REFUSALS.has(command.command) && command.params[1] && client.caseCompare(command.params[1], channel)) {
          reject(new IrcError(`cannot join ${channel}: ${command.params[command.params.length - 1] ?? command.command}`));
        }
      };
      client.on('join', onJoin);
      client.on('irc error', onError);
      client.on('unknown command', onUnknown);
      write(key ? `JOIN ${channel} ${key}` : `JOIN ${channel}`);
      return () => {
        unwatch();
        client.off('join', onJoin);
        client.off('irc error', onError);
        client.off('unknown command', onUnknown);
      };
    });
  }

  async function say(target: string, texts: readonly string[], signal: AbortSignal): Promise<void> {
    const refusals: string[] = [];
    let cannotSend = false;
    const onError = (event: IrcErrorEvent) => {
      if (event.error === 'cannot_send_to_channel' || event.error === 'no_such_nick') {
        cannotSend ||= event.error === 'cannot_send_to_channel';
        refusals.push(`${event.channel ?? event.nick ?? target}: ${event.reason ?? event.error}`);
      }
    };
    client.on('irc error', onError);
    try {
      for (const text of texts) {
        await queue.add(() => write(`PRIVMSG ${target} :${text}`), { signal });
      }
      // The server answers in order: once the PONG is here, any refusal has arrived too.
      pings += 1;
      const token = `byoci-${pings}`;
      await waitFor<void>(signal, (resolve, reject) => {
        const unwatch = watchClose(reject);
        const onPong = (event: { message: string }) => {
          if (event.message === token) resolve();
        };
        client.on('pong', onPong);
        write(`PING :${token}`);
        return () => {
          unwatch();
          client.off('pong', onPong);
        };
      });
    } finally {
      client.off('irc error', onError);
    }
    if (refusals.length) throw new IrcRefusal(`the server refused the message: ${refusals.join('; ')}`, cannotSend && !joined.has(fold(target)));
  }

  async function quit(message: string, waitMs = 2000): Promise<void> {
    if (closed || !client.connected) return destroy();
    const timer = new AbortController();
    const t = setTimeout(() => timer.abort(new IrcError('QUIT not answered')), waitMs);
    try {
      await waitFor<void>(timer.signal, (resolve) => {
        const done = () => resolve();
        client.on('close', done);
        client.quit(message);
        return () => client.off('close', done);
      });
    } catch {
      // The server did not close in time: drop the socket ourselves.
    } finally {
      clearTimeout(t);
      destroy();
    }
  }

  function destroy(): void {
    queue.clear();
    try {
      client.connection.end(undefined, true);
    } catch {
      // Already gone.
    }
    closed = true;
    registered = false;
  }

  return {
    get connected() {
      return registered && !closed && client.connected;
    },
    get nick() {
      return client.user.nick;
    },
    open,
    join,
    say,
    quit,
    destroy,
  };
}
