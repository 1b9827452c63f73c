/**
 * Where a private key ended up on disk: every regular file under a directory whose bytes
 * hold the key's body (its base64 lines, joined or not), for "no key file outlives its run".
 */
import { lstatSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The base64 body lines of an OpenSSH/PEM private key (what a copy of it must contain). */
export function keyBody(key: string): string[] {
  return key.split('\n').map((l) => l.trim()).filter((l) => l.length > 0 && !l.startsWith('-----'));
}

/** Files under `root` (not following symlinks) that contain any body line of `key`. */
export function filesHoldingKey(root: string, key: string): string[] {
  const lines = keyBody(key).filter((l) => l.length >= 20);
  const found: string[] = [];
  const walk = (dir: string) => {
    let entries: string[];
    try {
      entries = readdirSync(dir);
    } catch {
      return;
    }
    for (const entry of entries) {
      const path = join(dir, entry);
      let st;
      try {
        st = lstatSync(path);
      } catch {
        continue;
      }
      if (st.isDirectory()) walk(path);
      else if (st.isFile()) {
        let text: string;
        try {
          text = readFileSync(path, 'latin1');
        } catch {
          continue;
        }
        if (lines.some((l) => text.includes(l))) found.push(path);
      }
    }
  };
  walk(root);
  return found;
}
