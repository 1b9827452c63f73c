/**
 * A real, headless Secret Service for tests: `dbus-run-session` running
 * `gnome-keyring-daemon --unlock --components=secrets` with a temporary HOME, as a child
 * process this test owns. `stop()` kills that child's process group by PID.
 *
 *   const kr = await startSecretService();
 *   process.env.DBUS_SESSION_BUS_ADDRESS = kr.address;   // or pass kr.env to a child
 *   ...
 *   after(() => kr.stop());
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { missingCommands } from './components.js';

export interface SecretService {
  /** DBUS_SESSION_BUS_ADDRESS of the session holding the unlocked keyring. */
  readonly address: string;
  /** The temporary HOME the keyring lives in. */
  readonly home: string;
  /** Environment for a child that should use this keyring. */
  readonly env: { DBUS_SESSION_BUS_ADDRESS: string; HOME: string };
  readonly pid: number;
  stop(): Promise<void>;
}

/** Reason the Secret Service cannot be started here, for `needs()`/`suiteNeeds()`. */
export function missingSecretService(): string | undefined {
  return missingCommands('dbus-run-session', 'dbus-send', 'gnome-keyring-daemon', 'secret-tool');
}

// The script prints the bus address once the keyring answers, then waits to be killed.
// The daemon claims its bus name and creates and unlocks its login collection
// asynchronously. A client that comes before the name is claimed makes D-Bus activate a
// second daemon, which has no password, finds the first one's login.keyring half written
// ("invalid or unrecognized format") and wants a prompt that never comes (seen in CI on a
// loaded machine: not ready after 20 s). So the script first waits until the name
// org.freedesktop.secrets has an owner (dbus-send, no activation), then until an item can
// be stored and cleared (secret-tool): a client that comes too early to the collection gets
// "unlock prompt was dismissed".
const SCRIPT = [
  'echo byoci-test-password | gnome-keyring-daemon --unlock --components=secrets >/dev/null || exit 1',
  'i=0; until dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null | grep -q "boolean true"; do i=$((i+1)); [ $i -ge 200 ] && { echo "org.freedesktop.secrets never got an owner" >&2; exit 1; }; sleep 0.1; done',
  'i=0; until echo probe | secret-tool store --label=byoci-probe byoci-probe ready 2>/dev/null && secret-tool clear byoci-probe ready 2>/dev/null; do i=$((i+1)); [ $i -ge 100 ] && exit 1; sleep 0.2; done',
  'echo "READY $DBUS_SESSION_BUS_ADDRESS"',
  'exec sleep infinity',
].join('; ');

export async function startSecretService(timeoutMs = 20_000): Promise<SecretService> {
  const home = await mkdtemp(join(tmpdir(), 'byoci-keyring-'));
  const child: ChildProcess = spawn('dbus-run-session', ['--', 'sh', '-c', SCRIPT], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, LANG: 'C.UTF-8' },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // its own process group: stop() ends dbus-daemon and the keyring too
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error('dbus-run-session did not start');
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));

  const address = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`Secret Service not ready after ${timeoutMs} ms: ${stderr}`)), timeoutMs);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /READY (\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`dbus-run-session exited with ${code}: ${stderr}`));
    });
  });

  let stopped = false;
  return {
    address,
    home,
    env: { DBUS_SESSION_BUS_ADDRESS: address, HOME: home },
    pid,
    async stop() {
      if (stopped) return;
      stopped = true;
      const exited = new Promise<void>((r) => (child.exitCode !== null ? r() : child.once('exit', () => r())));
      try {
        process.kill(-pid, 'SIGTERM'); // the group we created, by its leader's PID
      } catch {
        /* already gone */
      }
      await exited;
      await rm(home, { recursive: true, force: true });
    },
  };
}
