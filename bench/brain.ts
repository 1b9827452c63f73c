/**
 * npm run bench:brain — the brain's intake, measured side by side with a node:http + HMAC
 * floor in one run, then the acceptance scenario:
 *
 * 1. floor: a bare node:http server checking X-Hub-Signature-256 and parsing the JSON
 *    (bench/brain-floor.ts), FLOOR_N signed ~8 KB deliveries;
 * 2. brain: the real `byoci brain` (child process, its store on disk), BRAIN_N signed ~8 KB
 *    push deliveries (each a trigger decision), Jenkins (a local server speaking its REST
 *    API) failing 30% of buildWithParameters, half of those after queueing the build with
 *    the answer lost; the brain is killed with SIGKILL after half the deliveries were
 *    answered, started again, the unanswered ones delivered again (as a forge does), and
 *    the backlog drained. `lost` counts accepted deliveries whose decision did not reach
 *    Jenkins exactly once (missing or doubled).
 *
 * Both servers get the same client (CONCURRENCY keep-alive connections of raw sockets:
 * test/support/brain-process.ts `fire` writes each prepared request in one buffer and reads
 * the answer itself; node:http's client cost ~2x the CPU per request, taken on these 2 cores
 * from the server measured, and it added its own handling of earlier answers to the latency
 * of later ones) and the same untimed warm-up (WARM_UP deliveries; those to the brain are checked for exactly once too;
 * the restarted brain gets none: its cold start is part of the scenario). The client, the
 * server measured and the fake Jenkins (bench/brain-jenkins.ts) are three processes: Jenkins
 * is not the system under test, and in the client's process its work would delay the
 * client's event loop and so inflate the latencies measured. It is started before the floor
 * and idles through it, so both phases run with the same processes around. CPU time per
 * delivery of the floor and of the restarted brain (from /proc, user + system) is printed
 * too (and the restarted brain's by thread), and the client's: less noisy than the rates on a shared machine
 * (BRAIN_CPU_PROF=<dir> makes the restarted brain write a V8 CPU profile there). The p99 of
 * the answers before the kill and after the restart is printed beside the p99 of all (which
 * the goal is about). BRAIN_SHOTS=<file> writes every answer (status, ms) in the order
 * they came, before the kill and after the restart, as JSON. BRAIN_STATS=1 turns on the brains' BYOCI_BRAIN_STATS (brain/stats.ts)
 * and prints the worst second's event-loop delay, time in the brain (and in it the wait for
 * the commit and its fdatasync) and fdatasync. The share of CPU time the hypervisor stole
 * during each timed phase (/proc/stat) says when other virtual machines slowed the host. Goals: brain rate ≥ 0.25x the
 * floor's, p99 ≤ 20 ms, lost 0. The last line is
 *   brain: <rate>/s <ratio>x floor p99 <ms> ms lost <n>
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fire, percentile, pushDelivery, spawnBrain, SECRET, TOKEN, USER, type Shot } from '../test/support/brain-process.js';
import { ROOT } from '../test/support/cli.js';
import type { JenkinsServerOptions } from '../test/support/jenkins-server.js';
import { example, http } from '../test/brain/helpers.js';
import type { JenkinsReport } from './brain-jenkins.js';

const FLOOR_N = Number(process.env.FLOOR_N ?? 5000);
const BRAIN_N = Number(process.env.BRAIN_N ?? 10_000);
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 16);
const SIZE = 8 * 1024;
const JOBS = 4;
/** Deliveries sent before the timed phase to the floor and to the first brain (JIT, caches). */
const WARM_UP = 200;

function stats(shots: Shot[], ms: number) {
  const ok = shots.filter((s) => s.status === 202 || s.status === 200);
  const lat = ok.map((s) => s.ms);
  return { n: ok.length, rate: ok.length / (ms / 1000), p50: percentile(lat, 50), p99: percentile(lat, 99) };
}

/** CPU ms (user + system) of a /proc/<pid>/stat or /proc/<pid>/task/<tid>/stat file (utime, stime in clock ticks, USER_HZ 100). */
function statCpuMs(path: string): number {
  const fields = readFileSync(path, 'utf8').replace(/^.*\) /s, '').split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

