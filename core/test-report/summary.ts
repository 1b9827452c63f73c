/**
 * Reads the JUnit XML and subunit v2 reports among a run's artefacts into a TestSummary,
 * and words it for a rejection ("3 of 920 failed: a, b, c (and 2 more)").
 * Reports are recognised by content, not name: an XML file whose root is `testsuites` or
 * `testsuite`, or a file starting with a subunit v2 packet (or named `*.subunit`). A file in a directory is
 * searched too (artefacts may be directories such as `reports/`).
 */
import { open, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { TestSummary } from '../../hooks/types.js';
import { matchesAny } from '../glob.js';
import { lastStatusById, type TestCase } from './cases.js';
import { looksLikeJunit, parseJunit, ReportError } from './junit.js';
import { looksLikeSubunit, parseSubunit } from './subunit.js';

/** Largest report read (bytes); bigger files are skipped with a warning. */
export const MAX_REPORT_BYTES = 64 * 1024 * 1024;
/** Most failing ids kept in a summary. */
export const MAX_FAILURES = 10_000;
/** Files looked at under one artefact directory. */
const MAX_FILES = 1000;

export interface ReadReport {
  file: string;
  cases: TestCase[];
}

async function filesUnder(path: string, out: string[]): Promise<void> {
  if (out.length >= MAX_FILES) return;
  const info = await stat(path).catch(() => undefined);
  if (!info) return;
  if (info.isFile()) {
    out.push(path);
    return;
  }
  if (!info.isDirectory()) return;
  for (const name of (await readdir(path)).sort()) await filesUnder(join(path, name), out);
}

async function head(file: string, bytes: number): Promise<Buffer> {
  const handle = await open(file, 'r');
  try {
    const buf = Buffer.alloc(bytes);
    const { bytesRead } = await handle.read(buf, 0, bytes, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/**
 * The reports among `artefacts` with their cases. `warn` hears about files that look like
 * a report but cannot be read (too large, malformed): they are skipped, not fatal.
 */
export async function readReports(artefacts: readonly string[], warn: (message: string, file: string) => void = () => {}): Promise<ReadReport[]> {
  const files: string[] = [];
  for (const a of artefacts) await filesUnder(a, files);
  const out: ReadReport[] = [];
  for (const file of files) {
    const start = await head(file, 4096).catch(() => undefined);
    if (!start) continue;
    // A subunit stream may start with stray output: its name then says what it is.
    const subunit = looksLikeSubunit(start) || (file.endsWith('.subunit') && start.includes(0xb3));
    const junit = !subunit && looksLikeJunit(start.toString('utf8'));
    if (!subunit && !junit) continue;
    const size = (await stat(file)).size;
    if (size > MAX_REPORT_BYTES) {
      warn(`test report larger than ${MAX_REPORT_BYTES} bytes: not read`, file);
      continue;
    }
    const data = await head(file, size);
    try {
      out.push({ file, cases: subunit ? parseSubunit(data) : parseJunit(data.toString('utf8')) });
    } catch (error) {
      if (!(error instanceof ReportError)) throw error;
      warn(`test report not readable: ${error.message}`, file);
    }
  }
  return out;
}

/** Sums reports into a summary; undefined when there is no report. */
export function summarise(reports: readonly ReadReport[], quarantine: readonly string[] = []): TestSummary | undefined {
  if (reports.length === 0) return undefined;
  const statuses = lastStatusById(reports.flatMap((r) => r.cases));
  const isQuarantined = matchesAny(quarantine);
  let failed = 0;
  let skipped = 0;
  const failures: string[] = [];
  const quarantined: string[] = [];
  for (const [id, status] of statuses) {
    if (status === 'skip') skipped++;
    if (status !== 'fail') continue;
    failed++;
    if (failures.length < MAX_FAILURES) {
      failures.push(id);
      if (isQuarantined(id)) quarantined.push(id);
    }
  }
  return { total: statuses.size, failed, skipped, failures, quarantined, reports: reports.map((r) => r.file) };
}

/** Reads and sums the reports among `artefacts`. */
export async function summariseArtefacts(
  artefacts: readonly string[],
  quarantine: readonly string[] = [],
  warn?: (message: string, file: string) => void,
): Promise<{ summary: TestSummary | undefined; reports: ReadReport[] }> {
  const reports = await readReports(artefacts, warn);
  return { summary: summarise(reports, quarantine), reports };
}

/** "3 of 920 failed: a, b, c (and 2 more)"; the first `max` ids are named. */
export function describeFailures(summary: TestSummary, max = 10): string {
  const named = summary.failures.slice(0, max);
  const more = summary.failed - named.length;
  return `${summary.failed} of ${summary.total} failed: ${named.join(', ')}${more > 0 ? ` (and ${more} more)` : ''}`;
}
