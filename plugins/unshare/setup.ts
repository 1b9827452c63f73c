/**
 * The sandbox of one phase, built by util-linux `unshare` and a fixed sh script (no
 * untrusted string is ever part of the script: paths, environment and command are its
 * positional arguments). The sandbox sees a read-only tmpfs root holding the host's /usr
 * (and its /bin, /lib... links) read-only, an allow-list of /etc, a fresh /proc, a minimal
 * /dev, a private /tmp, HOME as a tmpfs of the phase (as under bwrap), the tree read-write
 * (its VCS metadata read-only), and in the setup phase with `setupAgent` the ssh agent socket. Its own network (only `lo`, up, unless `network: true`), pid, mount, ipc and
 * uts namespaces; a user namespace (`--map-root-user`) when the bot is not root.
 */
import { ETC_ALLOW, SANDBOX_INSIDE } from '../../core/index.js';

/**
 * $1 root (an empty directory), $2 tree, $3 tree path inside, $4 HOME inside, $5 1 when the
 * network namespace is private, $6 the host ssh agent socket to expose at $7 (empty: none);
 * then the /etc entries up to a `--`; then the tree's VCS metadata entries (kept read-only)
 * up to a `--`; then `env` assignments and the command. Prints `ready` on fd 3 just before
 * the command runs.
 */
export const SETUP_SCRIPT = String.raw`set -eu
R=$1 TREE=$2 TP=$3 H=$4 NET=$5 AGENT=$6 AT=$7
shift 7
ro() { mount --bind "$1" "$2"; mount -o remount,bind,ro "$2"; }
if [ "$NET" = 1 ]; then ip link set lo up; fi
mount --make-rprivate /
mount -t tmpfs -o mode=0755 byoci-root "$R"
mkdir -p "$R/usr" "$R/etc" "$R/tmp" "$R/proc" "$R/dev" "$R$H" "$R$TP"
ro /usr "$R/usr"
for l in bin sbin lib lib32 lib64 libx32; do
  if [ -L "/$l" ]; then ln -s "$(readlink "/$l")" "$R/$l"
  elif [ -d "/$l" ]; then mkdir "$R/$l"; ro "/$l" "$R/$l"; fi
done
while [ "$1" != -- ]; do
  e=$1; shift
  if [ -d "/etc/$e" ]; then mkdir -p "$R/etc/$e"; ro "/etc/$e" "$R/etc/$e"
  elif [ -f "/etc/$e" ]; then mkdir -p "$(dirname "$R/etc/$e")"; : > "$R/etc/$e"; ro "/etc/$e" "$R/etc/$e"; fi
done
shift
mount -t tmpfs -o mode=0755 byoci-dev "$R/dev"
for d in null zero full random urandom tty; do : > "$R/dev/$d"; mount --bind "/dev/$d" "$R/dev/$d"; done
ln -s /proc/self/fd "$R/dev/fd"
mount -t proc proc "$R/proc"
mount -t tmpfs -o mode=1777 byoci-tmp "$R/tmp"
mount -t tmpfs -o mode=0700 byoci-home "$R$H"
if [ -n "$AGENT" ]; then mkdir -p "$(dirname "$R$AT")"; : > "$R$AT"; ro "$AGENT" "$R$AT"; fi
mount --bind "$TREE" "$R$TP"
while [ "$1" != -- ]; do ro "$R$TP/$1" "$R$TP/$1"; shift; done
shift
mount -o remount,ro byoci-root "$R"
echo ready >&3
exec 3>&-
exec chroot "$R" /usr/bin/setpriv --no-new-privs --bounding-set=-all --inh-caps=-all -- /usr/bin/env -i -C "$TP" "$@"
`;

export interface Layout {
  unshare: string;
  /** An empty directory on the host: the sandbox's root is a tmpfs mounted on it. */
  root: string;
  tree: string;
  treePath: string;
  /** VCS metadata entries of the tree (relative names), bound read-only (see core's VCS_METADATA). */
  protect: readonly string[];
  network: boolean;
  /** Host ssh agent socket exposed at SANDBOX_INSIDE.agent (setup phase with setupAgent only). */
  agentSocket?: string;
  etc: readonly string[];
  env: Readonly<Record<string, string>>;
  /** A user namespace (`--map-root-user`): when the bot is not root. */
  userns: boolean;
}

/** The unshare command line of one phase. Pure. */
export function unshareArgv(layout: Layout, command: readonly string[]): string[] {
  if (!command.length) throw new Error('the command is empty');
  if (command[0]!.includes('=')) throw new Error(`the command ${JSON.stringify(command[0])} contains "=": name the program first`);
  const assignments = Object.entries(layout.env).map(([k, v]) => {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw new Error(`environment name ${JSON.stringify(k)} is not a valid name`);
    return `${k}=${v}`;
  });
  return [
    layout.unshare,
    ...(layout.userns ? ['--user', '--map-root-user'] : []),
    ...(layout.network ? [] : ['--net']),
    '--pid', '--fork', '--kill-child', '--mount', '--ipc', '--uts',
    '--', '/bin/sh', '-c', SETUP_SCRIPT, 'byoci-unshare',
    layout.root, layout.tree, layout.treePath, SANDBOX_INSIDE.home, layout.network ? '0' : '1',
    layout.agentSocket ?? '', SANDBOX_INSIDE.agent,
    ...new Set([...ETC_ALLOW, ...layout.etc]), '--',
    ...layout.protect.map((name) => {
      if (name.startsWith('-') || name.includes('/')) throw new Error(`VCS metadata entry ${JSON.stringify(name)} is not a plain name`);
      return name;
    }), '--',
    ...assignments, ...command,
  ];
}