/** CPU ms (user + system) a process has used so far, from /proc (undefined elsewhere). */
function cpuMs(pid: number | undefined): number | undefined {
  try {
    return statCpuMs(`/proc/${pid}/stat`);
  } catch {
    return undefined;
  }
}

/** CPU ms (user + system) of a process's main thread and of all its other threads, from /proc/<pid>/task. */
function threadCpuMs(pid: number | undefined): { main: number; others: number } | undefined {
  try {
    let main = 0;
    let others = 0;
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const ms = statCpuMs(`/proc/${pid}/task/${tid}/stat`);
      if (tid === String(pid)) main += ms;
      else others += ms;
    }
    return { main, others };
  } catch {
    return undefined;
  }
}

/**
 * What a brain's BYOCI_BRAIN_STATS file says (brain/stats.ts: one line per second): the event
 * loop's delay, the deliveries' time inside the brain and the part waiting for the commit and
 * its fdatasync, the fdatasyncs; p99 of the worst second and the largest value seen.
 */
function statsSummary(file: string): string | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  type Part = { n: number; p50: number; p99: number; max: number };
  // Seconds in which deliveries were answered (not the drain after them).
  const lines = text
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<'eld' | 'total' | 'commit' | 'sync', Part>)
    .filter((l) => l.total.n > 0);
  const worst = (k: 'eld' | 'total' | 'commit' | 'sync') => {
    const seen = lines.map((l) => l[k]).filter((p) => p.n > 0);
    return seen.length ? `p99 ${Math.max(...seen.map((p) => p.p99)).toFixed(1)} max ${Math.max(...seen.map((p) => p.max)).toFixed(1)} ms` : '-';
  };
  return `${lines.length} s answering; event-loop delay ${worst('eld')}; time in the brain ${worst('total')}, of it waiting for the commit and its sync ${worst('commit')}; fdatasync ${worst('sync')}`;
}

/** The machine's CPU time so far (all CPUs, clock ticks), and of it the part stolen by the hypervisor, from /proc/stat. */
function cpuTicks(): { total: number; steal: number } | undefined {
  try {
    const fields = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/).slice(1).map(Number);
    return { total: fields.slice(0, 8).reduce((a, b) => a + b, 0), steal: fields[7] ?? 0 };
  } catch {
    return undefined;
  }
}

/** The share of CPU time the hypervisor took between two cpuTicks() (a virtual machine's noisy neighbours). */
function stealShare(a: ReturnType<typeof cpuTicks>, b: ReturnType<typeof cpuTicks>): string {
  return a && b && b.total > a.total ? `${((100 * (b.steal - a.steal)) / (b.total - a.total)).toFixed(0)}%` : '?';
}

/** The bench process's own CPU ms (user + system) per delivery since `since` (process.cpuUsage()). */
function clientPerDelivery(since: NodeJS.CpuUsage, n: number): string {
  const used = process.cpuUsage(since);
  return n ? ((used.user + used.system) / 1000 / n).toFixed(2) : '?';
}

function perDelivery(before: number | undefined, after: number | undefined, n: number): string {
  return before === undefined || after === undefined || !n ? '?' : ((after - before) / n).toFixed(2);
}

