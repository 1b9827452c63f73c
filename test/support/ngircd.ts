/**
 * A real ngircd on loopback for tests (recipe: ../shared/recipes/COMPONENTS.md), started
 * as a child of the test and killed by its PID in `stop()`; plus a raw-socket IRC client
 * that joins a channel and records every line the server sends it, to assert what other
 * users would see.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { missingCommands } from './components.js';
import { freePort, portAnswers } from './net.js';

export const HOST = '127.0.0.1';

/** Why ngircd cannot run here, or undefined. */
export function ngircdMissing(): string | undefined {
  return missingCommands('ngircd');
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface NgircdChannel {
  name: string;
  /** Default `+nt`: outsiders cannot speak, the usual mode. */
  modes?: string;
  key?: string;
}

export interface NgircdOptions {
  channels?: NgircdChannel[];
  /** Global server password (PASS). */
  password?: string;
  /** Also listen with TLS (a self-signed certificate for CN=localhost made at start). */
  tls?: boolean;
}

export interface Ngircd {
  host: string;
  port: number;
  /** The TLS port, when started with `tls`. */
  tlsPort: number | undefined;
  pid: number;
  dir: string;
  /** Server log (stdout+stderr of `ngircd -n`). */
  output(): string;
  stop(): Promise<void>;
}

function configText(dir: string, port: number, tlsPort: number | undefined, options: NgircdOptions): string {
  const channels = (options.channels ?? [{ name: '#landing' }])
    .map((c) => `[Channel]\n  Name = ${c.name}\n  Modes = ${c.modes ?? '+nt'}\n${c.key ? `  Key = ${c.key}\n` : ''}`)
    .join('\n');
  return `[Global]
  Name = irc.test.local
  Info = byoci test server
  AdminInfo1 = test
  AdminInfo2 = test
  AdminEMail = root@localhost
  Listen = ${HOST}
  Ports = ${port}
  MotdFile = ${join(dir, 'motd')}
  PidFile = ${join(dir, 'ngircd.pid')}
  ServerUID = ${process.getuid?.() ?? 0}
  ServerGID = ${process.getgid?.() ?? 0}
${options.password ? `  Password = ${options.password}\n` : ''}
[Limits]
  MaxConnectionsIP = 0
  MaxNickLength = 30
  MaxPenaltyTime = 0

[Options]
  PAM = no
  Ident = no
  DNS = no

${tlsPort ? `[SSL]\n  KeyFile = ${join(dir, 'key.pem')}\n  CertFile = ${join(dir, 'cert.pem')}\n  Ports = ${tlsPort}\n\n` : ''}${channels}`;
}

/** A throw-away self-signed certificate, made at run time (never committed). */
function makeCertificate(dir: string): void {
  const made = spawnSync(
    'openssl',
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=localhost'],
    { encoding: 'utf8' },
  );
  if (made.status !== 0) throw new Error(`openssl could not make a test certificate:\n${made.stderr}`);
}

/** Starts ngircd on a free loopback port (retrying on a clash) and waits until it answers. */
export async function startNgircd(options: NgircdOptions = {}): Promise<Ngircd> {
  const dir = mkdtempSync(join(tmpdir(), 'byoci-ngircd-'));
  writeFileSync(join(dir, 'motd'), 'byoci test server\n');
  if (options.tls) makeCertificate(dir);
  let lastError = '';
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const tlsPort = options.tls ? await freePort() : undefined;
    const conf = join(dir, 'ngircd.conf');
    writeFileSync(conf, configText(dir, port, tlsPort, options));
    const check = spawnSync('ngircd', ['-t', '-f', conf], { encoding: 'utf8' });
    if (check.status !== 0) throw new Error(`ngircd -t rejected the test config:\n${check.stdout}${check.stderr}`);
    let log = '';
    const child: ChildProcess = spawn('ngircd', ['-n', '-f', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout?.on('data', (d: Buffer) => (log += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (log += d.toString()));
    let exited = false;
    const exit = new Promise<void>((resolve) =>
      child.once('exit', () => {
        exited = true;
        resolve();
      }),
    );
    for (let i = 0; i < 100 && !exited; i++) {
      if ((await portAnswers(port)) && (!tlsPort || (await portAnswers(tlsPort)))) {
        const pid = child.pid ?? 0;
        return {
          host: HOST,
          port,
          tlsPort,
          pid,
          dir,
          output: () => log,
          async stop() {
            if (!exited) {
              child.kill('SIGTERM');
              const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
              await exit;
              clearTimeout(timer);
            }
            rmSync(dir, { recursive: true, force: true });
          },
        };
      }
      await sleep(50);
    }
    if (!exited) {
      child.kill('SIGKILL');
      await exit;
    }
    lastError = log;
  }
  rmSync(dir, { recursive: true, force: true });
  throw new Error(`ngircd did not start on loopback:\n${lastError}`);
}

/** One line as received: `:prefix COMMAND params... :trailing`. */
export interface IrcLine {
  raw: string;
  /** Bytes of the line as it came over the wire, CRLF included. */
  bytes: number;
  /** When the watcher received it (ms since the epoch). */
  at: number;
  prefix: string | undefined;
  nick: string | undefined;
  command: string;
  params: string[];
}

export function parseLine(raw: string, bytes: number, at = Date.now()): IrcLine {
  let rest = raw;
  let prefix: string | undefined;
  if (rest.startsWith(':')) {
    const space = rest.indexOf(' ');
    prefix = rest.slice(1, space);
    rest = rest.slice(space + 1);
  }
  const params: string[] = [];
  while (rest.length) {
    if (rest.startsWith(':')) {
      params.push(rest.slice(1));
      break;
    }
    const space = rest.indexOf(' ');
    if (space < 0) {
      params.push(rest);
      break;
    }
    params.push(rest.slice(0, space));
    rest = rest.slice(space + 1);
  }
  const command = params.shift() ?? '';
  return { raw, bytes, at, prefix, nick: prefix?.split('!')[0], command, params };
}

/** A second user, on a raw socket: every line the server sends is kept in `lines`. */
export interface Watcher {
  nick: string;
  lines: IrcLine[];
  /** PRIVMSGs to `target` (a channel, or this nick). */
  messages(target: string): IrcLine[];
  /** Resolves with the first line (past or future) matching, or rejects after `ms`. */
  waitFor(match: (line: IrcLine) => boolean, ms?: number): Promise<IrcLine>;
  send(line: string): void;
  close(): Promise<void>;
}

export async function startWatcher(
  server: { host: string; port: number },
  options: { nick?: string; channels?: string[]; password?: string } = {},
): Promise<Watcher> {
  const nick = options.nick ?? 'watcher';
  const socket: Socket = connect({ host: server.host, port: server.port });
  const lines: IrcLine[] = [];
  const waiters = new Set<{ match: (l: IrcLine) => boolean; resolve: (l: IrcLine) => void }>();
  let buffer = Buffer.alloc(0);
  socket.on('data', (data: Buffer) => {
    buffer = Buffer.concat([buffer, data]);
    let end: number;
    while ((end = buffer.indexOf(0x0a)) >= 0) {
      const chunk = buffer.subarray(0, end + 1);
      buffer = buffer.subarray(end + 1);
      const line = parseLine(chunk.toString('utf8').replace(/\r?\n$/, ''), chunk.length);
      if (line.command === 'PING') socket.write(`PONG :${line.params[0] ?? ''}\r\n`);
      lines.push(line);
      for (const w of [...waiters]) {
        if (w.match(line)) {
          waiters.delete(w);
          w.resolve(line);
        }
      }
    }
  });
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.on('error', () => {});
  const send = (line: string) => socket.write(`${line}\r\n`);
  function waitFor(match: (line: IrcLine) => boolean, ms = 5000): Promise<IrcLine> {
    const seen = lines.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const waiter = {
        match,
        resolve: (l: IrcLine) => {
          clearTimeout(timer);
          resolve(l);
        },
      };
      const timer = setTimeout(() => {
        waiters.delete(waiter);
        reject(new Error(`watcher ${nick}: no matching line within ${ms} ms; got:\n${lines.map((l) => l.raw).join('\n')}`));
      }, ms);
      waiters.add(waiter);
    });
  }
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('error', reject);
  });
  if (options.password) send(`PASS ${options.password}`);
  send(`NICK ${nick}`);
  send(`USER ${nick} 0 * :byoci test watcher`);
  await waitFor((l) => l.command === '001');
  for (const channel of options.channels ?? []) {
    send(`JOIN ${channel}`);
    await waitFor((l) => l.command === '366' && l.params[1]?.toLowerCase() === channel.toLowerCase());
  }
  return {
    nick,
    lines,
    messages: (target) =>
      lines.filter((l) => l.command === 'PRIVMSG' && l.params[0]?.toLowerCase() === target.toLowerCase()),
    waitFor,
    send,
    async close() {
      if (!socket.destroyed) {
        send('QUIT :bye');
        const timer = setTimeout(() => socket.destroy(), 1000);
        await closed;
        clearTimeout(timer);
      }
    },
  };
}
