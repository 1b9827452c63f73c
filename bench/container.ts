/**
 * `npm run bench:container`: create + start, exec, delete of a throw-away container through
 * the lxd plugin (REST over the unix socket, websocket exec) versus the same through the
 * `lxc` CLI, interleaved in one run, printed as a table with the ratio plugin / CLI
 * (goal: at most 0.8). A third line times a whole plugin run (staging the tree, setup and
 * test phases, artefacts) for reference.
 *
 *   npm run bench:container -- [iterations]      (default 7; needs a daemon and the hostusr image)
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run, silentLogger } from '../core/index.js';
import type { TestSpec } from '../hooks/index.js';
import { LxdClient, defaultSocketPath } from '../plugins/lxd/client.js';
import { createInstance, destroyInstance, inheritedDevices, resolveSource, startInstance } from '../plugins/lxd/container.js';
import { ownerConfig } from '../plugins/lxd/owner.js';
import { runInContainer } from '../plugins/lxd/runner.js';
import { lxdConfigSchema } from '../plugins/lxd/schema.js';

const ITERATIONS = Number(process.argv[2] ?? 7);
const IMAGE = 'hostusr';
const PROFILE = `byoci-bench-${process.pid}`;
const socket = process.env.BYOCI_LXD_SOCKET ?? defaultSocketPath();

type Step = 'create+start' | 'exec' | 'delete';
type Times = Record<Step, number[]>;
const empty = (): Times => ({ 'create+start': [], exec: [], delete: [] });

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

async function main(): Promise<void> {
  const client = new LxdClient(socket);
  const version = (await client.server()).environment.server_version;
  const source = await resolveSource(client, IMAGE);
  if (!source) throw new Error(`no image ${IMAGE}: run scripts/lxd-up.sh (or byoci image build hostusr)`);
  const config = lxdConfigSchema.parse({ socket });
  const devices = await inheritedDevices(client, source);
  const scratch = mkdtempSync(join(tmpdir(), 'byoci-bench-'));
  writeFileSync(join(scratch, 'file'), 'x\n');

  // The CLI gets what the plugin sets per instance (host /usr, init) as a profile, made once.
  await run(['lxc', 'profile', 'create', PROFILE]);
  await run(['lxc', 'profile', 'set', PROFILE, 'raw.lxc', 'lxc.init.cmd = /init-sh']);
  await run(['lxc', 'profile', 'device', 'add', PROFILE, 'usr', 'disk', 'source=/usr', 'path=/usr', 'readonly=true']);

  // The same limits as the plugin sets, so both paths ask the daemon for the same work.
  const limitArgs = [
    `limits.memory=${config.limits.memory}`,
    'limits.memory.enforce=hard',
    'limits.memory.swap=false',
    `limits.processes=${config.limits.processes}`,
    `limits.cpu=${config.limits.cpu}`,
    'security.nesting=false',
  ].flatMap((kv) => ['-c', kv]);
  const plugin = empty();
  const cli = empty();
  const full: number[] = [];
  try {
    for (let i = 0; i <= ITERATIONS; i++) {
      const warm = i === 0;
      const name = `byoci-bench-${process.pid}-${i}`;
      const p = empty();
      p['create+start'].push(
        await timed(async () => {
          await createInstance(client, {
            name,
            source,
            workspace: scratch,
            workdir: '/src',
            limits: config.limits,
            inheritedDevices: devices,
            owner: ownerConfig('bench'),
          });
          await startInstance(client, name);
        }),
      );
      p.exec.push(await timed(() => client.exec(name, { command: ['true'], environment: {} })));
      p.delete.push(await timed(() => destroyInstance(client, name)));

      const c = empty();
      const cname = `${name}-cli`;
      c['create+start'].push(
        await timed(() =>
          // lxc launch reads a config from stdin when it is not a terminal: give it an empty one.
          run(['lxc', 'launch', IMAGE, cname, '--ephemeral', '-p', 'default', '-p', PROFILE, ...limitArgs], { input: '' }),
        ),
      );
      c.exec.push(await timed(() => run(['lxc', 'exec', cname, '--', 'true'], { input: '' })));
      c.delete.push(await timed(() => run(['lxc', 'delete', '--force', cname], { input: '' }).catch(() => undefined)));

      const spec: TestSpec = {
        backend: 'lxd',
        image: IMAGE,
        setup: ['true'],
        command: ['true'],
        env: [],
        setEnv: {},
        timeout: 120,
        noOutputTimeout: 60,
        artefacts: [],
        network: false,
        setupAgent: false,
        quarantine: [],
        limits: {},
      };
      const f = await timed(() =>
        runInContainer(
          {
            project: { name: 'bench', targets: [], test: spec },
            spec,
            dir: scratch,
            runId: `bench-${process.pid}-${i}`,
            artefactsDir: join(scratch, '..', `byoci-bench-artefacts-${process.pid}`),
            onLine: () => {},
            signal: new AbortController().signal,
          },
          { client, config, name: `${name}-full`, log: silentLogger(), redact: (t) => t, stagingParent: tmpdir() },
        ),
      );
      if (warm) continue;
      for (const step of Object.keys(p) as Step[]) {
        plugin[step].push(...p[step]);
        cli[step].push(...c[step]);
      }
      full.push(f);
    }
  } finally {
    await run(['lxc', 'profile', 'delete', PROFILE], { reject: false });
    rmSync(scratch, { recursive: true, force: true });
    rmSync(join(tmpdir(), `byoci-bench-artefacts-${process.pid}`), { recursive: true, force: true });
    client.close();
  }

  const rows: string[][] = [['step', 'plugin (REST) ms', 'lxc CLI ms', 'ratio']];
  let pt = 0;
  let ct = 0;
  for (const step of Object.keys(plugin) as Step[]) {
    const a = median(plugin[step]);
    const b = median(cli[step]);
    pt += a;
    ct += b;
    rows.push([step, a.toFixed(0), b.toFixed(0), (a / b).toFixed(2)]);
  }
  rows.push(['total', pt.toFixed(0), ct.toFixed(0), (pt / ct).toFixed(2)]);
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  console.log(`LXD ${version}, image ${IMAGE}, median of ${ITERATIONS} interleaved iterations (after 1 warm-up)`);
  for (const row of rows) console.log(row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  '));
  console.log(`goal: plugin at most 0.8x the CLI -> ${pt / ct <= 0.8 ? 'met' : 'NOT met'} (${(pt / ct).toFixed(2)}x)`);
  console.log(`for reference, a whole plugin run (stage tree, setup + test, artefacts, delete): ${median(full).toFixed(0)} ms`);
}

await main();
