/**
 * Types for the parts of irc-framework@4 byoci uses (the package ships none).
 * See node_modules/irc-framework/docs/clientapi.md upstream.
 */
declare module 'irc-framework' {
  import { EventEmitter } from 'node:events';

  export interface ClientOptions {
    host: string;
    port?: number;
    nick: string;
    username?: string;
    gecos?: string;
    encoding?: string;
    version?: string;
    /** Server password, sent as PASS. */
    password?: string;
    /** SASL PLAIN credentials. */
    account?: { account: string; password: string };
    sasl_mechanism?: string;
    sasl_disconnect_on_fail?: boolean;
    tls?: boolean;
    rejectUnauthorized?: boolean;
    auto_reconnect?: boolean;
    auto_reconnect_max_retries?: number;
    ping_interval?: number;
    ping_timeout?: number;
    message_max_length?: number;
    enable_chghost?: boolean;
    enable_echomessage?: boolean;
  }

  export interface IrcErrorEvent {
    error: string;
    channel?: string;
    nick?: string;
    reason?: string;
  }

  export interface JoinEvent {
    nick: string;
    ident?: string;
    hostname?: string;
    channel: string;
  }

  export interface MessageEvent {
    type?: string;
    nick: string;
    ident?: string;
    hostname?: string;
    target: string;
    message: string;
    reply(message: string): void;
  }

  export interface RawEvent {
    line: string;
    from_server: boolean;
  }

  export interface PongEvent {
    message: string;
  }

  export interface SaslFailedEvent {
    reason: string;
    message?: string;
  }

  export class Client extends EventEmitter {
    constructor(options?: Partial<ClientOptions>);
    readonly connected: boolean;
    user: { nick: string; username: string };
    connect(options?: ClientOptions): void;
    /** A single string is written verbatim (plus CRLF); several are joined as IRC params. */
    raw(...args: Array<string | number>): void;
    say(target: string, message: string): void;
    notice(target: string, message: string): void;
    join(channel: string, key?: string): void;
    part(channel: string, message?: string): void;
    changeNick(nick: string): void;
    ping(message?: string): void;
    quit(message?: string): void;
    caseCompare(a: string, b: string): boolean;
    connection: {
      connected: boolean;
      end(data?: string, hadError?: boolean): void;
      transport: { socket?: import('node:net').Socket | null; disposeSocket?(): void } | null;
    };
  }

  const IRC: { Client: typeof Client };
  export default IRC;
}
