/**
 * Does the forge accept the push key? For `verify`: connect with ssh2, check the host key
 * against known_hosts (never accept an unknown one), authenticate with the key only (no
 * agent, no password, no keyboard-interactive), then close without running anything.
 * Nothing here logs; results carry fingerprints, never key material.
 */
import ssh2 from 'ssh2';
import type { Algorithms, ConnectConfig, ParsedKey } from 'ssh2';
import { blobType, fingerprint, hostName, knownKeys, type KnownHostKey } from './known-hosts.js';
import { remoteLabel, type SshRemote } from './ssh-remote.js';

export { parseSshRemote, remoteLabel, targetRemotes, type SshRemote } from './ssh-remote.js';

const { Client, utils } = ssh2;

/** The private key parsed by ssh2, or the reason it cannot be used (never key material). */
export function parsePrivateKey(text: string): ParsedKey | string {
  const parsed: ParsedKey | ParsedKey[] | Error = utils.parseKey(text);
  if (parsed instanceof Error) return parsed.message;
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (!key || !key.isPrivateKey()) return 'not a private key';
  return key;
}

export interface PushKeyCheck {
  remote: SshRemote;
  /** Private key text (secret git/ssh-key). */
  privateKey: string;
  /** known_hosts files to trust, in order (missing ones are skipped). */
  knownHosts: readonly string[];
  timeoutMs: number;
  signal?: AbortSignal;
}

export type CheckResult = { ok: true; message: string } | { ok: false; message: string; hint: string };

/** Host key algorithms ssh2 can negotiate. */
const SSH2_HOST_KEY_ALGORITHMS = new Set([
  'ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa', 'ssh-dss',
]);

/** ssh2 host key algorithms that can present a key of a known_hosts type (none: no restriction). */
function algorithmsFor(types: readonly string[]): Pick<ConnectConfig, 'algorithms'> {
  const algorithms = types.flatMap((t) => (t === 'ssh-rsa' ? ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'] : [t]));
  const usable = [...new Set(algorithms)].filter((a) => SSH2_HOST_KEY_ALGORITHMS.has(a));
  return usable.length ? { algorithms: { serverHostKey: usable as Algorithms['serverHostKey'] } } : {};
}

function keyLabel(blob: Buffer): string {
  return `${blobType(blob)} ${fingerprint(blob)}`;
}

export async function checkPushKey(check: PushKeyCheck): Promise<CheckResult> {
  const { remote, privateKey, timeoutMs, signal } = check;
  const where = remoteLabel(remote);
  const key = parsePrivateKey(privateKey);
  if (typeof key === 'string') {
    return { ok: false, message: `secret git/ssh-key cannot be used: ${key}`, hint: 'store an unencrypted OpenSSH or PEM private key' };
  }
  const known = await knownKeys(check.knownHosts, remote.host, remote.port);
  const trusted = known.filter((k) => !k.revoked);
  const files = check.knownHosts.join(', ') || '(no known_hosts file)';
  const pushKey = keyLabel(key.getPublicSSH());
  let presented: Buffer | undefined;

  return new Promise<CheckResult>((resolve) => {
    const client = new Client();
    let settled = false;
    const finish = (result: CheckResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      client.end();
      client.destroy();
      resolve(result);
    };
    const onAbort = (): void => finish({ ok: false, message: `ssh check of ${where} interrupted`, hint: 'run byoci doctor again' });
    const timer = setTimeout(() => finish(timeoutResult(where, timeoutMs)), timeoutMs + 1000);
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });

    client.on('ready', () => finish({ ok: true, message: `push key accepted by ${where} (${pushKey})` }));
    client.on('close', () => finish({ ok: false, message: `${where} closed the ssh connection before login`, hint: 'check the port in the target URL and the forge\'s ssh server logs' }));
    client.on('error', (error: Error & { level?: string; code?: string }) => {
      finish(classify(error, { where, remote, presented, known, trusted, files, pushKey, timeoutMs }));
    });
    const config: ConnectConfig = {
      host: remote.host,
      port: remote.port,
      username: remote.user,
      privateKey,
      authHandler: ['publickey'],
      tryKeyboard: false,
      readyTimeout: timeoutMs,
      ...algorithmsFor(trusted.map((k) => k.type)),
      hostVerifier: (blob: Buffer): boolean => {
        presented = blob;
        const b64 = blob.toString('base64');
        return trusted.some((k) => k.key === b64) && !known.some((k) => k.revoked && k.key === b64);
      },
    };
    try {
      client.connect(config);
    } catch (error) {
      finish({ ok: false, message: `ssh to ${where} failed: ${error instanceof Error ? error.message : String(error)}`, hint: 'check the target URL' });
    }
  });
}

