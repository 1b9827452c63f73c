/**
 * The status page: plain server-rendered HTML, readable without JavaScript and without any
 * external resource. Every interpolated value goes through `esc()`; links only keep
 * http(s) URLs. The same renderer writes `byoci status --html FILE`.
 */
import type { FailureView, LandingView, QueueEntryView, RunView, StatusView, TargetView, TriggerView } from './view.js';

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** HTML-escapes text for element content and quoted attribute values. */
export function esc(value: unknown): string {
  return String(value ?? '').replace(/[&<>"']/g, (c) => ENTITIES[c] as string);
}

/** An http(s) URL, or undefined (a `javascript:` link never reaches the page). */
export function safeUrl(url: string | undefined): string | undefined {
  if (!url) return undefined;
  try {
    const u = new URL(url);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.toString() : undefined;
  } catch {
    return undefined;
  }
}

function link(text: string, url: string | undefined): string {
  const href = safeUrl(url);
  return href ? `<a href="${esc(href)}">${esc(text)}</a>` : esc(text);
}

function duration(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds)) return '';
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

function table(caption: string, head: string[], rows: string[][], empty: string): string {
  if (!rows.length) return `<h3>${esc(caption)}</h3>\n<p class="empty">${esc(empty)}</p>`;
  return [
    `<h3>${esc(caption)}</h3>`,
    '<table>',
    `<thead><tr>${head.map((h) => `<th scope="col">${esc(h)}</th>`).join('')}</tr></thead>`,
    '<tbody>',
    ...rows.map((cells) => `<tr>${cells.map((c) => `<td>${c}</td>`).join('')}</tr>`),
    '</tbody>',
    '</table>',
  ].join('\n');
}

function since(at: string | undefined): string {
  return at ? `<time datetime="${esc(at)}">${esc(at.replace('T', ' ').replace(/\.\d+Z$/, 'Z'))}</time>` : '';
}

function queueRows(queue: QueueEntryView[]): string[][] {
  return queue.map((e) => [
    esc(e.position),
    link(e.proposal, e.url),
    esc(e.title),
    `<span class="state state-${esc(e.state.replace(/[^a-z-]/gi, ''))}">${esc(e.state)}</span>`,
    esc(e.reason ?? ''),
    since(e.underTestSince ?? e.since),
    esc(e.priority),
    esc(e.attempts),
  ]);
}

function members(r: RunView): string {
  const list = `<ul class="members">${r.proposals.map((p) => `<li>${esc(p)}</li>`).join('')}</ul>`;
  return r.proposals.length > 1 ? `batch of ${esc(r.proposals.length)}${list}` : list;
}

function sandboxCell(r: RunView): string {
  if (!r.sandboxes.length) return '<span class="empty">not yet</span>';
  return r.sandboxes.map((x) => `<code class="sandbox">${esc(x.backend)} ${esc(x.name)}</code>`).join('<br>');
}

function runRows(runs: RunView[]): string[][] {
  return runs.map((r) => [
    esc(`run ${r.id}`),
    members(r),
    esc(r.step ?? r.state) + (r.dead ? ' <strong class="dead">(its bot is dead: the next run buries it)</strong>' : ''),
    esc(r.attempt),
    since(r.since),
    sandboxCell(r),
    `<code>${esc(r.trunkRevision?.slice(0, 12) ?? '')}</code>`,
    `<code>${esc(r.treeRevision?.slice(0, 12) ?? '')}</code>`,
  ]);
}

function recentRunRows(runs: RunView[]): string[][] {
  return runs.map((r) => [
    esc(`run ${r.id}`),
    members(r),
    `<span class="state state-${esc(r.state.replace(/[^a-z-]/gi, ''))}">${esc(r.state)}</span>`,
    since(r.since),
    since(r.finishedAt),
    esc(duration(r.testSeconds)),
    sandboxCell(r),
    `<code>${esc(r.treeRevision?.slice(0, 12) ?? '')}</code>`,
    esc(r.detail ?? ''),
  ]);
}

function landingRows(landings: LandingView[]): string[][] {
  return landings.map((l) => [
    esc(l.proposal),
    esc(l.title),
    since(l.landedAt),
    esc(duration(l.waitedSeconds)),
    esc(duration(l.landingSeconds)),
    esc(duration(l.testSeconds)),
    `<code>${esc(l.revision?.slice(0, 12) ?? '')}</code>`,
  ]);
}

function failureRows(failures: FailureView[]): string[][] {
  return failures.map((f) => [
    link(f.proposal, f.url),
    esc(f.title),
    since(f.at),
    `<span class="reason">${esc(f.reason)}</span>${f.runs.length ? ` <span class="runs">(${esc(f.runs.length > 1 ? 'runs' : 'run')} ${esc(f.runs.join(', '))})</span>` : ''}`,
    f.failingTests.length ? `<ul>${f.failingTests.map((t) => `<li><code>${esc(t)}</code></li>`).join('')}</ul>` : '',
    f.links.map((l) => link(l.text, l.url)).join(' '),
  ]);
}

function freezeLine(t: TargetView): string {
  if (!t.freeze) return '<p class="open">Open: proposals land in this order.</p>';
  const f = t.freeze;
  return `<p class="frozen"><strong>Frozen</strong> since ${since(f.since)} by ${esc(f.by)}: ${esc(f.reason)}${f.below ? ` (only ${esc(f.below)} and above land)` : ''}</p>`;
}

function leaseLine(t: TargetView): string {
  if (!t.lease) return '<p>No bot is landing on this target now.</p>';
  const l = t.lease;
  return `<p>${l.alive ? 'Landing now' : 'Stale lease (its process is gone)'}: ${esc(l.holder)} on ${esc(l.host)} (pid ${esc(l.pid)}) since ${since(l.since)}.</p>`;
}

export function targetSection(t: TargetView, linkToPage = true): string {
  const page = `target/${encodeURIComponent(t.key)}`;
  return [
    `<section id="${esc(`target-${t.key}`)}">`,
    `<h2>${esc(t.project)}: ${esc(t.branch || t.url)}</h2>`,
    `<p class="key"><code>${esc(t.key)}</code>${linkToPage ? ` · <a href="${esc(page)}">this target only</a> · <a href="${esc(page)}.json">JSON</a>` : ''}</p>`,
    freezeLine(t),
    leaseLine(t),
    table('Queue', ['#', 'proposal', 'title', 'state', 'waiting for / reason', 'since', 'priority', 'attempts'], queueRows(t.queue), 'Nothing queued.'),
    table('Running', ['run', 'proposals', 'step', 'attempt', 'since', 'container', 'over trunk', 'tree'], runRows(t.runs), 'Nothing under test.'),
    table('Last landings', ['proposal', 'title', 'landed', 'waited', 'landing took', 'tests took', 'revision'], landingRows(t.landings), 'No landing yet.'),
    table('Taken out of the queue', ['proposal', 'title', 'when', 'why', 'failing tests', 'links'], failureRows(t.failures), 'Nothing taken out.'),
    table(
      'Recent runs (batches and their bisection, newest first)',
      ['run', 'proposals', 'result', 'started', 'ended', 'tests took', 'container', 'tree', 'detail'],
      recentRunRows(t.recentRuns),
      'No finished run yet.',
    ),
    table(
      'Flaky tests',
      ['test', 'flaky runs', 'runs', 'last seen'],
      t.flakes.map((f) => [`<code>${esc(f.test)}</code>`, esc(f.flakes), esc(f.runs), since(f.lastSeen)]),
      'No flaky test recorded.',
    ),
    '</section>',
  ].join('\n');
}

function triggers(list: TriggerView[]): string {
  return table(
    'Jenkins triggers (most recent first)',
    ['decision', 'rule', 'job', 'state', 'events', 'attempts', 'created', 'last error'],
    list.map((t) => [
      link(t.id.slice(0, 8), t.buildUrl ?? t.queueUrl),
      esc(t.rule),
      esc(t.job),
      esc(t.state),
      esc(t.events),
      esc(t.attempts),
      since(t.createdAt),
      esc(t.lastError ?? ''),
    ]),
    'No trigger yet.',
  );
}

const STYLE = `body{font-family:sans-serif;margin:1em 2em;color:#222}table{border-collapse:collapse;margin-bottom:1em}
th,td{border:1px solid #bbb;padding:.2em .5em;text-align:left;vertical-align:top}th{background:#eee}
.frozen{color:#a00}.empty{color:#666}.dead{color:#a00}ul.members{margin:0;padding-left:1.2em}.state-rejected{color:#a00}.state-landed{color:#060}code{white-space:pre-wrap}`;

export interface RenderOptions {
  title?: string;
  /** Relative path of the page's JSON twin. */
  json?: string;
  /** Link each target to its own page (not in a one-target page). */
  targetLinks?: boolean;
}

export function renderStatusPage(view: StatusView, options: RenderOptions = {}): string {
  const title = options.title ?? 'byoci status';
  const unseen = view.freezes.filter((f) => !view.targets.some((t) => t.key === f.target || t.project === f.target));
  const body = [
    `<h1>${esc(title)}</h1>`,
    `<p>Generated ${since(view.generatedAt)}. ${esc(view.deliveries)} webhook deliveries journaled. <a href="${esc(options.json ?? 'status.json')}">JSON</a>.</p>`,
    view.targets.length ? '' : '<p class="empty">No target has been seen by a land run yet.</p>',
    ...unseen.map((f) => `<p class="frozen"><strong>${esc(f.target)} is frozen</strong>: ${esc(f.reason)}</p>`),
    ...view.targets.map((t) => targetSection(t, options.targetLinks ?? true)),
    '<section id="brain">',
    '<h2>Brain</h2>',
    triggers(view.triggers),
    '</section>',
  ];
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>${esc(title)}</title>
<style>${STYLE}</style>
</head>
<body>
${body.filter(Boolean).join('\n')}
</body>
</html>
`;
}
