/**
 * One IRC connection, built on irc-framework: connect, register (SASL / PASS / NickServ),
 * join channels, send pre-built lines through a rate limiter, quit. Every wait ends on the
 * server's answer, on the connection closing, or when the caller's signal aborts.
 */
import IRC from 'irc-framework';
import type { Client, ClientOptions, IrcErrorEvent, JoinEvent } from 'irc-framework';
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

/** What one session's steps share: the client, its send queue, and what it knows of the connection. */
interface SessionState {
  readonly options: SessionOptions;
  readonly client: Client;
  /** Flood control: at most `rate.lines` lines per `rate.perMs`, one at a time. */
  readonly queue: PQueue;
  /** Channels we are in, case-folded. */
  readonly joined: Set<string>;
  registered: boolean;
  closed: boolean;
  pings: number;
}

const fold = (name: string) => name.toLowerCase();

type Listeners = Record<string, (...args: never[]) => void>;

/** Adds the listeners to the client; the function returned removes them. */
function listen(client: Client, listeners: Listeners): () => void {
  const entries = Object.entries(listeners) as [string, (...args: unknown[]) => void][];
  for (const [event, fn] of entries) client.on(event, fn);
  return () => {
    for (const [event, fn] of entries) client.off(event, fn);
  };
}

/** Keeps `joined`, `registered` and `closed` up to date from the client's events. */
function trackConnection(state: SessionState): void {
  const { client, joined } = state;
  const mine = (nick: string) => client.caseCompare(nick, client.user.nick);
  client.on('close', () => {
    state.closed = true;
    state.registered = false;
    joined.clear();
    state.queue.clear();
  });
  client.on('join', (event: JoinEvent) => {
    if (mine(event.nick)) joined.add(fold(event.channel));
  });
  client.on('part', (event: JoinEvent) => {
    if (mine(event.nick)) joined.delete(fold(event.channel));
  });
  client.on('kick', (event: { kicked: string; channel: string }) => {
    if (mine(event.kicked)) joined.delete(fold(event.channel));
  });
}

/** Sends one raw line, refusing line breaks and lines over RFC 1459's 512 bytes. */
function writeLine(client: Client, line: string): void {
  if (LINE_BREAKERS.test(line)) throw new IrcError('refusing to send a line containing CR, LF or NUL');
  if (byteLength(line) + 2 > MAX_LINE_BYTES) throw new IrcError(`refusing to send a line of ${byteLength(line) + 2} bytes`);
  client.raw(line);
}

/** Rejects when the connection closes or the server sends ERROR. */
function watchClose(client: Client, reject: (error: Error) => void): () => void {
  return listen(client, {
    close: () => reject(new IrcError('the server closed the connection')),
    'irc error': (event: IrcErrorEvent) => {
      if (event.error === 'irc') reject(new IrcError(`the server said: ${event.reason ?? 'ERROR'}`));
    },
  });
}

/**
 * irc-framework's connect options: where (TLS and its verification), who, and the
 * credentials registration sends (PASS for `auth: server`, SASL PLAIN for `auth: sasl`).
 */
function connectOptions(options: SessionOptions): ClientOptions {
  return {
    host: options.host,
    port: options.port,
    tls: options.tls,
    rejectUnauthorized: options.tlsVerify,
    nick: options.nick,
    username: options.username,
    gecos: options.realname,
    auto_reconnect: false,
    ...(options.auth === 'server' && options.password ? { password: options.password } : {}),
    ...(options.auth === 'sasl' && options.password ? { account: { account: options.account, password: options.password } } : {}),
  };
}

/**
 * Listeners of the registration: done on `registered`; a taken nick is retried with a
 * suffix (5 times); a refused server password or a failed connection ends it; a failed
 * SASL is a warning (the session goes on unauthenticated).
 */
function registrationListeners(state: SessionState, resolve: () => void, reject: (error: Error) => void): Listeners {
  const { options, client } = state;
  let attempt = 0;
  return {
    'socket close': (err?: Error) => reject(new IrcError(`cannot connect to ${options.host}:${options.port}: ${err?.message ?? 'connection closed'}`)),
    registered: () => {
      state.registered = true;
      resolve();
    },
    'nick in use': () => {
      if (state.registered) return;
      attempt += 1;
      if (attempt > 5) return reject(new IrcError(`nick ${options.nick} and its variants are in use`));
      client.changeNick(`${options.nick.slice(0, 27)}_${attempt}`);
    },
    'irc error': (event: IrcErrorEvent) => {
      if (event.error === 'password_mismatch') reject(new IrcError('the server refused the password (auth: server)'));
    },
    'sasl failed': (event: { reason: string; message?: string }) => {
      // irc-framework also tries SASL with a server password; only `auth: sasl` cares.
      if (options.auth !== 'sasl') return;
      options.log.warn('SASL authentication failed; going on unauthenticated', { reason: event.reason, message: event.message });
    },
  };
}

/** Connects (TLS when configured) and waits until the server has registered us. */
function connectAndRegister(state: SessionState, signal: AbortSignal): Promise<void> {
  const { client } = state;
  return waitFor<void>(signal, (resolve, reject) => {
    const unwatch = watchClose(client, reject);
    const unlisten = listen(client, registrationListeners(state, resolve, reject));
    client.connect(connectOptions(state.options));
    return () => {
      unwatch();
      unlisten();
    };
  });
}