interface Context {
  where: string;
  remote: SshRemote;
  presented: Buffer | undefined;
  known: KnownHostKey[];
  trusted: KnownHostKey[];
  files: string;
  pushKey: string;
  timeoutMs: number;
}

function timeoutResult(where: string, timeoutMs: number): CheckResult {
  return {
    ok: false,
    message: `no ssh handshake with ${where} within ${Math.round(timeoutMs / 1000)} s`,
    hint: 'check the host and port in the target URL and that a firewall lets the slave reach it',
  };
}

function classify(error: Error & { level?: string; code?: string }, c: Context): CheckResult {
  const host = `${c.remote.host}:${c.remote.port}`;
  const scan = `ssh-keyscan -p ${c.remote.port} ${c.remote.host}`;
  if (c.presented && /host denied/i.test(error.message)) {
    const b64 = c.presented.toString('base64');
    const label = keyLabel(c.presented);
    if (c.known.some((k) => k.revoked && k.key === b64)) {
      return { ok: false, message: `host key of ${host} is marked @revoked in ${c.files} (${label})`, hint: 'the forge must present another host key; do not remove the @revoked line' };
    }
    if (c.trusted.length === 0) {
      return {
        ok: false,
        message: `host key of ${host} is unknown: ${hostName(c.remote.host, c.remote.port)} is not in ${c.files} (server presented ${label})`,
        hint: `compare ${fingerprint(c.presented)} with the fingerprint the forge publishes, then add it: ${scan} >> <known_hosts>`,
      };
    }
    return {
      ok: false,
      message: `host key of ${host} does not match ${c.files} (server presented ${label}, known: ${c.trusted.map((k) => k.type).join(', ')})`,
      hint: 'if the forge changed its host key, check the new fingerprint with its admins and replace the line; otherwise the connection may be intercepted',
    };
  }
  if (c.trusted.length && /no matching host key/i.test(error.message)) {
    return {
      ok: false,
      message: `host key of ${host} does not match ${c.files}: the server offers none of the known key types (${c.trusted.map((k) => k.type).join(', ')})`,
      hint: `check with the forge's admins which host keys it uses (${scan})`,
    };
  }
  if (error.level === 'client-authentication') {
    return {
      ok: false,
      message: `authentication failed for ${c.where} with the push key (${c.pushKey})`,
      hint: 'add the public key of secret git/ssh-key (ssh-keygen -y -f <key file>) to that account on the forge, or fix the user in the target URL',
    };
  }
  if (error.level === 'client-timeout') return timeoutResult(c.where, c.timeoutMs);
  if (error.code === 'ECONNREFUSED') {
    return { ok: false, message: `cannot connect to ${host}: connection refused`, hint: 'check the port in the target URL and that the forge\'s ssh server runs' };
  }
  if (error.code === 'ENOTFOUND' || error.code === 'EAI_AGAIN') {
    return { ok: false, message: `cannot resolve ssh host ${c.remote.host}`, hint: 'check the host name in the target URL and the slave\'s DNS' };
  }
  return { ok: false, message: `ssh to ${c.where} failed: ${error.message}`, hint: 'check the target URL and that the forge accepts ssh' };
}
