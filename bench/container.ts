/**
 * `npm run bench:container`: the round trip of one test (`true`) in a throw-away container
 * through the lxd plugin versus the `lxc` CLI (launch, exec, delete --force), interleaved in
 * one run, printed as a table with the ratio plugin / CLI (goal: at most 0.8).
 *
 * The plugin's round trip is a whole `testInContainer` through the real hooks (stage the
 * tree, test phase, result), measured two ways, both printed:
 * - until the result: what the landing waits for. The container comes from the warm spare
 *   (made while the previous test ran: the bench waits for the plugin's background work
 *   between iterations, as a test of some seconds would) and is deleted after the result.
 * - including the background cleanup: until the finished container is deleted and the next
 *   spare is started, i.e. all the container work one test costs.
 * The same with `spares: 0` (the container made on the critical path, deleted after the
 * result), a test whose JUnit file is copied back (the container frozen for the copy), and
 * the REST steps one by one (create+start, exec, delete) are printed beside.
 *
 *   npm run bench:container -- [iterations]      (default 7; needs a daemon and the hostusr image)
 */
import { loadavg } from 'node:os';
import { run } from '../core/index.js';
import type { TestSpec } from '../hooks/index.js';
import { LxdClient, createInstance, destroyInstance, inheritedDevices, lxdConfigSchema, ownerConfig, resolveSource, startInstance } from '../plugins/lxd/index.js';
import { lxdBox, makeSpec, type Box } from '../test/plugins/lxd/support.js';
import { LXD_SOCKET, LXD_TEST_IMAGE } from '../test/support/lxd.js';

const ITERATIONS = Number(process.argv[2] ?? 7);
const IMAGE = LXD_TEST_IMAGE;
const PROFILE = `byoci-bench-${process.pid}`;
const socket = LXD_SOCKET;

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

/** The LXD tests' spec: `true` in the test image, nothing else. */
const SPEC = makeSpec();
/** The same test writing a JUnit file the run copies back (the container is frozen for the copy). */
const ARTEFACT_SPEC = makeSpec({ command: ['sh', '-c', 'echo "<testsuite/>" > junit.xml'], artefacts: ['junit.xml'] });

/**
 * One test through the plugin (real hooks, the LXD tests' box): ms until the result, and
 * until the plugin's background work (deleting the finished container, starting the next
 * spare) is done. Starts once the background work of the previous one is done (the warm
 * spare, if any, is ready).
 */
async function pluginRoundTrip(box: Box, spec: TestSpec = SPEC): Promise<{ result: number; total: number }> {
  await box.settled();
  const t = performance.now();
  const { result: outcome } = await box.run(spec);
  const result = performance.now() - t;
  if (outcome?.exitCode !== 0) throw new Error(`the plugin's run failed: ${outcome?.outputTail}`);
  if (outcome.artefacts.length !== spec.artefacts.length) throw new Error(`the plugin's run copied ${outcome.artefacts.length} artefacts, not ${spec.artefacts.length}`);
  await box.settled();
  return { result, total: performance.now() - t };
}

async function main(): Promise<void> {
  const client = new LxdClient(socket);
  const version = (await client.server()).environment.server_version;
  const source = await resolveSource(client, IMAGE);
  if (!source) throw new Error(`no image ${IMAGE}: run scripts/lxd-up.sh (or byoci image build hostusr)`);
  const config = lxdConfigSchema.parse({ socket });
  const devices = await inheritedDevices(client, source);
  // The plugin with a warm spare and with none (spares: 0), each in a box of its own.
  const warm = await lxdBox({ spares: 1 }, 'benchwarm');
  const cold = await lxdBox({ spares: 0 }, 'benchcold');
  const tree = warm.dir;

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
  const cliTrip: number[] = [];
  const warmTrip = { result: [] as number[], total: [] as number[] };
  const coldTrip = { result: [] as number[], total: [] as number[] };
  const artefactTrip: number[] = [];
  try {
    for (let i = 0; i <= ITERATIONS; i++) {
      const warmUp = i === 0;
      const name = `byoci-bench-${process.pid}-${i}`;
      const p = empty();
      p['create+start'].push(
        await timed(async () => {
          await createInstance(client, {
            name,
            source,
            workspace: tree,
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

      const w = await pluginRoundTrip(warm);
      const k = await pluginRoundTrip(cold);
      const a = await pluginRoundTrip(warm, ARTEFACT_SPEC);
      if (warmUp) continue;
      for (const step of Object.keys(p) as Step[]) {
        plugin[step].push(...p[step]);
        cli[step].push(...c[step]);
      }
      cliTrip.push(c['create+start'][0]! + c.exec[0]! + c.delete[0]!);
      warmTrip.result.push(w.result);
      warmTrip.total.push(w.total);
      coldTrip.result.push(k.result);
      coldTrip.total.push(k.total);
      artefactTrip.push(a.result);
    }
  } finally {
    for (const box of [warm, cold]) await box.cleanup();
    await run(['lxc', 'profile', 'delete', PROFILE], { reject: false });
    client.close();
  }

  const rows: string[][] = [['', 'plugin ms', 'lxc CLI ms', 'ratio']];
  const row = (label: string, a: number, b: number) => rows.push([label, a.toFixed(0), b.toFixed(0), (a / b).toFixed(2)]);
  for (const step of Object.keys(plugin) as Step[]) row(`step ${step} (REST)`, median(plugin[step]), median(cli[step]));
  const trip = median(cliTrip);
  row('round trip, until the result', median(warmTrip.result), trip);
  row('round trip, incl. background cleanup', median(warmTrip.total), trip);
  row('no spare (spares: 0), until the result', median(coldTrip.result), trip);
  row('no spare (spares: 0), incl. cleanup', median(coldTrip.total), trip);
  row('with an artefact copied back, until the result', median(artefactTrip), trip);
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const load = loadavg().map((l) => l.toFixed(2)).join(' ');
  console.log(`LXD ${version}, image ${IMAGE}, median of ${ITERATIONS} interleaved iterations (after 1 warm-up); load average ${load}`);
  console.log('round trip: one test (`true`) in a new container; plugin = testInContainer with the warm spare (unless said), CLI = lxc launch + exec + delete --force');
  for (const r of rows) console.log(r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  '));
  const ratio = median(warmTrip.result) / trip;
  const total = median(warmTrip.total) / trip;
  console.log(`goal: plugin round trip at most 0.8x the lxc CLI -> ${ratio <= 0.8 ? 'met' : 'NOT met'} (${ratio.toFixed(2)}x until the result; ${total.toFixed(2)}x including the background cleanup)`);
}

await main();
