/**
 * The status page as people see it: real queue state in the shared store (written with the
 * queue's own QueueStore), served by a running brain, loaded in headless Chromium.
 */
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { silentLogger } from '../../core/index.js';
import { processOwner } from '../../core/owner.js';
import { QUEUE_MIGRATIONS, QueueStore } from '../../core/queue/index.js';
import { TESTS_MIGRATIONS, recordRun } from '../../core/test-report/index.js';
import { openStore } from '../../store/index.js';
import { BRAIN_MIGRATIONS, renderStatusPage, startBrain, statusView, type Brain } from '../../brain/index.js';
import { esc, safeUrl } from '../../brain/status/html.js';
import { chromium, missingChromium } from '../support/chromium.js';
import { byoci } from '../support/cli.js';
import { needs } from '../support/components.js';
import { GITHUB_SECRET, JENKINS, LAUNCHPAD_SECRET, config, http } from './helpers.js';

const HOSTILE = '<script>alert(1)</script>';
const TARGET = { key: 'git:github.com/octo/calc#main', vcs: 'git', url: 'https://github.com/octo/calc.git', branch: 'main', project: 'calc' };

function fill(dbPath: string): void {
  const db = openStore(dbPath, { migrations: [...QUEUE_MIGRATIONS, ...TESTS_MIGRATIONS, ...BRAIN_MIGRATIONS] });
  const q = new QueueStore(db);
  q.upsertTarget(TARGET);
  const base = { targetKey: TARGET.key, forge: 'github', project: 'calc', approvedAtFrom: 'forge' as const, priority: 1, priorityName: 'normal', priorityFrom: 'default' };
  const landed = q.addEntry({ ...base, proposalId: 'github:octo/calc#7', title: 'Faster parser', url: 'https://github.com/octo/calc/pull/7', approvedRevision: 'a'.repeat(40), approvedAt: '2026-12-01T08:00:00.000Z' });
  const run = q.startRun({ targetKey: TARGET.key, project: 'calc', botRun: 'r1', owner: processOwner(), attempt: 1, entries: [landed.id] });
  q.updateRun(run.id, { state: 'landed', testMs: 95_000, treeRevision: 'b'.repeat(40) });
  q.setState(landed.id, 'landed', null, { landedRevision: 'c'.repeat(40) });
  const rejected = q.addEntry({ ...base, proposalId: 'github:octo/calc#8', title: 'Break the build', url: 'https://github.com/octo/calc/pull/8', approvedRevision: 'd'.repeat(40), approvedAt: '2026-12-01T08:10:00.000Z' });
  q.setState(rejected.id, 'out', 'the tests failed: test_division_by_zero (tests/test_calc.py)');
  const testing = q.addEntry({ ...base, proposalId: 'github:octo/calc#9', title: 'Add modulo', url: 'https://github.com/octo/calc/pull/9', approvedRevision: 'e'.repeat(40), approvedAt: '2026-12-01T08:20:00.000Z' });
  q.startRun({ targetKey: TARGET.key, project: 'calc', botRun: 'r2', owner: processOwner(), attempt: 1, entries: [testing.id] });
  q.addEntry({ ...base, proposalId: 'github:octo/calc#10', title: HOSTILE, url: 'javascript:alert(2)', approvedRevision: 'f'.repeat(40), approvedAt: '2026-12-01T08:30:00.000Z' });
  q.addEntry({ ...base, proposalId: 'github:octo/calc#11', title: 'Branch "x;touch /tmp/pwned" & <b>bold</b>', url: 'https://github.com/octo/calc/pull/11', approvedRevision: '1'.repeat(40), approvedAt: '2026-12-01T08:31:00.000Z' });
  // A batch of #12 and #13: the whole batch was red (run finished, a suspected-flake detail
  // with hostile text), its first half (#12 alone) is under test in a container whose name
  // the backend gave (hostile too: names are untrusted as far as the page goes).
  const b12 = q.addEntry({ ...base, proposalId: 'github:octo/calc#12', title: 'Batch member <i>one</i>', url: 'https://github.com/octo/calc/pull/12', approvedRevision: '2'.repeat(40), approvedAt: '2026-12-01T08:32:00.000Z' });
  const b13 = q.addEntry({ ...base, proposalId: 'github:octo/calc#13', title: 'Batch member two', url: 'https://github.com/octo/calc/pull/13', approvedRevision: '3'.repeat(40), approvedAt: '2026-12-01T08:33:00.000Z' });
  const whole = q.startRun({ targetKey: TARGET.key, project: 'calc', botRun: 'r3', owner: processOwner(), attempt: 1, entries: [b12.id, b13.id] });
  q.addSandbox(whole.id, { backend: 'lxd', name: 'byoci-r3-1' });
  q.updateRun(whole.id, { state: 'rejected', testMs: 42_000, trunkRevision: '4'.repeat(40), treeRevision: '5'.repeat(40), detail: `tests failed: ${HOSTILE}\u001b[2J` });
  q.setState(b13.id, 'queued', 'its batch (run 3) failed: bisecting');
  const part = q.startRun({ targetKey: TARGET.key, project: 'calc', botRun: 'r3', owner: processOwner(), attempt: 2, entries: [b12.id] });
  q.updateRun(part.id, { state: 'testing', trunkRevision: '4'.repeat(40), treeRevision: '6'.repeat(40) });
  q.addSandbox(part.id, { backend: 'lxd', name: `byoci-r3-2${HOSTILE}` });
  q.freeze({ targetKey: 'calc', reason: 'release 3.3 <soon>', by: 'vila' });
  // The flake ledger: #8's run failed test_division_by_zero; test_clock passed and failed on one tree.
  const cases = (fail: string[], pass: string[]) => [...fail.map((id) => ({ id, status: 'fail' as const })), ...pass.map((id) => ({ id, status: 'pass' as const }))];
  recordRun(db, { project: 'calc', revision: 'd1'.repeat(20), proposal: 'github:octo/calc#8', runId: 'r8', attempt: 0, exitCode: 1, cases: cases(['tests/test_calc.py::test_division_by_zero', 'tests/test_clock.py::test_tick'], ['tests/test_calc.py::test_add']) });
  recordRun(db, { project: 'calc', revision: 'd1'.repeat(20), proposal: 'github:octo/calc#8', runId: 'r8', attempt: 1, exitCode: 1, cases: cases(['tests/test_calc.py::test_division_by_zero'], ['tests/test_clock.py::test_tick']) });
  db.close();
}

