/** Copies of the committed job definitions that a test may break. */
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JOBS_DIR } from '../../jobs/render.js';

export interface JobsCopy {
  dir: string;
  read(file: string): string;
  write(file: string, text: string): void;
  /** Replaces `from` (which must occur) by `to` in `file`. */
  edit(file: string, from: string | RegExp, to: string): void;
  remove(): void;
}

export function copyJobs(): JobsCopy {
  const dir = mkdtempSync(join(tmpdir(), 'byoci-jobs-test-'));
  for (const f of readdirSync(JOBS_DIR)) if (/\.ya?ml$/.test(f)) cpSync(join(JOBS_DIR, f), join(dir, f));
  return {
    dir,
    read: (file) => readFileSync(join(dir, file), 'utf8'),
    write: (file, text) => writeFileSync(join(dir, file), text),
    edit(file, from, to) {
      const text = readFileSync(join(dir, file), 'utf8');
      const next = text.replace(from, to);
      if (next === text) throw new Error(`copyJobs.edit: ${String(from)} not found in ${file}`);
      writeFileSync(join(dir, file), next);
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
