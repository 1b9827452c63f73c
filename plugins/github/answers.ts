/**
 * What byoci reads from GitHub's REST answers, as zod schemas keyed by route: the client
 * checks every answer before any code uses it, so a junk answer (an HTML page with status
 * 200, `null` for a pull request, a review without its state) is a ForgeAnswerError naming
 * the route and what was expected, never a rejection, a comment or a raw JavaScript
 * message. Only the fields the plugin reads are listed; the rest passes through.
 */
import { z } from 'zod';
import { describeIssue } from '../../core/index.js';

const user = z.object({ login: z.string() }).passthrough().nullable();
const repo = z.object({ full_name: z.string(), ssh_url: z.string(), clone_url: z.string() }).passthrough();

const pull = z
  .object({
    number: z.number().int().positive(),
    title: z.string(),
    body: z.string().nullish(),
    html_url: z.string(),
    draft: z.boolean().nullish(),
    labels: z.array(z.object({ name: z.string() }).passthrough()),
    head: z.object({ sha: z.string(), ref: z.string(), repo: repo.nullable() }).passthrough(),
    base: z.object({ ref: z.string(), repo }).passthrough(),
  })
  .passthrough();

const review = z.object({ user, state: z.string(), commit_id: z.string().nullish() }).passthrough();
const comment = z.object({ id: z.number(), user, body: z.string().nullish(), created_at: z.string() }).passthrough();
const event = z
  .object({ id: z.number(), event: z.string(), actor: user.optional(), created_at: z.string(), label: z.object({ name: z.string() }).passthrough().nullish() })
  .passthrough();
const status = z.object({ context: z.string(), state: z.string(), description: z.string().nullish(), target_url: z.string().nullish() }).passthrough();

/** Route patterns (method, path of the template or of a next-page URL) and their answers. */
export const ANSWERS: ReadonlyArray<{ method: string; path: RegExp; what: string; schema: z.ZodTypeAny; list: boolean }> = [
  { method: 'GET', path: /\/pulls$/, what: 'a list of pull requests', schema: z.array(pull), list: true },
  { method: 'GET', path: /\/pulls\/[^/]+\/reviews$/, what: 'a list of reviews', schema: z.array(review), list: true },
  { method: 'GET', path: /\/issues\/[^/]+\/comments$/, what: 'a list of comments', schema: z.array(comment), list: true },
  { method: 'GET', path: /\/issues\/[^/]+\/events$/, what: 'a list of issue events', schema: z.array(event), list: true },
  {
    method: 'GET',
    path: /\/collaborators\/[^/]+\/permission$/,
    what: 'a permission',
    schema: z.object({ permission: z.string(), role_name: z.string().nullish() }).passthrough(),
    list: false,
  },
  { method: 'GET', path: /\/commits\/[^/]+\/statuses$/, what: 'a list of commit statuses', schema: z.array(status), list: true },
  {
    method: 'GET',
    path: /^(\/repos\/[^/]+\/[^/]+|\/repos\/\{owner\}\/\{repo\})$/,
    what: 'a repository',
    schema: z.object({ default_branch: z.string(), permissions: z.object({ push: z.boolean() }).passthrough().nullish() }).passthrough(),
    list: false,
  },
];

/** The answer a request is checked against, by its method and URL (template or absolute). */
export function answerFor(method: string, url: string): (typeof ANSWERS)[number] | undefined {
  const path = /^https?:\/\//.test(url) ? new URL(url).pathname.replace(/^\/api\/v3(?=\/)/, '') : url.split('?')[0]!;
  return ANSWERS.find((a) => a.method === method && a.path.test(path));
}

export function answerProblem(error: z.ZodError): string {
  const issue = error.issues[0]!;
  const path = issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${p}`)).join('').replace(/^\./, '');
  return `${path ? `${path}: ` : ''}${describeIssue(issue)}`;
}
