/**
 * byoci-webhook-reporter: POSTs each landing outcome as JSON to a configured URL, signed
 * with HMAC-SHA256 (header `X-Byoci-Signature-256: sha256=<hex>` over the exact body).
 * Written against byoci's public API only (`byoci`, plugin API version 1).
 *
 *   plugins:
 *     byoci-webhook-reporter: { url: https://hooks.example.org/byoci, events: [landed, rejected] }
 *   byoci secrets set webhook/hmac-key
 */
import { createHmac } from 'node:crypto';
import { definePlugin, z } from 'byoci';

const EVENTS = ['started', 'landed', 'rejected', 'error'];

/** What the receiver gets: the outcome without the project's test spec or test output. */
export function payloadOf(outcome) {
  const { proposal } = outcome;
  return {
    kind: outcome.kind,
    project: outcome.project.name,
    proposal: { id: proposal.id, forge: proposal.forge, url: proposal.url, title: proposal.title },
    target: proposal.target,
    ...(outcome.kind === 'landed' ? { revision: outcome.revision } : {}),
    ...(outcome.kind === 'rejected' ? { rejection: { code: outcome.rejection.code, reason: outcome.rejection.reason } } : {}),
    ...(outcome.kind === 'error' ? { message: outcome.message } : {}),
    ...(outcome.buildUrl ? { buildUrl: outcome.buildUrl } : {}),
  };
}

/** The signature header's value for `body` (what a receiver recomputes and compares). */
export function sign(key, body) {
  return `sha256=${createHmac('sha256', key).update(body).digest('hex')}`;
}

export default definePlugin({
  name: 'webhook',
  description: 'POSTs each landing outcome as JSON, signed with HMAC-SHA256',
  apiVersion: 1,
  config: z
    .object({
      url: z.string().url(),
      events: z.array(z.enum(EVENTS)).default(['landed', 'rejected', 'error']),
      timeout: z.number().positive().default(10),
    })
    .strict(),
  secrets: { 'hmac-key': { description: 'shared key of the HMAC-SHA256 signature' } },
  apply(hooks, api) {
    hooks.report.tapPromise(async (outcome, { signal }) => {
      if (!api.config.events.includes(outcome.kind)) return;
      const body = api.redact(JSON.stringify(payloadOf(outcome)));
      const response = await fetch(api.config.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-byoci-event': outcome.kind,
          'x-byoci-signature-256': sign(api.secrets.require('hmac-key'), body),
        },
        body,
        signal: AbortSignal.any([signal, AbortSignal.timeout(api.config.timeout * 1000)]),
      });
      if (!response.ok) throw new Error(`${api.config.url} answered ${response.status} ${response.statusText}`);
      api.log.info('outcome posted', { proposal: outcome.proposal.id, kind: outcome.kind, status: response.status });
    });
  },
});
