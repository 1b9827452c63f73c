/**
 * byoci-mail-reporter: mails each landing outcome (landed, rejected, error) through an SMTP
 * server, with nodemailer. Written against byoci's public API only (plugin API version 1).
 *
 *   plugins:
 *     byoci-mail-reporter: { host: smtp.example.org, port: 587, from: lander@example.org, to: [dev@example.org] }
 *   byoci secrets set mail/password      # optional: SMTP AUTH as `user`
 */
import nodemailer from 'nodemailer';
import { definePlugin, z } from 'byoci';

const EVENTS = ['started', 'landed', 'rejected', 'error'];

/** One line, no control characters: proposal titles are untrusted text. */
const oneLine = (text) => text.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim().slice(0, 200);

/** Subject and body of the mail for an outcome. */
export function messageOf(outcome) {
  const { proposal } = outcome;
  const what = { started: 'landing', landed: 'landed', rejected: 'rejected', error: 'error' }[outcome.kind];
  const subject = `[byoci] ${what}: ${oneLine(proposal.title)} (${proposal.id})`;
  const lines = [`Proposal: ${proposal.url}`, `Project: ${outcome.project.name}`, `Target: ${proposal.target.url} ${proposal.target.branch}`.trimEnd()];
  if (outcome.kind === 'landed') lines.push(`Landed as ${outcome.revision}.`);
  if (outcome.kind === 'rejected') lines.push('', outcome.rejection.reason, ...(outcome.rejection.details ? ['', outcome.rejection.details] : []));
  if (outcome.kind === 'error') lines.push('', `byoci hit an internal error: ${outcome.message}`);
  if (outcome.buildUrl) lines.push('', `Build: ${outcome.buildUrl}`);
  return { subject, text: `${lines.join('\n')}\n` };
}

export default definePlugin({
  name: 'mail',
  description: 'Mails each landing outcome through an SMTP server',
  apiVersion: 1,
  config: z
    .object({
      host: z.string().min(1),
      port: z.number().int().positive().default(587),
      /** TLS from the start (port 465); otherwise STARTTLS when the server offers it. */
      secure: z.boolean().default(false),
      user: z.string().min(1).optional(),
      from: z.string().email(),
      to: z.array(z.string().email()).min(1),
      events: z.array(z.enum(EVENTS)).default(['landed', 'rejected', 'error']),
    })
    .strict(),
  secrets: { password: { description: 'SMTP password of `user`', required: false } },
  apply(hooks, api) {
    let transport;
    hooks.report.tapPromise(async (outcome, { signal }) => {
      if (!api.config.events.includes(outcome.kind)) return;
      const { host, port, secure, user, from, to } = api.config;
      const password = api.secrets.get('password');
      transport ??= nodemailer.createTransport({ host, port, secure, ...(user && password ? { auth: { user, pass: password } } : {}) });
      const { subject, text } = messageOf(outcome);
      const send = transport.sendMail({ from, to, subject: api.redact(subject), text: api.redact(text) });
      const aborted = new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true }));
      const info = await Promise.race([send, aborted]);
      api.log.info('outcome mailed', { proposal: outcome.proposal.id, kind: outcome.kind, to: to.join(', '), id: info.messageId });
    });
    hooks.shutdown.tapPromise(async () => {
      transport?.close();
      transport = undefined;
    });
  },
});
