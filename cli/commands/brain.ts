import type { Command } from 'commander';
import { ConfigError, type ConfigProblem } from '../../core/errors.js';
import { QueueStore, openQueueStore, storePath as storePathOf, syncConfigFreezes } from '../../core/queue/index.js';
import { TESTS_MIGRATIONS } from '../../core/test-report/index.js';
import {
  BRAIN_MIGRATIONS,
  BRAIN_SECRETS,
  BrainStartupError,
  bindBrain,
  brainConfigSchema,
  checkStoreWritable,
  dropPrivileges,
  resolveAccount,
  startBrain,
  type BrainConfig,
} from '../../brain/index.js';
import { unknownFields, PARAM_FIELDS } from '../../brain/rules.js';
import { lookupSecret } from '../../secrets/index.js';
import { action, type Runtime } from '../context.js';

/** The validated `brain:` section, or a ConfigError listing every problem. */
export function brainSettings(rt: Runtime): BrainConfig {
  const raw = rt.config.settings.brain;
  if (raw === undefined) {
    throw new ConfigError([{ ...rt.config.locate(['brain']), path: 'brain', message: 'not configured: set brain.jenkins (url, user) and brain.rules (see README, "Brain")' }]);
  }
  const parsed = brainConfigSchema.safeParse(raw);
  const problems: ConfigProblem[] = [];
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const keys = issue.code === 'unrecognized_keys' ? issue.keys.map((k) => [...issue.path, k]) : [issue.path];
      for (const path of keys) {
        const full = ['brain', ...path];
        problems.push({ ...rt.config.locate(full), path: full.join('.'), message: issue.code === 'unrecognized_keys' ? 'unknown option' : issue.message });
      }
    }
    throw new ConfigError(problems);
  }
  parsed.data.rules.forEach((rule, i) => {
    for (const name of unknownFields(rule)) {
      const path = ['brain', 'rules', i, 'params'];
      problems.push({ ...rt.config.locate(path), path: path.join('.'), message: `\${${name}} is not an event field (known: ${PARAM_FIELDS.join(', ')})` });
    }
  });
  if (problems.length) throw new ConfigError(problems);
  return parsed.data;
}

/** Opens the shared store (store.path) with the queue's and the brain's tables; syncs config freezes. */
export function openBrainStore(rt: Runtime): { db: ReturnType<typeof openQueueStore>['db']; path: string } {
  const opened = openQueueStore(rt.config, { migrations: [...TESTS_MIGRATIONS, ...BRAIN_MIGRATIONS] });
  syncConfigFreezes(new QueueStore(opened.db), rt.config.settings.queue);
  return opened;
}

async function secret(rt: Runtime, key: string): Promise<string | undefined> {
  const { value } = await lookupSecret(rt.stores, key);
  if (value) rt.redactor.add(value);
  return value;
}

