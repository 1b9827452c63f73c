/**
 * `npm run bench:landing`: what a landing costs next to its (no-op) test.
 *
 * Builds two trees with `git fast-import` (small: 200 files; large: thousands of files and
 * a few thousand commits), then times side by side, interleaved in one run, a shell script
 * doing the minimal git + container steps (clone, fetch, merge, container, tree in, no-op
 * test, stop, commit, push) against `byoci land` of one proposal (the built CLI, dist/),
 * median of several runs each after one warm-up. The target is reached as a remote would
 * be (`file://` for the script, a path for byoci: both through git's pack transport, no
 * hardlinked clone of the target). Also `byoci --help` against `node -e ''`, and the bot's
 * peak RSS (process.resourceUsage().maxRSS of the node process, children excluded).
 *
 * Wall time is the process's, spawn to exit (what the ratios use). Beside it, "until
 * reported": from the spawn until the proposal's final report is written (the local forge's
 * proposal file gets `status: Merged`; its mtime), which comes before the exit because
 * byoci deletes the finished container in the background and waits for that only at
 * shutdown. The script's report is its exit (its push is its last step).
 *
 * Where the time goes: each byoci run writes its step timings (BYOCI_TIMINGS, see
 * core/timings.ts) and the script stamps its steps ($EPOCHREALTIME, no extra process); for
 * the run with the median time of each tree, both breakdowns are printed side by side.
 *
 *   npm run bench:landing -- [runs]      (default 5; LXD with the hostusr image when it answers, else bwrap)
 *   BYOCI_BENCH_LARGE=1000x500 npm run bench:landing -- 1     (a smaller large tree, files x commits, while developing)
 *
 * The last three lines read `small tree: <ratio>x`, `large tree: <ratio>x`, `peak memory: <MB> MB`.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync, existsSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';

const RUNS = Number(process.argv[2] ?? 5);
if (!Number.isInteger(RUNS) || RUNS < 1) throw new Error(`bench:landing: runs must be a whole number ≥ 1, not ${JSON.stringify(process.argv[2])}`);
const largeSize = /^(\d+)x(\d+)$/.exec(process.env.BYOCI_BENCH_LARGE ?? '5000x3000');
if (!largeSize || Number(largeSize[1]) < 1 || Number(largeSize[2]) < 1) {
  throw new Error(`BYOCI_BENCH_LARGE: expected <files>x<commits>, both at least 1 (e.g. 5000x3000), not ${JSON.stringify(process.env.BYOCI_BENCH_LARGE)}`);
}
const LARGE = { files: Number(largeSize[1]), commits: Number(largeSize[2]) };
const ROOT = resolve(import.meta.dirname, '..');
const MAIN = join(ROOT, 'dist', 'cli', 'main.js');
const RSS_HOOK = join(ROOT, 'bench', 'rss.mjs');
const WHO = { GIT_AUTHOR_NAME: 'Bench', GIT_AUTHOR_EMAIL: 'bench@example.invalid', GIT_COMMITTER_NAME: 'Bench', GIT_COMMITTER_EMAIL: 'bench@example.invalid' };
const GIT_ENV = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: tmpdir(), GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null', ...WHO };

function sh(cmd: string, args: string[], options: { cwd?: string; input?: string | Buffer; env?: NodeJS.ProcessEnv } = {}): string {
  const r = spawnSync(cmd, args, { cwd: options.cwd, input: options.input, env: options.env ?? GIT_ENV, encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return r.stdout.trim();
}

function timed(cmd: string, args: string[], env: NodeJS.ProcessEnv, cwd?: string, onSpawn?: () => void): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    onSpawn?.();
    const t = performance.now();
    const child = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolvePromise(performance.now() - t) : reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${err}`))));
  });
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

const WORDS = 'the of and to in is for return if else const let function import export class new this value error file path test data result string number case while break default throw await async interface type null undefined true false'.split(' ');

/**
 * Source-like text of about `bytes` bytes: lines of words from a small vocabulary picked by a
 * seeded generator, so the trunk compresses about as real code does (not like repeated x's).
 */
