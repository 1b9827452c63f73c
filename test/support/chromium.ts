/**
 * Headless Debian `chromium` (apt-get install chromium) for page tests: `--dump-dom` prints
 * the DOM after load, `--screenshot` writes a PNG. Each call gets a fresh profile directory;
 * as root the sandbox is off (--no-sandbox); network features that would reach outside are
 * disabled. The child is killed by its PID when it overruns.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hasCommand } from './components.js';

export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

export function missingChromium(): string | undefined {
  return hasCommand(CHROMIUM) ? undefined : `${CHROMIUM} not installed (apt-get install chromium; bash .ci/run installs it)`;
}

export async function chromium(args: string[], timeoutMs = 60_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const profile = mkdtempSync(join(tmpdir(), 'byoci-chromium-'));
  try {
    return await new Promise((resolve, reject) => {
      const child = spawn(
        CHROMIUM,
        [
          '--headless',
          '--no-sandbox',
          '--disable-gpu',
          '--disable-quic',
          '--no-first-run',
          '--disable-background-networking',
          '--disable-component-update',
          '--disable-sync',
          '--disable-dev-shm-usage',
          `--user-data-dir=${profile}`,
          ...args,
        ],
        { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, HOME: profile } },
      );
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const timer = setTimeout(() => {
        if (child.pid) process.kill(child.pid, 'SIGKILL');
      }, timeoutMs);
      child.on('error', reject);
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      });
    });
  } finally {
    rmSync(profile, { recursive: true, force: true });
  }
}
