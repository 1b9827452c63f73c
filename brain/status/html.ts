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

function queueRows(queue: QueueEntryView[]): string[][] {
  return queue.map((e) => [
    esc(e.position),
    link(e.id, e.url),
    esc(e.title),
    `<span class="state state-${esc(e.state.replace(/[^a-z-]/gi, ''))}">${esc(e.state)}</span>`,
    esc(e.reason ?? ''),
    esc(e.since ?? ''),
  ]);
}

function runRows(runs: RunView[]): string[][] {
  return runs.map((r) => [link(r.id, r.buildUrl), esc(r.proposals.join(', ')), esc(r.containers.join(', ')), esc(r.since)]);
}

function landingRows(landings: LandingView[]): string[][] {
  return landings.map((l) => [link(l.proposal, l.url), esc(l.title), esc(l.landedAt), esc(duration(l.durationSeconds)), link(l.revision?.slice(0, 12) ?? '', l.buildUrl)]);
}

function failureRows(failures: FailureView[]): string[][] {
  return failures.map((f) => [
    link(f.proposal, f.url),
    esc(f.title),
    esc(f.at),
    esc(f.reason),
    f.failingTests.length ? `<ul>${f.failingTests.map((t) => `<li><code>${esc(t)}</code></li>`).join('')}</ul>` : '',
    f.buildUrl ? link('build', f.buildUrl) : '',
  ]);
}

function target(t: TargetView): string {
  const freeze = t.frozen ? `<p class="frozen"><strong>Frozen</strong>${t.freezeReason ? `: ${esc(t.freezeReason)}` : ''}</p>` : '<p class="open">Open: landing.</p>';
  return [
    `<section id="target-${esc(t.name)}">`,
    `<h2>${esc(t.name)}</h2>`,
    freeze,
    table('Queue', ['#', 'proposal', 'title', 'state', 'reason', 'since'], queueRows(t.queue), 'Nothing queued.'),
    table('Running', ['run', 'proposals', 'containers', 'since'], runRows(t.runs), 'Nothing running.'),
    table('Last landings', ['proposal', 'title', 'landed', 'took', 'revision'], landingRows(t.landings), 'No landing yet.'),
    table('Failures', ['proposal', 'title', 'when', 'why', 'failing tests', 'link'], failureRows(t.failures), 'No failure.'),
    table(
      'Flaky tests',
      ['test', 'flaky runs', 'runs', 'last seen'],
      t.flakes.map((f) => [`<code>${esc(f.test)}</code>`, esc(f.flakes), esc(f.runs), esc(f.lastSeen ?? '')]),
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
      esc(t.createdAt),
      esc(t.lastError ?? ''),
    ]),
    'No trigger yet.',
  );
}

const STYLE = `body{font-family:sans-serif;margin:1em 2em;color:#222}table{border-collapse:collapse;margin-bottom:1em}
th,td{border:1px solid #bbb;padding:.2em .5em;text-align:left;vertical-align:top}th{background:#eee}
.frozen{color:#a00}.empty{color:#666}.state-rejected{color:#a00}.state-landed{color:#060}code{white-space:pre-wrap}`;

export function renderStatusPage(view: StatusView, title = 'byoci status'): string {
  const body = [
    `<h1>${esc(title)}</h1>`,
    `<p>Generated ${esc(view.generatedAt)}. ${esc(view.deliveries)} webhook deliveries journaled. JSON: <a href="status.json">status.json</a>.</p>`,
    view.queueAvailable ? '' : '<p class="empty">The landing queue is not in this store yet: no queue to show.</p>',
    ...view.targets.map(target),
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