function sourceText(seed: number, bytes: number): string {
  let x = (seed * 2654435761) >>> 0 || 1;
  const next = () => ((x = (Math.imul(x, 1103515245) + 12345) >>> 0) >>> 8);
  const lines: string[] = [];
  let size = 0;
  while (size < bytes) {
    const indent = '  '.repeat(next() % 4);
    const words = Array.from({ length: 3 + (next() % 9) }, () => WORDS[next() % WORDS.length]!);
    const line = `${indent}${words.join(' ')}${next() % 3 === 0 ? ` ${next()};` : ''}`;
    lines.push(line);
    size += line.length + 1;
  }
  return lines.join('\n') + '\n';
}

/**
 * A fast-import stream: `files` files in the first commit, then `commits - 1` commits each
 * changing a line in three files. Small files (200 to 500 bytes, as in the earlier runs of
 * this bench) or, `sized`, source-like text of 0.5 to 12 KB each (the large tree: tens of MB
 * of files, a trunk of real size in bytes, not only in file count).
 */
function fastImport(files: number, commits: number, sized: boolean): string {
  const out: string[] = [];
  let mark = 0;
  const blob = (text: string) => {
    mark += 1;
    out.push('blob', `mark :${mark}`, `data ${Buffer.byteLength(text)}`, text);
    return mark;
  };
  const path = (i: number) => `src/d${Math.floor(i / 100)}/f${i}.txt`;
  const contents = Array.from({ length: files }, (_, i) =>
    sized ? sourceText(i + 1, 512 + ((i * 7919) % 11_776)) : `file ${i}\n${'x'.repeat(200 + (i % 300))}\n`,
  );
  let time = 1_700_000_000;
  for (let c = 0; c < commits; c++) {
    const changes: string[] = [];
    const touched = c === 0 ? Array.from({ length: files }, (_, i) => i) : [c % files, (c * 7) % files, (c * 13) % files];
    for (const i of touched) {
      if (c > 0) contents[i] = `revision ${c} of file ${i}\n${contents[i]!.slice(contents[i]!.indexOf('\n') + 1)}`;
      changes.push(`M 100644 :${blob(contents[i]!)} ${path(i)}`);
    }
    mark += 1;
    const msg = `commit ${c}`;
    out.push('commit refs/heads/main', `mark :${mark}`, `author Bench <bench@example.invalid> ${time} +0000`, `committer Bench <bench@example.invalid> ${time} +0000`, `data ${msg.length}`, msg);
    out.push(...changes, '');
    time += 60;
  }
  return out.join('\n') + '\n';
}

interface Tree {
  name: string;
  dir: string;
  trunk: string;
  source: string;
  base: string;
  approved: string;
  files: number;
  commits: number;
}

function buildTree(root: string, name: string, files: number, commits: number, sized: boolean): Tree {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  const trunk = join(dir, 'trunk.git');
  sh('git', ['init', '-q', '--bare', '-b', 'main', trunk]);
  sh('git', ['fast-import', '--quiet'], { cwd: trunk, input: fastImport(files, commits, sized) });
  sh('git', ['gc', '-q'], { cwd: trunk });
  const base = sh('git', ['rev-parse', 'refs/heads/main'], { cwd: trunk });
  const work = join(dir, 'work');
  sh('git', ['clone', '-q', trunk, work]);
  sh('git', ['checkout', '-q', '-b', 'feature'], { cwd: work });
  writeFileSync(join(work, 'NEWS'), 'A change to land.\n');
  sh('git', ['add', 'NEWS'], { cwd: work });
  sh('git', ['commit', '-q', '-m', 'Add NEWS'], { cwd: work });
  const approved = sh('git', ['rev-parse', 'HEAD'], { cwd: work });
  const source = join(dir, 'source.git');
  sh('git', ['clone', '-q', '--bare', work, source]);
  rmSync(work, { recursive: true, force: true });
  return { name, dir, trunk, source, base, approved, files, commits };
}

function lxdReady(): boolean {
  const info = spawnSync('lxc', ['image', 'list', 'hostusr', '--format', 'csv'], { encoding: 'utf8', timeout: 15_000 });
  return info.status === 0 && info.stdout.trim().length > 0;
}

