/**
 * File descriptors the bot inherited from its caller (`byoci land 200</secret`) must not
 * reach its children: node passes every fd it did not open itself (those lack FD_CLOEXEC)
 * on to each process it spawns, and bwrap passes them into the sandbox. Everything node
 * and libuv open is close-on-exec, so an fd above 2 without O_CLOEXEC is the caller's: it is
 * closed. Linux: read from /proc/self/fdinfo (elsewhere nothing is done).
 *
 * Except V8's own log files: node's profiling flags make V8 open them without O_CLOEXEC as
 * well (--perf-basic-prof: /tmp/perf-<pid>.map and isolate-0x<isolate>-<pid>-v8.log in the
 * working directory; --prof: the latter; --perf-prof: jit-<pid>.dump). Closed, their fd
 * numbers went to the next file opened (the store), and V8 went on writing its code map
 * through them into it: `byoci brain` under --perf-basic-prof refused its fresh store with
 * "file is not a database". They are recognised by their names, which carry this process's
 * id (so a caller's file cannot pass for one before the exec); `--logfile=<file>` with
 * `--no-logfile-per-isolate` names its file freely, and is recognised by that path, taken
 * from node's own command line (V8 flags cannot come from NODE_OPTIONS). They stay open,
 * and so reach children, only while node is run with such a flag.
 */
import { closeSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { basename, resolve } from 'node:path';

/**
 * The file V8 logs to when node was started with `--logfile=<file>` (or `--logfile <file>`)
 * and `--no-logfile-per-isolate`: one file named freely, not one per isolate. V8 reads `_`
 * and `-` alike in flag names, and `--nofoo` as `--no-foo`.
 */
export function v8SharedLogfile(execArgv: readonly string[], cwd: string): string | undefined {
  let file: string | undefined;
  let perIsolate = true;
  for (let i = 0; i < execArgv.length; i++) {
    const arg = execArgv[i] as string;
    const eq = arg.indexOf('=');
    const name = (eq < 0 ? arg : arg.slice(0, eq)).replaceAll('_', '-');
    if (name === '--logfile') file = eq < 0 ? execArgv[++i] : arg.slice(eq + 1);
    else if (name === '--no-logfile-per-isolate' || name === '--nologfile-per-isolate') perIsolate = false;
    else if (name === '--logfile-per-isolate') perIsolate = true;
  }
  return file && file !== '-' && !perIsolate ? resolve(cwd, file) : undefined;
}

const O_CLOEXEC = 0o2000000;

/** Whether `fd` is a file V8 opened for a profiling flag of this process (see above). */
function isV8Log(fd: number, sharedLogfile: string | undefined): boolean {
  let target: string;
  try {
    target = readlinkSync(`/proc/self/fd/${fd}`);
  } catch {
    return false;
  }
  if (!target.startsWith('/')) return false; // a pipe, a socket
  if (target === sharedLogfile) return true;
  const name = basename(target);
  const pid = process.pid;
  return name === `perf-${pid}.map` || name === `jit-${pid}.dump` || new RegExp(`^isolate-0x[0-9a-f]+-${pid}-.`).test(name);
}

/** Closes the inherited descriptors above 2; answers the fds closed. */
export function closeInheritedFds(): number[] {
  let entries: string[];
  try {
    entries = readdirSync('/proc/self/fdinfo');
  } catch {
    return [];
  }
  const closed: number[] = [];
  const sharedLogfile = v8SharedLogfile(process.execArgv, process.cwd());
  for (const entry of entries) {
    const fd = Number(entry);
    if (!Number.isInteger(fd) || fd <= 2) continue;
    let info: string;
    try {
      info = readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8');
    } catch {
      continue; // closed meanwhile (or the directory's own fd)
    }
    const flags = /^flags:\s+([0-7]+)$/m.exec(info)?.[1];
    if (flags === undefined || (parseInt(flags, 8) & O_CLOEXEC) !== 0 || isV8Log(fd, sharedLogfile)) continue;
    try {
      closeSync(fd);
      closed.push(fd);
    } catch {
      // not ours to close after all
    }
  }
  return closed;
}