/** The fake Jenkins as a child process (bench/brain-jenkins.ts). */
async function startJenkins(options: JenkinsServerOptions): Promise<{ url: string; child: ChildProcess; report(): Promise<JenkinsReport>; close(): Promise<void> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'bench', 'brain-jenkins.ts')], {
    env: { ...process.env, BENCH_JENKINS: JSON.stringify(options) },
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout?.once('data', (d: Buffer) => resolve(d.toString().trim()));
    void exited.then(() => reject(new Error('the fake Jenkins exited before listening')));
  });
  return {
    url,
    child,
    report: () =>
      new Promise<JenkinsReport>((resolve) => {
        child.once('message', (m) => resolve(m as JenkinsReport));
        child.send('report');
      }),
    async close() {
      if (child.exitCode === null) child.send('close');
      const timer = setTimeout(() => child.kill('SIGTERM'), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

async function floor(deliveries: ReturnType<typeof pushDelivery>[]) {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'bench', 'brain-floor.ts')], {
    env: { ...process.env, FLOOR_SECRET: SECRET },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve) => child.stdout.once('data', (d: Buffer) => resolve(d.toString().trim())));
  try {
    await fire(url, deliveries.slice(0, WARM_UP), { concurrency: CONCURRENCY }); // warm-up
    const cpu0 = cpuMs(child.pid);
    const ticks0 = cpuTicks();
    const client0 = process.cpuUsage();
    const t0 = performance.now();
    const answers = await fire(url, deliveries, { concurrency: CONCURRENCY });
    const s = stats([...answers.values()], performance.now() - t0);
    return { ...s, cpu: perDelivery(cpu0, cpuMs(child.pid), s.n), client: clientPerDelivery(client0, s.n), steal: stealShare(ticks0, cpuTicks()) };
  } finally {
    if (child.pid) process.kill(child.pid, 'SIGTERM');
  }
}

function brainConfig(jenkinsUrl: string): Record<string, unknown> {
  return {
    listen: { host: '127.0.0.1', port: 0 },
    sources: ['github'],
    coalesce: '1s',
    jenkins: { url: jenkinsUrl, user: USER, timeout: '2s', retryMin: '20ms', retryMax: '500ms', concurrency: 16, clockSkew: '1s' },
    rules: Array.from({ length: JOBS }, (_, j) => ({
      name: `load-${j}`,
      on: ['push'],
      repo: 'octo/load',
      branch: `b${j}`,
      job: `load-${j}`,
      params: { REVISION: '${revision}' },
    })),
  };
}

async function drained(url: string): Promise<boolean> {
  try {
    const h = JSON.parse((await http(new URL('healthz', url).toString())).body) as { inFlight: number; nextDue: number | null };
    return h.inFlight === 0 && h.nextDue === null;
  } catch {
    return false;
  }
}