describe('status page', () => {
  let dir: string;
  let brain: Brain;
  let dbPath: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'byoci-status-'));
    dbPath = join(dir, 'byoci.db');
    fill(dbPath);
    brain = await startBrain({
      config: config('http://127.0.0.1:9/'),
      storePath: dbPath,
      secrets: { github: GITHUB_SECRET, launchpad: LAUNCHPAD_SECRET, jenkinsToken: JENKINS.token },
      log: silentLogger(),
    });
  });
  after(async () => {
    await brain?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('escaping: every interpolated string, and only http(s) links', () => {
    assert.equal(esc(`<a href="x">'&'</a>`), '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
    assert.equal(safeUrl('javascript:alert(1)'), undefined);
    assert.equal(safeUrl('https://x.test/a?b=1'), 'https://x.test/a?b=1');
    const html = renderStatusPage(statusView(brain.db));
    assert.ok(!html.includes(HOSTILE), 'the hostile title is never raw HTML');
    assert.ok(html.includes(esc(HOSTILE)));
    assert.ok(!html.includes('javascript:'), 'a javascript: URL never becomes a link');
    assert.ok(!html.includes('<b>bold</b>'));
  });

  test('the JSON twin is the same data', async () => {
    const json = JSON.parse((await http(new URL('status.json', brain.url).toString())).body);
    const t = json.targets[0];
    assert.equal(t.key, TARGET.key);
    assert.deepEqual(t.queue.map((e: { proposal: string }) => e.proposal), ['github:octo/calc#9', 'github:octo/calc#10', 'github:octo/calc#11', 'github:octo/calc#12', 'github:octo/calc#13']);
    // Runs under way: #9 alone (no container said yet), #12 alone (the first half of the batch), in its container.
    assert.deepEqual(t.runs.map((r: { proposals: string[] }) => r.proposals), [['github:octo/calc#9'], ['github:octo/calc#12']]);
    assert.deepEqual(t.runs[0].sandboxes, []);
    assert.equal(t.runs[1].sandboxes[0].name, `byoci-r3-2${HOSTILE}`);
    assert.equal(t.runs[1].sandboxes[0].backend, 'lxd');
    assert.equal(t.runs[1].trunkRevision, '4'.repeat(40));
    // Recent runs, newest first: the red batch of two, then #7's landing.
    assert.deepEqual(t.recentRuns.map((r: { proposals: string[] }) => r.proposals), [['github:octo/calc#12', 'github:octo/calc#13'], ['github:octo/calc#7']]);
    assert.equal(t.recentRuns[0].state, 'rejected');
    assert.equal(t.recentRuns[0].testSeconds, 42);
    assert.equal(t.recentRuns[0].detail, `tests failed: ${HOSTILE}\u001b[2J`);
    assert.deepEqual(t.recentRuns[0].sandboxes.map((x: { name: string }) => x.name), ['byoci-r3-1']);
    assert.equal(t.queue[1].title, HOSTILE);
    assert.match(t.failures[0].reason, /test_division_by_zero/);
    assert.deepEqual(t.failures[0].failingTests, ['tests/test_calc.py::test_division_by_zero'], 'the flaky one is not blamed');
    assert.deepEqual(t.flakes.map((f: { test: string }) => f.test), ['tests/test_clock.py::test_tick']);
    assert.equal(t.landings[0].proposal, 'github:octo/calc#7');
    assert.equal(t.freeze.reason, 'release 3.3 <soon>');
    const one = await http(new URL(`target/${encodeURIComponent(TARGET.key)}.json`, brain.url).toString());
    assert.equal(one.status, 200);
    assert.equal(JSON.parse(one.body).targets.length, 1);
    const page = await http(new URL(`target/${encodeURIComponent(TARGET.key)}`, brain.url).toString());
    assert.equal(page.status, 200);
    assert.match(String(page.headers['content-security-policy']), /default-src 'none'/);
    assert.equal((await http(new URL('target/nope', brain.url).toString())).status, 404);
    const metrics = (await http(new URL('metrics', brain.url).toString())).body;
    assert.match(metrics, /^byoci_queue_length\{target="git:github.com\/octo\/calc#main"\} 5$/m);
    assert.match(metrics, /^byoci_queue_wait_seconds\{target="git:github.com\/octo\/calc#main"\} \d+(\.\d+)?$/m);
  });

  test('in Chromium: the queue in order, why the last rejected proposal was rejected, the hostile title as text; a screenshot', async (t) => {
    if (!needs(t, 'chromium', missingChromium())) return;
    const dom = await chromium(['--dump-dom', brain.url]);
    assert.equal(dom.code, 0, dom.stderr);
    const html = dom.stdout;
    assert.ok(!/<script/i.test(html), 'no script element reached the DOM');
    assert.ok(html.includes('&lt;script&gt;alert(1)&lt;/script&gt;'), 'the title is a text node');
    const text = html.replace(/<[^>]*>/g, ' ').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&amp;/g, '&').replace(/\s+/g, ' ');
    assert.match(text, /calc: main/);
    assert.match(text, /Frozen since .* by vila: release 3\.3 <soon>/);
    assert.match(text, /Queue # proposal title state .* 1 github:octo\/calc#9 Add modulo testing .* 2 github:octo\/calc#10 <script>alert\(1\)<\/script> queued .* 3 github:octo\/calc#11/);
    assert.match(text, /Taken out of the queue .* github:octo\/calc#8 Break the build .* the tests failed: test_division_by_zero \(tests\/test_calc\.py\)/);
    assert.match(text, /Last landings .* github:octo\/calc#7 Faster parser/);
    assert.match(text, /failing tests .* tests\/test_calc\.py::test_division_by_zero/);
    assert.match(text, /Flaky tests .* tests\/test_clock\.py::test_tick 1 1/);
    // Batches and where they run: the part under test with its container, the red batch with its members.
    assert.match(text, /Running run proposals step attempt since container over trunk tree .* run 4 github:octo\/calc#12 testing 2 .* lxd byoci-r3-2<script>alert\(1\)<\/script> 444444444444 666666666666/);
    assert.match(text, /Recent runs \(batches and their bisection, newest first\) .* run 3 batch of 2 github:octo\/calc#12 github:octo\/calc#13 rejected .* 42 s lxd byoci-r3-1 555555555555 tests failed: <script>alert\(1\)<\/script>/);
    assert.ok(!html.includes('<i>one</i>'), 'a title with markup is text');
    const png = join(dir, 'status.png');
    const shot = await chromium([`--screenshot=${png}`, '--window-size=1280,1600', '--hide-scrollbars', brain.url]);
    assert.equal(shot.code, 0, shot.stderr);
    assert.ok(existsSync(png) && statSync(png).size > 10_000, 'a real screenshot');
    assert.deepEqual([...readFileSync(png).subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    if (process.env.BYOCI_SCREENSHOT_DIR) copyFileSync(png, join(process.env.BYOCI_SCREENSHOT_DIR, 'brain-status.png'));
  });

  test('byoci status --html writes the same page as a static file', async () => {
    const conf = join(dir, 'byoci.yaml');
    writeFileSync(conf, `store: { path: ${JSON.stringify(dbPath)} }\nprojects: {}\n`);
    const out = join(dir, 'static.html');
    const r = await byoci(['--config', conf, 'status', '--html', out]);
    assert.equal(r.code, 0, r.stderr);
    const html = readFileSync(out, 'utf8');
    assert.match(html, /^<!DOCTYPE html>/);
    assert.ok(html.includes(esc(HOSTILE)) && !html.includes(HOSTILE));
    assert.match(html, /test_division_by_zero/);
    assert.ok(html.includes(esc(`byoci-r3-2${HOSTILE}`)), 'the container name, escaped');
    // byoci queue (text) shows the same runs; a control character in untrusted text is shown, not sent.
    const queue = await byoci(['--config', conf, 'queue']);
    assert.equal(queue.code, 0, queue.stderr);
    assert.match(queue.stdout, /^ {4}run 4, github:octo\/calc#12, since .*, step testing, attempt 2, on lxd byoci-r3-2<script>alert\(1\)<\/script>, over 444444444444, tree 666666666666$/m);
    assert.match(queue.stdout, /^ {4}run 3, batch of 2 \(github:octo\/calc#12, github:octo\/calc#13\), rejected at .*, tests 42s, attempt 1, on lxd byoci-r3-1, over 444444444444, tree 555555555555: tests failed: <script>alert\(1\)<\/script>\\u001b\[2J$/m);
    assert.match(queue.stdout, /^ {6}under test since \S+ \(\d+s, run 4, attempt 2, on lxd byoci-r3-2<script>alert\(1\)<\/script>\)$/m);
    assert.ok(!queue.stdout.includes('\u001b'), 'no escape character reaches the terminal');
    const queueJson = JSON.parse((await byoci(['--config', conf, '--json', 'queue'])).stdout);
    assert.deepEqual(queueJson.targets[0].running.map((r: { id: number }) => r.id), [2, 4]);
    assert.deepEqual(queueJson.targets[0].entries.find((e: { proposal: string }) => e.proposal === 'github:octo/calc#12').runs, [3, 4]);
    const json = await byoci(['--config', conf, '--json', 'status']);
    assert.equal(json.code, 0, json.stderr);
    assert.equal(JSON.parse(json.stdout).targets[0].key, TARGET.key);
  });
});