/** The script: what a landing must do at least, with the same backend. */
function script(backend: 'lxd' | 'bwrap', profile: string): string {
  const container =
    backend === 'lxd'
      ? `name="bench-$$-$RANDOM"
stamp "container create"
lxc init -q hostusr "$name" --ephemeral -p default -p "${profile}" >/dev/null
lxc config device add -q "$name" src disk source="$stage" path=/src >/dev/null
stamp "container start"
lxc start "$name"
stamp "test (exec)"
lxc exec "$name" --cwd /src -- true
stamp "container stop"
lxc stop --force "$name"`
      : `stamp "test (bwrap)"
bwrap --ro-bind /usr /usr --symlink usr/bin /bin --symlink usr/lib /lib --symlink usr/lib64 /lib64 --proc /proc --dev /dev \\
  --unshare-all --die-with-parent --bind "$stage" /src --chdir /src true`;
  return `#!/bin/bash
# clone, fetch, merge, container, tree in, no-op test, stop, commit, push
set -euo pipefail
trunk=$1 source=$2 work=$3
# Step stamps for the breakdown: a builtin printf of bash's clock, no extra process.
stamp() { if [ -n "\${TIMES:-}" ]; then printf '%s\\t%s\\n' "$1" "$EPOCHREALTIME" >>"$TIMES"; fi; }
stamp "clone"
git clone -q --no-tags --branch main "file://$trunk" "$work/w"
cd "$work/w"
stamp "fetch source"
git fetch -q --no-tags "file://$source" feature:refs/src
stamp "merge + commit"
git merge -q --no-ff --no-commit refs/src
git commit -q -m "Add NEWS (merged)"
stamp "stage copy"
stage="$work/stage"; mkdir "$stage"; cp -a . "$stage"
${container}
stamp "push"
git push -q "file://$trunk" HEAD:main
stamp "end"
`;
}

interface BotTimings {
  total: number;
  cpu: number;
  spans: { kind: 'step' | 'hook' | 'proc' | 'lxd' | 'lock' | 'background'; name: string; start: number; ms: number }[];
}

interface ScriptStep {
  name: string;
  ms: number;
}

/** The script's steps from its stamps: bash start-up first, then each stamped step until `end`. */
function scriptSteps(file: string, spawnedAt: number, total: number): ScriptStep[] {
  const stamps = readFileSync(file, 'utf8').trim().split('\n').map((line) => {
    const [name = '', at = '0'] = line.split('\t');
    return { name, at: Number(at) * 1000 };
  });
  const steps: ScriptStep[] = [{ name: 'bash start', ms: stamps[0]!.at - spawnedAt }];
  for (let i = 0; i + 1 < stamps.length; i++) steps.push({ name: stamps[i]!.name, ms: stamps[i + 1]!.at - stamps[i]!.at });
  steps.push({ name: 'exit', ms: Math.max(0, total - (stamps.at(-1)!.at - spawnedAt)) });
  return steps;
}

/**
 * One row per step or hook of byoci's run, nested ones indented, with the processes and requests inside it.
 * Background work (a spare container made while the landing fetches and merges) gets rows of
 * its own after them, outside the sum: it overlaps the steps. The LXD requests made while it
 * ran are listed in its row, not in the step it overlaps (fetch and merge make none).
 */
