/**
 * Runs the real `byoci` command (from the sources, through tsx) as a child process.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '..', '..');
const MAIN = join(ROOT, 'cli', 'main.ts');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  cwd?: string;
  env?: Record<string, string | undefined>;
  input?: string;
  /** Called once the child is running (e.g. to signal it); clear your own timers on close. */
  onSpawn?: (pid: number, output: { stderr: () => string }) => void;
  /** Sends `signal` to the child as soon as its stderr matches `when`. */
  signalWhen?: { when: RegExp; signal: NodeJS.Signals };
}

export function byoci(args: readonly string[], options: CliOptions = {}): Promise<CliResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], {
      cwd: options.cwd ?? ROOT,
      env: { ...process.env, BUILD_URL: undefined, ...options.env } as NodeJS.ProcessEnv,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    let signalled = false;
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (options.signalWhen && !signalled && options.signalWhen.when.test(stderr)) {
        signalled = true;
        child.kill(options.signalWhen.signal);
      }
    });
    child.on('error', reject);
    child.on('close', (code, signal) => resolvePromise({ code, signal, stdout, stderr }));
    child.stdin.end(options.input ?? '');
    if (child.pid && options.onSpawn) options.onSpawn(child.pid, { stderr: () => stderr });
  });
}

/** A digest of every file (path, mode, content) under `dir`: equal digests, identical trees. */
export function treeDigest(dir: string): string {
  const hash = createHash('sha256');
  const walk = (d: string) => {
    for (const entry of readdirSync(d).sort()) {
      const path = join(d, entry);
      const st = statSync(path);
      hash.update(`${path.slice(dir.length)}\0${st.mode}\0`);
      if (st.isDirectory()) walk(path);
      else hash.update(readFileSync(path));
    }
  };
  walk(dir);
  return hash.digest('hex');
}
