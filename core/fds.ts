/**
 * File descriptors the bot inherited from its caller (`byoci land 200</secret`) must not
 * reach its children: node passes every fd it did not open itself (those lack FD_CLOEXEC)
 * on to each process it spawns, and bwrap passes them into the sandbox. Everything node
 * and libuv open is close-on-exec, so an fd above 2 without O_CLOEXEC is the caller's: it is
 * closed. Linux: read from /proc/self/fdinfo (elsewhere nothing is done).
 */
import { closeSync, readdirSync, readFileSync } from 'node:fs';

const O_CLOEXEC = 0o2000000;

/** Closes the inherited descriptors above 2; answers the fds closed. */
export function closeInheritedFds(): number[] {
  let entries: string[];
  try {
    entries = readdirSync('/proc/self/fdinfo');
  } catch {
    return [];
  }
  const closed: number[] = [];
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
    if (flags === undefined || (parseInt(flags, 8) & O_CLOEXEC) !== 0) continue;
    try {
      closeSync(fd);
      closed.push(fd);
    } catch {
      // not ours to close after all
    }
  }
  return closed;
}
