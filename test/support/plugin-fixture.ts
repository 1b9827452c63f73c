/**
 * The plugin fixture the CLI and examples tests share: a code block of docs/plugins.md
 * written as a plugin file inside the repository (so that `byoci` resolves, through the
 * tsconfig paths, as the package would), and a loopback HTTP server recording what a
 * plugin sends it.
 */
import { rmSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import { join } from 'node:path';
import { ROOT } from './cli.js';

/** The first ```js block of docs/plugins.md after the heading `section` (e.g. `## Commands`). */
export function docPluginCode(section: string): string {
  const doc = readFileSync(join(ROOT, 'docs/plugins.md'), 'utf8');
  const at = doc.indexOf(section);
  if (at < 0) throw new Error(`docs/plugins.md has no section ${JSON.stringify(section)}`);
  return /```js\n([\s\S]*?)```/.exec(doc.slice(at))?.[1] ?? '';
}

/** The modules a plugin's code imports (`from '…'`), in order. */
export function importsOf(code: string): string[] {
  return [...code.matchAll(/from '([^']+)'/g)].map((m) => m[1]!);
}

/** Writes `code` as a plugin file in examples/plugins/ (a dot file, unique to this process). */
export function writeRepoPlugin(code: string, tag: string): { file: string; remove(): void } {
  const file = join(ROOT, 'examples/plugins', `.${tag}-${process.pid}.mjs`);
  writeFileSync(file, code);
  return { file, remove: () => rmSync(file, { force: true }) };
}

export interface RecordedRequest {
  method: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface Recorder {
  /** `http://127.0.0.1:<port><path>` */
  url: string;
  port: number;
  /** Every request received, in order, once its body was read. */
  requests: RecordedRequest[];
  close(): Promise<void>;
}

/** A loopback HTTP server that records each request and answers `status` with no body. */
export async function recordingServer(options: { status?: number; path?: string } = {}): Promise<Recorder> {
  const requests: RecordedRequest[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c));
    req.on('end', () => {
      requests.push({ method: req.method ?? '', headers: req.headers, body });
      res.writeHead(options.status ?? 200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}${options.path ?? '/'}`,
    port,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