export function register(program: Command): void {
  program
    .command('brain')
    .description('run the brain: receive Launchpad and GitHub webhooks, trigger the Jenkins jobs the rules name, serve the status page')
    .option('--listen <host:port>', 'override brain.listen (default 127.0.0.1:8089)')
    .addHelpText(
      'after',
      `
Endpoints: POST /hooks/github, POST /hooks/launchpad; GET / (status page), /status.json,
/target/<name>[.json], /healthz, /metrics.

Secrets (the only ones the brain reads; it holds no forge token):
  ${BRAIN_SECRETS.github}      X-Hub-Signature-256 of GitHub deliveries
  ${BRAIN_SECRETS.launchpad}   X-Hub-Signature of Launchpad deliveries
  ${BRAIN_SECRETS.jenkins}             API token of brain.jenkins.user
A configured source without its secret is a startup error (exit 2).

The journal forgets deliveries whose decisions are finished after brain.retention (default
90d; at least 14d, 31d with launchpad, whose deliveries can be retried by hand for 30 days;
forever: never). Pending decisions and their deliveries are always kept.

Runs as its own user: with brain.user (and brain.group) set and started as root, it reads
its secrets, binds brain.listen, then drops to that user (supplementary groups, gid, uid)
before it opens the store or reads any webhook; the store must be writable by that user.
Runs until SIGTERM or SIGINT.`,
    )
    .action(
      action(async (rt: Runtime, opts: { listen?: string }) => {
        const config = brainSettings(rt);
        const startupError = (path: string, error: unknown): never => {
          if (error instanceof BrainStartupError) throw new ConfigError([{ ...rt.config.locate(path.split('.')), path, message: error.message }]);
          throw error;
        };
        let account;
        try {
          account = config.user !== undefined ? resolveAccount(config.user, config.group) : undefined;
        } catch (error) {
          startupError('brain.user', error);
        }
        if (opts.listen) {
          const m = /^(.+):(\d+)$/.exec(opts.listen);
          if (!m) throw new ConfigError([{ file: '--listen', message: `expected host:port, got ${JSON.stringify(opts.listen)}` }]);
          config.listen = { host: (m[1] as string).replace(/^\[(.*)\]$/, '$1'), port: Number(m[2]) };
        }
        const secrets = {
          ...(config.sources.includes('github') ? { github: await secret(rt, BRAIN_SECRETS.github) } : {}),
          ...(config.sources.includes('launchpad') ? { launchpad: await secret(rt, BRAIN_SECRETS.launchpad) } : {}),
          jenkinsToken: await secret(rt, BRAIN_SECRETS.jenkins),
        };
        const missing = [
          ...config.sources.filter((s) => !secrets[s]).map((s) => BRAIN_SECRETS[s]),
          ...(secrets.jenkinsToken ? [] : [BRAIN_SECRETS.jenkins]),
        ];
        if (missing.length) {
          throw new ConfigError(
            missing.map((key) => ({
              path: 'brain',
              message: `secret ${key} not found in the stores (${rt.stores.map((s) => s.name).join(', ')}): the brain never accepts unsigned webhooks; set it with \`byoci secrets set ${key}\``,
            })),
          );
        }
        // Bound (as root if started so, for a port below 1024) before any privilege is dropped...
        let listener;
        try {
          listener = await bindBrain(config.listen);
        } catch (error) {
          startupError('brain.listen', error);
        }
        if (account) {
          try {
            // ...and dropped before the store is opened or any webhook read.
            const done = dropPrivileges(account);
            rt.log.info(done === 'dropped' ? 'dropped root: running as brain.user' : 'running as brain.user', { user: account.user, uid: account.uid, group: account.group, gid: account.gid });
            checkStoreWritable(storePathOf(rt.config.settings, rt.config.configDir), account);
          } catch (error) {
            listener?.close();
            startupError('brain.user', error);
          }
        } else if (process.getuid?.() === 0) {
          rt.log.warn('the brain runs as root: set brain.user to give it a user of its own (it needs only the store and its secrets)');
        }
        let storePath: string;
        try {
          // Checks the store (path, writable, migrations) with located errors before any webhook is read.
          const store = openBrainStore(rt);
          store.db.close();
          storePath = store.path;
        } catch (error) {
          listener?.close();
          throw error;
        }
        let brain;
        try {
          brain = await startBrain({
            config,
            storePath,
            ...(listener ? { listener } : {}),
            secrets: secrets as { jenkinsToken: string },
            log: rt.log.child('brain'),
            queue: { history: rt.config.settings.queue.history },
          });
        } catch (error) {
          listener?.close(); // else the bound socket keeps the failed process alive, answering nothing
          throw error;
        }
        if (rt.globals.json) rt.printJson({ url: brain.url, store: storePath });
        else rt.print(`brain listening on ${brain.url} (store ${storePath})`);
        const signal = await new Promise<NodeJS.Signals>((done) => {
          process.once('SIGTERM', () => done('SIGTERM'));
          process.once('SIGINT', () => done('SIGINT'));
        });
        rt.log.info('stopping', { signal });
        await brain.close();
        return 0;
      }),
    );
}