async function main(): Promise<void> {
  const base = example('push');
  const runId = `bench-${process.pid}`;
  const floorDeliveries = Array.from({ length: FLOOR_N }, (_, i) => pushDelivery(base, i, `b${i % JOBS}`, SIZE, `${runId}-floor`));
  const deliveries = Array.from({ length: BRAIN_N }, (_, i) => pushDelivery(base, i, `b${i % JOBS}`, SIZE, runId));
  const warm = Array.from({ length: WARM_UP }, (_, i) => pushDelivery(base, i, `b${i % JOBS}`, SIZE, `${runId}-warm`));
  const load = () => loadavg().map((l) => l.toFixed(2)).join(' ');
  process.stderr.write(`bench:brain: ${FLOOR_N} deliveries to the floor, ${BRAIN_N} to the brain, ${Buffer.byteLength(deliveries[0]?.body ?? '')} bytes each, ${CONCURRENCY} connections; load average ${load()}\n`);

  const jenkins = await startJenkins({
    user: USER,
    token: TOKEN,
    jobs: Array.from({ length: JOBS }, (_, j) => ({ name: `load-${j}`, params: { BYOCI_DECISION: '', REVISION: '' } })),
    failRate: 0.3,
    loseAnswerShare: 0.5,
    seed: 2026,
  });
  const f = await floor(floorDeliveries).catch(async (error: unknown) => {
    await jenkins.close();
    throw error;
  });
  process.stderr.write(`bench:brain: floor ${f.rate.toFixed(0)}/s p99 ${f.p99.toFixed(1)} ms; now the brain\n`);
  const home = mkdtempSync(join(tmpdir(), 'byoci-bench-brain-'));
  try {
    if (process.env.BRAIN_STATS) process.env.BYOCI_BRAIN_STATS = join(home, 'stats-1.jsonl');
    let brain = await spawnBrain(home, brainConfig(jenkins.url));
    // Warmed up like the floor (not timed; their decisions are checked like the others').
    const warmed = await fire(brain.url, warm, { concurrency: CONCURRENCY });
    let killed = false;
    const half = Math.floor(BRAIN_N / 2);
    const ticks0 = cpuTicks();
    const t0 = performance.now();
    const first = await fire(brain.url, deliveries, {
      concurrency: CONCURRENCY,
      onAnswer: (_d, _s, done) => {
        if (done === half && !killed) {
          killed = true;
          process.kill(brain.pid, 'SIGKILL');
        }
      },
    });
    const firstMs = performance.now() - t0;
    const ticks1 = cpuTicks();
    await brain.kill9().catch(() => undefined);
    const acceptedBeforeKill = [...first.values()].filter((s) => s.status === 202).length;
    const unanswered = deliveries.filter((d) => first.get(d.id)?.status !== 202);

    // BRAIN_CPU_PROF=<dir>: the restarted brain writes a V8 CPU profile there when it stops.
    const prof = process.env.BRAIN_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BRAIN_CPU_PROF}`] : [];
    if (process.env.BRAIN_STATS) process.env.BYOCI_BRAIN_STATS = join(home, 'stats-2.jsonl');
    brain = await spawnBrain(home, brainConfig(jenkins.url), { cli: [...prof, '--import', 'tsx', join(ROOT, 'cli', 'main.ts')] });
    const threads1 = threadCpuMs(brain.pid);
    const ticks1b = cpuTicks();
    const cpu1 = cpuMs(brain.pid);
    const client1 = process.cpuUsage();
    const t1 = performance.now();
    const second = await fire(brain.url, unanswered, { concurrency: CONCURRENCY });
    const clientSecond = clientPerDelivery(client1, second.size);
    const secondMs = performance.now() - t1;
    const ticks2 = cpuTicks();
    const answeredAgain = [...second.values()].filter((s) => s.status === 202 || s.status === 200).length;
    const brainCpu = perDelivery(cpu1, cpuMs(brain.pid), answeredAgain);
    const threads2 = threadCpuMs(brain.pid);
    process.stderr.write(`bench:brain: ${acceptedBeforeKill} accepted before the kill, ${second.size} delivered again; draining\n`);
    const tDrain = performance.now();
    const deadline = Date.now() + Number(process.env.DRAIN_S ?? 300) * 1000;
    while (!(await drained(brain.url))) {
      if (Date.now() > deadline || brain.child.exitCode !== null) {
        process.stderr.write(`bench:brain: the backlog did not drain (brain ${brain.child.exitCode === null ? 'alive' : `exited ${brain.child.exitCode}`}); its log ends:\n${brain.stderr().slice(-3000)}\n`);
        break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    const drainMs = performance.now() - tDrain;
    // The restarted brain's group commits (redeliveries and the drain's bookkeeping).
    const commits = await http(new URL('healthz', brain.url).toString())
      .then((r) => (JSON.parse(r.body) as { groupCommits?: { count: number; ops: number; ms: number; maxMs: number; syncs: number; syncMs: number; syncMaxMs: number } }).groupCommits)
      .catch(() => undefined);
    await brain.stop();

    const accepted = [...first.values(), ...second.values()].filter((s) => s.status === 202);
    if (process.env.BRAIN_SHOTS) writeFileSync(process.env.BRAIN_SHOTS, JSON.stringify({ first: [...first.values()], second: [...second.values()] }));
    const b = stats(
      [...first.values(), ...second.values()].filter((s) => s.status === 202),
      firstMs + secondMs,
    );
    const report = await jenkins.report();
    const counts = new Map<string, number>();
    for (const r of report.revisions) counts.set(r, (counts.get(r) ?? 0) + 1);
    const everAccepted = [
      ...warm.filter((d) => warmed.get(d.id)?.status === 202),
      ...deliveries.filter((d) => first.get(d.id)?.status === 202 || second.get(d.id)?.status === 202 || second.get(d.id)?.status === 200),
    ];
    const missing = everAccepted.filter((d) => !counts.has(d.revision)).length;
    const doubled = everAccepted.filter((d) => (counts.get(d.revision) ?? 0) > 1).length;
    const neverAccepted = BRAIN_N + warm.length - everAccepted.length;
    const { lostAnswers, refused } = report;

    const rows: [string, string, string, string, string][] = [
      ['server', 'deliveries/s', 'p50 ms', 'p99 ms', 'answered'],
      ['node:http + HMAC (floor)', f.rate.toFixed(0), f.p50.toFixed(2), f.p99.toFixed(2), String(f.n)],
      ['byoci brain (journaled)', b.rate.toFixed(0), b.p50.toFixed(2), b.p99.toFixed(2), String(accepted.length)],
    ];
    const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
    for (const r of rows) console.log(r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  '));
    console.log('');
    console.log(`kill -9 after ${acceptedBeforeKill} accepted; ${unanswered.length} delivered again after the restart (${second.size - [...second.values()].filter((s) => s.status === 202).length} already journaled: 200)`);
    console.log(`CPU per delivery: floor ${f.cpu} ms, restarted brain ${brainCpu} ms (its intake and the dispatching meanwhile); the client ${f.client} ms beside the floor, ${clientSecond} ms beside the restarted brain; load average ${load()}`);
    console.log(`CPU time stolen by the hypervisor (other virtual machines on the host): floor ${f.steal}, brain before the kill ${stealShare(ticks0, ticks1)}, after the restart ${stealShare(ticks1b, ticks2)}`);
    console.log(`Jenkins: ${report.revisions.length} builds for ${everAccepted.length} accepted deliveries (${warm.length} of them the warm-up); ${refused} triggers refused (503), ${lostAnswers} queued with the answer lost; backlog drained ${(drainMs / 1000).toFixed(1)} s after the last delivery`);
    if (commits?.count) {
      console.log(
        `group commits after the restart: ${commits.count}, ${(commits.ops / commits.count).toFixed(1)} writes each, ${(commits.ms / commits.count).toFixed(2)} ms each on the event loop, longest ${commits.maxMs} ms; ` +
          `WAL fdatasyncs: ${commits.syncs}, ${commits.syncs ? (commits.syncMs / commits.syncs).toFixed(2) : '-'} ms each (off the event loop), longest ${commits.syncMaxMs} ms`,
      );
    }
    const p99Of = (m: Map<string, Shot>) => percentile([...m.values()].filter((s) => s.status === 202).map((s) => s.ms), 99).toFixed(1);
    console.log(`p99 before the kill ${p99Of(first)} ms, after the restart ${p99Of(second)} ms`);
    if (threads1 && threads2) {
      console.log(
        `restarted brain's CPU per delivery by thread: main ${perDelivery(threads1.main, threads2.main, answeredAgain)} ms, ` +
          `the others ${perDelivery(threads1.others, threads2.others, answeredAgain)} ms (V8's GC helpers, libuv's pool: fdatasync, the WAL checkpoint worker; with BYOCI_BRAIN_THREADS=1 the journal thread)`,
      );
    }
    for (const [name, file] of [['first brain', 'stats-1.jsonl'], ['restarted brain', 'stats-2.jsonl']] as const) {
      const s = statsSummary(join(home, file));
      if (s) console.log(`${name} (BRAIN_STATS, worst second / whole run): ${s}`);
    }
    console.log(`missing ${missing}, doubled ${doubled}, never accepted ${neverAccepted}`);
    const ratio = b.rate / f.rate;
    console.log(`goals: rate >= 0.25x floor ${ratio >= 0.25 ? 'met' : 'NOT met'}; p99 <= 20 ms ${b.p99 <= 20 ? 'met' : 'NOT met'}; nothing lost ${missing + doubled + neverAccepted === 0 ? 'met' : 'NOT met'}`);
    console.log(`brain: ${b.rate.toFixed(0)}/s ${ratio.toFixed(2)}x floor p99 ${b.p99.toFixed(1)} ms lost ${missing + doubled + neverAccepted}`);
  } finally {
    await jenkins.close();
    rmSync(home, { recursive: true, force: true });
  }
}

await main();