function botRows(t: BotTimings): { name: string; ms: number; inner: string }[] {
  const outer = t.spans.filter((s) => s.kind === 'step' || s.kind === 'hook').sort((a, b) => a.start - b.start || b.ms - a.ms);
  const background = t.spans.filter((s) => s.kind === 'background').sort((a, b) => a.start - b.start);
  const within = (a: { start: number; ms: number }, b: { start: number; ms: number }) => a.start >= b.start - 0.5 && a.start + a.ms <= b.start + b.ms + 0.5;
  const inBackground = (c: { kind: string; start: number; ms: number }) => c.kind === 'lxd' && background.some((b) => within(c, b));
  const summary = (own: typeof t.spans) => {
    const counts = new Map<string, { n: number; ms: number }>();
    for (const c of own) {
      const key = c.kind === 'lxd' ? `lxd ${c.name}` : c.name;
      const e = counts.get(key) ?? { n: 0, ms: 0 };
      counts.set(key, { n: e.n + 1, ms: e.ms + c.ms });
    }
    return [...counts].map(([k, v]) => `${k}${v.n > 1 ? ` ×${v.n}` : ''} ${v.ms.toFixed(0)}`).join(', ');
  };
  const rows: { name: string; ms: number; inner: string; depth: number }[] = [];
  const open: (typeof outer)[number][] = [];
  // Time covered by the top-level rows (rows running side by side, e.g. `prepare` beside `report`, counted once).
  let top = 0;
  let topEnd = 0;
  for (const s of outer) {
    while (open.length && !within(s, open.at(-1)!)) open.pop();
    if (open.length === 0) {
      top += Math.max(0, s.start + s.ms - Math.max(s.start, topEnd));
      topEnd = Math.max(topEnd, s.start + s.ms);
    }
    const children = t.spans.filter((c) => c.kind !== 'step' && c.kind !== 'hook' && c.kind !== 'background' && within(c, s) && !inBackground(c));
    // Only what no deeper row holds.
    const own = children.filter((c) => !outer.some((o) => o !== s && within(o, s) && within(c, o)));
    rows.push({ name: `${'  '.repeat(open.length)}${s.name}`, ms: s.ms, inner: summary(own), depth: open.length });
    // A `prepare` tap only starts work and runs beside the `started` report: it holds no other row.
    if (!s.name.startsWith('prepare ')) open.push(s);
  }
  rows.push({ name: 'other (queue bookkeeping, SQLite, logging, exit)', ms: Math.max(0, t.total - top), inner: '', depth: 0 });
  for (const b of background) {
    const own = t.spans.filter((c) => c.kind === 'lxd' && within(c, b));
    rows.push({ name: `[background, not in the sum] ${b.name}, ${b.start.toFixed(0)}–${(b.start + b.ms).toFixed(0)} ms`, ms: b.ms, inner: summary(own), depth: 0 });
  }
  return rows;
}

/** When the steps that overlap ran (ms since byoci's start): fetch, merge, background work, the test, push, report, shutdown. */
function overlapLine(t: BotTimings): string {
  const shown = t.spans
    .filter((s) => s.kind === 'background' || (s.kind === 'hook' && /^(fetch|merge|testInContainer|push|report|shutdown) /.test(s.name)))
    .sort((a, b) => a.start - b.start);
  if (!shown.some((s) => s.kind === 'background')) return '';
  return `overlap (ms since byoci's start): ${shown.map((s) => `${s.name} ${s.start.toFixed(0)}–${(s.start + s.ms).toFixed(0)}`).join('; ')}`;
}

/** The median run of a tree, byoci's steps next to the script's. */
function breakdown(tree: string, bot: number[], botTimings: BotTimings[], reported: number[], script: number[], steps: ScriptStep[][]): string {
  const pick = (values: number[]) => values.indexOf([...values].sort((a, b) => a - b)[Math.floor((values.length - 1) / 2)]!);
  const b = pick(bot);
  const s = pick(script);
  const t = botTimings[b]!;
  const procs = t.spans.filter((x) => x.kind === 'proc').length;
  const lines = [
    `${tree} tree, where the time goes (the median run of each; byoci: ${bot[b]!.toFixed(0)} ms wall (the final report written at ${reported[b]!.toFixed(0)} ms), ${t.cpu.toFixed(0)} ms CPU of the node process, ${procs} child processes run by core; script: ${script[s]!.toFixed(0)} ms)`,
    '',
    '| byoci step | ms | inside it (ms) |',
    '|---|---|---|',
    ...botRows(t).map((r) => `| ${r.name} | ${r.ms.toFixed(0)} | ${r.inner} |`),
    `| process start before node's clock + exit | ${Math.max(0, bot[b]! - t.total).toFixed(0)} | |`,
    ...(overlapLine(t) ? ['', overlapLine(t)] : []),
    '',
    '| script step | ms |',
    '|---|---|',
    ...steps[s]!.map((x) => `| ${x.name} | ${x.ms.toFixed(0)} |`),
  ];
  return lines.join('\n');
}

