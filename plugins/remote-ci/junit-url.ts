/**
 * A JUnit XML report at a URL (a CI that publishes its reports as files): 404 means not
 * published yet; otherwise green when no case failed, red naming the failed ids.
 */
import type { z as Z } from 'zod';
import { parseJunit } from '../../core/index.js';
import type { junitSite } from './config.js';
import { RemoteError, expectOk, request } from './http.js';
import type { ReadContext, RemoteResult } from './results.js';

type JunitSite = Z.output<typeof junitSite>;

export async function readJunit(site: JunitSite, sha: string, ctx: ReadContext): Promise<RemoteResult[]> {
  const url = site.url.replaceAll('{revision}', encodeURIComponent(sha));
  const answer = await request(url, { headers: { accept: 'application/xml, text/xml, */*', 'user-agent': 'byoci' } }, ctx.limits);
  if (answer.status === 404) return [];
  expectOk(answer);
  let cases;
  try {
    cases = parseJunit(answer.body);
  } catch (error) {
    throw new RemoteError(`${url}: not a JUnit report: ${(error as Error).message}`, answer.status);
  }
  const last = new Map(cases.map((c) => [c.id, c.status]));
  const failed = [...last].filter(([, s]) => s === 'fail').map(([id]) => id);
  const shown = failed.slice(0, 10);
  const words = `${failed.length} of ${last.size} failed${shown.length ? `: ${shown.join(', ')}${failed.length > shown.length ? ` (and ${failed.length - shown.length} more)` : ''}` : ''}`;
  return [{ name: 'junit', state: failed.length ? 'failure' : 'success', result: words, url, ...(failed.length ? { detail: words } : {}) }];
}
