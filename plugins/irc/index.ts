/**
 * irc: announces outcomes (landed, rejected, tests failed, internal error; `started` on
 * request) in each project's IRC channels. A reporter: it never changes an outcome, and
 * an unreachable server costs a landing at most `timeout`.
 */
import { definePlugin } from '../../core/index.js';
import { ircCommands } from './cli.js';
import { ircConfig, portOf } from './config.js';
import { createReporter } from './reporter.js';

export const NAME = 'irc';

export default definePlugin({
  name: NAME,
  description: 'Announces landings, rejections and errors in IRC channels',
  config: ircConfig,
  secrets: {
    password: { description: 'Password for SASL, NickServ or the server (see `auth`)', required: false },
  },
  commands: ircCommands,
  apply(hooks, api) {
    const { config } = api;
    const reporter = createReporter({
      config,
      get password() {
        return api.secrets.get('password');
      },
      log: api.log,
      buildUrl: api.run.buildUrl,
      redact: (text) => api.redact(text),
    });

    hooks.verify.tapPromise(async (payload) => {
      if (config.auth !== 'none' && !api.secrets.get('password')) {
        payload.problems.push({
          source: NAME,
          message: `auth is ${config.auth} but the secret ${NAME}/password is not set`,
          hint: `byoci secrets set ${NAME}/password, or set plugins.${NAME}.auth to none`,
        });
      }
      const projects = new Set(payload.projects.map((p) => p.name));
      config.channels.forEach((route, index) => {
        for (const name of route.projects ?? []) {
          if (!projects.has(name)) {
            payload.problems.push({
              source: NAME,
              message: `plugins.${NAME}.channels.${index}.projects names ${JSON.stringify(name)}, which is not a configured project`,
              hint: `configured projects: ${[...projects].join(', ') || 'none'}`,
            });
          }
        }
      });
      payload.notes.push({
        source: NAME,
        message: `announces ${config.events.join(', ')} on ${config.server}:${portOf(config)}${config.tls ? ' (TLS)' : ''} in ${config.channels.map((c) => c.channel).join(', ')}`,
      });
    });

    hooks.report.tapPromise((outcome) => reporter.report(outcome));

    hooks.shutdown.tapPromise(() => reporter.close());
  },
});