async function main(): Promise<void> {
  if (!existsSync(MAIN) || process.env.BYOCI_BENCH_BUILD !== '0') sh('npm', ['run', 'build', '--silent'], { cwd: ROOT, env: process.env });
  const root = mkdtempSync(join(tmpdir(), 'byoci-bench-landing-'));
  const backend: 'lxd' | 'bwrap' = lxdReady() ? 'lxd' : 'bwrap';
  const profile = `byoci-bench-${process.pid}`;
  try {
    if (backend === 'lxd') {
      sh('lxc', ['profile', 'create', profile], { env: process.env });
      sh('lxc', ['profile', 'set', profile, 'raw.lxc', 'lxc.init.cmd = /init-sh'], { env: process.env });
      sh('lxc', ['profile', 'device', 'add', profile, 'usr', 'disk', 'source=/usr', 'path=/usr', 'readonly=true'], { env: process.env });
    }
    const t0 = performance.now();
    const trees = [buildTree(root, 'small', 200, 50, false), buildTree(root, 'large', LARGE.files, LARGE.commits, true)];
    const built = performance.now() - t0;
    const scriptFile = join(root, 'land.sh');
    writeFileSync(scriptFile, script(backend, profile), { mode: 0o755 });
    const rssFile = join(root, 'rss');
    const results: { tree: Tree; script: number[]; bot: number[]; reported: number[]; size: string; scriptSteps: ScriptStep[][]; botTimings: BotTimings[] }[] = [];

    for (const tree of trees) {
      const proposals = join(tree.dir, 'proposals');
      mkdirSync(proposals, { recursive: true });
      const config = join(tree.dir, 'byoci.yaml');
      writeFileSync(
        config,
        stringify({
          byoci: 'selftest',
          workdir: join(tree.dir, 'runs'),
          artefacts: join(tree.dir, 'artefacts'),
          plugins: { local: { dir: proposals, trusted: ['rita'] } },
          projects: { bench: { targets: [{ forge: 'local', repo: tree.trunk, branch: 'main' }], test: { backend, image: 'hostusr', command: ['true'] } } },
        }),
      );
      const propose = () =>
        writeFileSync(
          join(proposals, '1.yaml'),
          stringify({
            id: '1',
            title: 'Add NEWS',
            source: { repo: tree.source, branch: 'feature' },
            target: { repo: tree.trunk, branch: 'main' },
            approved_revision: tree.approved,
            status: 'Approved',
            commit_message: 'Add NEWS',
            votes: [{ reviewer: 'rita', vote: 'Approve' }],
          }),
        );
      const reset = () => sh('git', ['update-ref', 'refs/heads/main', tree.base], { cwd: tree.trunk });
      const r = {
        tree,
        script: [] as number[],
        bot: [] as number[],
        reported: [] as number[],
        size: sh('du', ['-sh', tree.trunk]).split('\t')[0]!,
        scriptSteps: [] as ScriptStep[][],
        botTimings: [] as BotTimings[],
      };
      for (let i = 0; i <= RUNS; i++) {
        // Interleaved: script then bot, each from the same trunk state; run 0 warms up (and fills the mirror).
        reset();
        const work = mkdtempSync(join(root, 'script-'));
        const stamps = join(root, `stamps-${tree.name}-${i}`);
        const spawnedAt = Date.now();
        const s = await timed('bash', [scriptFile, tree.trunk, tree.source, work], { ...GIT_ENV, PATH: process.env.PATH ?? '', TIMES: stamps });
        rmSync(work, { recursive: true, force: true });
        reset();
        propose();
        const timings = join(root, `timings-${tree.name}-${i}`);
        let botSpawned = 0;
        const b = await timed(
          process.execPath,
          ['--import', RSS_HOOK, MAIN, '--config', config, 'land', '--proposal', 'local:1'],
          { ...process.env, BYOCI_BENCH_RSS: rssFile, BYOCI_TIMINGS: timings },
          undefined,
          () => (botSpawned = Date.now()),
        );
        const proposalFile = join(proposals, '1.yaml');
        const status = readFileSync(proposalFile, 'utf8');
        if (!/status: Merged/.test(status)) throw new Error(`byoci did not land the proposal on the ${tree.name} tree:\n${status}`);
        // The final report wrote the proposal file (atomically: written, then renamed over it).
        const reported = statSync(proposalFile).mtimeMs - botSpawned;
        if (i > 0) {
          r.script.push(s);
          r.bot.push(b);
          r.reported.push(reported);
          r.scriptSteps.push(scriptSteps(stamps, spawnedAt, s));
          r.botTimings.push(JSON.parse(readFileSync(timings, 'utf8').trim().split('\n').at(-1)!) as BotTimings);
        }
      }
      results.push(r);
    }

    const help: number[] = [];
    const bare: number[] = [];
    for (let i = 0; i <= RUNS * 2; i++) {
      const n = await timed(process.execPath, ['-e', ''], process.env);
      const h = await timed(process.execPath, [MAIN, '--help'], process.env);
      if (i > 0) {
        bare.push(n);
        help.push(h);
      }
    }
    const rss = Math.max(...readFileSync(rssFile, 'utf8').split('\n').filter(Boolean).map(Number)) / 1024;

    const ms = (v: number) => `${v.toFixed(0)} ms`.padStart(9);
    console.log(`byoci landing benchmark: backend ${backend}, ${RUNS} runs each (median, after one warm-up), trees built in ${(built / 1000).toFixed(1)} s`);
    console.log('');
    console.log('| what | files | commits | trunk size | script | byoci land | ratio | goal | byoci until reported | ratio until reported |');
    console.log('|---|---|---|---|---|---|---|---|---|---|');
    const ratios: number[] = [];
    for (const r of results) {
      const ratio = median(r.bot) / median(r.script);
      ratios.push(ratio);
      const goal = r.tree.name === 'small' ? 1.2 : 1.0;
      const verdict = r.tree.name === 'small' ? (ratio <= goal ? 'met (≤ 1.2)' : `NOT met: ${((ratio / goal - 1) * 100).toFixed(0)}% over 1.2x`) : ratio < goal ? 'met (< 1.0)' : `NOT met: ${((ratio / goal - 1) * 100).toFixed(0)}% over 1.0x`;
      const untilReported = median(r.reported);
      console.log(
        `| ${r.tree.name} tree | ${r.tree.files} | ${r.tree.commits} | ${r.size} | ${ms(median(r.script))} | ${ms(median(r.bot))} | ${ratio.toFixed(2)}x | ${verdict} | ${ms(untilReported)} | ${(untilReported / median(r.script)).toFixed(2)}x |`,
      );
    }
    const helpRatio = median(help) / median(bare);
    console.log(`| byoci --help vs node -e '' | | | | ${ms(median(bare))} | ${ms(median(help))} | ${helpRatio.toFixed(2)}x | ${helpRatio <= 4 ? 'met (≤ 4)' : 'NOT met (≤ 4)'} | | |`);
    console.log(`| peak RSS of the bot (node process) | | | | | ${rss.toFixed(0)} MB | | ${rss <= 120 ? 'met (≤ 120 MB)' : `NOT met: ${(rss - 120).toFixed(0)} MB over 120`} | | |`);
    console.log('');
    console.log(
      'The ratios and goals are on process wall time (spawn to exit). "until reported": spawn until the final report was written ' +
        "(the proposal file's mtime); byoci's exit after it waits for the finished container's deletion, which the script does before its push.",
    );
    if (ratios[0]! > 1.2 || ratios[1]! >= 1.0) {
      console.log('');
      console.log(
        "why not met: see the breakdowns below (byoci's median run step by step next to the script's); what byoci " +
          'does beyond the script is node start-up and module load, config, plugins, the SQLite queue store, verify, ' +
          "discovery, the mirror and its lock, chown, the report and the clean-up. On a shared machine compare node -e '' above.",
      );
    }
    for (const r of results) {
      console.log('');
      console.log(breakdown(r.tree.name, r.bot, r.botTimings, r.reported, r.script, r.scriptSteps));
    }
    console.log('');
    console.log('script runs: ' + results.map((r) => `${r.tree.name} [${r.script.map((v) => v.toFixed(0)).join(', ')}]`).join('; '));
    console.log('byoci runs:  ' + results.map((r) => `${r.tree.name} [${r.bot.map((v) => v.toFixed(0)).join(', ')}]`).join('; '));
    console.log('byoci until reported: ' + results.map((r) => `${r.tree.name} [${r.reported.map((v) => v.toFixed(0)).join(', ')}]`).join('; '));
    console.log(`small tree: ${ratios[0]!.toFixed(2)}x`);
    console.log(`large tree: ${ratios[1]!.toFixed(2)}x`);
    console.log(`peak memory: ${rss.toFixed(0)} MB`);
  } finally {
    if (backend === 'lxd') spawnSync('lxc', ['profile', 'delete', profile]);
    rmSync(root, { recursive: true, force: true });
  }
}

await main();