/** `auth: nickserv`: identifies to NickServ once registered (no answer is awaited). */
function identifyToNickServ(state: SessionState): void {
  const { options } = state;
  if (options.auth === 'nickserv' && options.password) {
    writeLine(state.client, `PRIVMSG NickServ :IDENTIFY ${options.account} ${options.password}`);
  }
}

async function open(state: SessionState, signal: AbortSignal): Promise<void> {
  await connectAndRegister(state, signal);
  const { options, client } = state;
  options.log.debug('registered', { server: options.host, port: options.port, nick: client.user.nick });
  identifyToNickServ(state);
}

/** Joins `channel` unless already in it: done on our JOIN, rejected on the server's refusal. */
function joinChannel(state: SessionState, channel: string, key: string | undefined, signal: AbortSignal): Promise<void> {
  const { client } = state;
  if (state.joined.has(fold(channel))) return Promise.resolve();
  return waitFor<void>(signal, (resolve, reject) => {
    const unwatch = watchClose(client, reject);
    const unlisten = listen(client, {
      join: (event: JoinEvent) => {
        if (client.caseCompare(event.nick, client.user.nick) && client.caseCompare(event.channel, channel)) resolve();
      },
      'irc error': (event: IrcErrorEvent) => {
        if (JOIN_ERRORS.has(event.error) && event.channel && client.caseCompare(event.channel, channel)) {
          reject(new IrcError(`cannot join ${channel}: ${event.reason ?? event.error}`));
        }
      },
      'unknown command': (command: { command: string; params: string[] }) => {
        if (REFUSALS.has(command.command) && command.params[1] && client.caseCompare(command.params[1], channel)) {
          reject(new IrcError(`cannot join ${channel}: ${command.params[command.params.length - 1] ?? command.command}`));
        }
      },
    });
    writeLine(client, key ? `JOIN ${channel} ${key}` : `JOIN ${channel}`);
    return () => {
      unwatch();
      unlisten();
    };
  });
}

/** Sends PING and waits for its PONG: the server has processed every line sent before. */
function pingPong(state: SessionState, signal: AbortSignal): Promise<void> {
  const { client } = state;
  state.pings += 1;
  const token = `byoci-${state.pings}`;
  return waitFor<void>(signal, (resolve, reject) => {
    const unwatch = watchClose(client, reject);
    const unlisten = listen(client, {
      pong: (event: { message: string }) => {
        if (event.message === token) resolve();
      },
    });
    writeLine(client, `PING :${token}`);
    return () => {
      unwatch();
      unlisten();
    };
  });
}

/**
 * Sends `PRIVMSG <target> :<text>` for each text through the flood-control queue, then
 * waits for the server to have processed them; rejects with the refusals it answered.
 */
async function say(state: SessionState, target: string, texts: readonly string[], signal: AbortSignal): Promise<void> {
  const { client } = state;
  const refusals: string[] = [];
  let cannotSend = false;
  const unlisten = listen(client, {
    'irc error': (event: IrcErrorEvent) => {
      if (event.error === 'cannot_send_to_channel' || event.error === 'no_such_nick') {
        cannotSend ||= event.error === 'cannot_send_to_channel';
        refusals.push(`${event.channel ?? event.nick ?? target}: ${event.reason ?? event.error}`);
      }
    },
  });
  try {
    for (const text of texts) {
      await state.queue.add(() => writeLine(client, `PRIVMSG ${target} :${text}`), { signal });
    }
    // The server answers in order: once the PONG is here, any refusal has arrived too.
    await pingPong(state, signal);
  } finally {
    unlisten();
  }
  if (refusals.length) throw new IrcRefusal(`the server refused the message: ${refusals.join('; ')}`, cannotSend && !state.joined.has(fold(target)));
}

/** Sends QUIT and waits (at most `waitMs`) for the server to close; then drops the socket. */
async function quit(state: SessionState, message: string, waitMs: number): Promise<void> {
  const { client } = state;
  if (state.closed || !client.connected) return destroy(state);
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
    destroy(state);
  }
}

function destroy(state: SessionState): void {
  state.queue.clear();
  try {
    state.client.connection.end(undefined, true);
  } catch {
    // Already gone.
  }
  state.closed = true;
  state.registered = false;
}

export function createSession(options: SessionOptions): IrcSession {
  const state: SessionState = {
    options,
    client: new IRC.Client(),
    queue: new PQueue({ concurrency: 1, intervalCap: options.rate.lines, interval: options.rate.perMs }),
    joined: new Set<string>(),
    registered: false,
    closed: false,
    pings: 0,
  };
  trackConnection(state);
  return {
    get connected() {
      return state.registered && !state.closed && state.client.connected;
    },
    get nick() {
      return state.client.user.nick;
    },
    open: (signal) => open(state, signal),
    join: (channel, key, signal) => joinChannel(state, channel, key, signal),
    say: (target, texts, signal) => say(state, target, texts, signal),
    quit: (message, waitMs = 2000) => quit(state, message, waitMs),
    destroy: () => destroy(state),
  };
}
