/**
 * One test case as a report states it, whatever the format. `fail` covers JUnit's
 * failure and error and subunit's fail and uxsuccess; `pass` covers subunit's xfail.
 */
export type CaseStatus = 'pass' | 'fail' | 'skip';

export interface TestCase {
  id: string;
  status: CaseStatus;
}

/** Longest test id kept; longer ones are cut (ids are untrusted text from the tested tree). */
export const MAX_ID_LENGTH = 300;

/** A test id made safe to print: no control characters, bounded length, trimmed. */
export function cleanId(raw: string): string {
  // eslint-disable-next-line no-control-regex
  const flat = raw.replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ').trim();
  return flat.length > MAX_ID_LENGTH ? `${flat.slice(0, MAX_ID_LENGTH - 1)}…` : flat;
}

/**
 * Folds repeated reports of one id (a subunit stream reports inprogress then the result;
 * a rerun inside one report) into its last decisive status.
 */
export function lastStatusById(cases: readonly TestCase[]): Map<string, CaseStatus> {
  const out = new Map<string, CaseStatus>();
  for (const c of cases) out.set(c.id, c.status);
  return out;
}
