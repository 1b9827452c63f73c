/**
 * `byoci secrets set|get|list|delete|check`: the logic, as functions taking parsed
 * options and streams and returning an exit code (cli/commands/secrets.ts wires them).
 *
 * No command ever prints a value except `get --reveal`; `set` reads the value from stdin
 * or a hidden prompt, never from argv (argv lands in shell history and the process list).
 */
import type { Readable, Writable } from 'node:stream';
import type { SecretsConfig, StoreName } from './config.js';
import { declaredSecrets } from './declared.js';
import { envVarName } from './env.js';
import { SecretKeyError, SecretStoreError } from './errors.js';
import { parseKey } from './keys.js';
import { createStores, type CreateStoresOptions } from './lookup.js';
import { PromptCancelled, promptHidden, readPipedValue, type TtyInput } from './prompt.js';
import { SECRETS_EXIT, type SecretStore, type SecretsDeclarer } from './types.js';

export interface SecretsIo {
  stdin: TtyInput;
  stdout: Writable;
  stderr: Writable;
}

export interface SecretsContext {
  /** The validated `secrets:` section. */
  config: SecretsConfig;
  /** Options for building the stores (env, baseDir = the config file's directory). */
  storeOptions?: CreateStoresOptions;
  /** Stores to use instead of building them from `config` (tests, embedding). */
  stores?: readonly SecretStore[];
  /** Print one JSON document on stdout instead of text. */
  json?: boolean;
  /** The global --dry-run: `set` and `delete` say what they would do and change no store. */
  dryRun?: boolean;
}

function storesOf(ctx: SecretsContext): readonly SecretStore[] {
  return ctx.stores ?? createStores(ctx.config, ctx.storeOptions);
}

function line(stream: Writable, text: string): void {
  stream.write(text + '\n');
}

function printJson(io: SecretsIo, value: unknown): void {
  line(io.stdout, JSON.stringify(value, null, 2));
}

/** Turns expected failures into a message and an exit code; rethrows bugs. */
async function guard(io: SecretsIo, fn: () => Promise<number>): Promise<number> {
  try {
    return await fn();
  } catch (error) {
    if (error instanceof SecretKeyError) {
      line(io.stderr, `byoci secrets: ${error.message}`);
      return SECRETS_EXIT.usage;
    }
    if (error instanceof SecretStoreError) {
      line(io.stderr, `byoci secrets: ${error.message}`);
      return SECRETS_EXIT.internal;
    }
    if (error instanceof PromptCancelled) {
      line(io.stderr, 'byoci secrets: cancelled, nothing stored');
      return SECRETS_EXIT.usage;
    }
    throw error;
  }
}

/** The store a write goes to: `--store`, else the first writable store of the order. */
function writableStore(stores: readonly SecretStore[], wanted: StoreName | undefined, key: string): SecretStore {
  if (wanted === 'env') {
    throw new SecretStoreError('env', `it is read-only; bind the credential in Jenkins as ${envVarName(key)} instead`, { key });
  }
  const store = wanted ? stores.find((s) => s.name === wanted) : stores.find((s) => s.set);
  if (!store) {
    const names = stores.map((s) => s.name).join(', ');
    throw new SecretStoreError(wanted ?? 'secrets', wanted ? `is not in secrets.order (${names})` : `no writable store in secrets.order (${names})`, {
      key,
      fix: 'add file or keyring to secrets.order',
    });
  }
  if (!store.set) throw new SecretStoreError(store.name, 'is read-only', { key });
  return store;
}

export interface SetOptions {
  key: string;
  store?: StoreName;
  /** Arguments after the key: a value typed on the command line is refused. */
  extra?: readonly string[];
}

export async function secretsSet(ctx: SecretsContext, opts: SetOptions, io: SecretsIo): Promise<number> {
  return guard(io, async () => {
    if (opts.extra && opts.extra.length > 0) {
      line(
        io.stderr,
        'byoci secrets set: refusing a value on the command line (it stays in shell history and the process list). ' +
          'Nothing was stored. If that was the real secret, rotate it. Pipe the value on stdin or type it at the prompt: ' +
          `byoci secrets set ${opts.key} < file`,
      );
      return SECRETS_EXIT.usage;
    }
    parseKey(opts.key);
    const stores = storesOf(ctx);
    const store = writableStore(stores, opts.store, opts.key);
    if (ctx.dryRun) {
      // No value is read: nothing would be done with it.
      if (ctx.json) printJson(io, { key: opts.key, store: store.name, dryRun: true });
      line(io.stderr, `${opts.key}: would be stored in ${store.name} (dry run: no value read, nothing stored)`);
      return SECRETS_EXIT.ok;
    }
    const value = io.stdin.isTTY
      ? await promptHidden(io.stdin, io.stderr, `Value of ${opts.key} (input hidden, Enter to finish): `)
      : await readPipedValue(io.stdin);
    if (value === '') {
      line(io.stderr, `byoci secrets set: empty value for ${opts.key}, nothing stored`);
      return SECRETS_EXIT.usage;
    }
    await store.set!(opts.key, value);
    line(io.stderr, `${opts.key}: stored in ${store.name}`);
    // A store asked earlier that already holds the key would shadow this value.
    for (const earlier of stores.slice(0, stores.indexOf(store))) {
      if ((await earlier.get(opts.key)) !== undefined) {
        line(io.stderr, `warning: ${earlier.name} also holds ${opts.key} and is asked first (secrets.order): the value just stored is not used`);
      }
    }
    return SECRETS_EXIT.ok;
  });
}

export interface GetOptions {
  key: string;
  /** Print the value itself; otherwise only whether it is set and where. */
  reveal?: boolean;
}

export async function secretsGet(ctx: SecretsContext, opts: GetOptions, io: SecretsIo): Promise<number> {
  return guard(io, async () => {
    parseKey(opts.key);
    const stores = storesOf(ctx);
    for (const store of stores) {
      const value = await store.get(opts.key);
      if (value === undefined) continue;
      if (opts.reveal) io.stdout.write(value.endsWith('\n') ? value : value + '\n');
      else if (ctx.json) printJson(io, { key: opts.key, set: true, store: store.name });
      else line(io.stdout, `${opts.key}: set (${store.name}); add --reveal to print the value`);
      return SECRETS_EXIT.ok;
    }
    if (ctx.json) printJson(io, { key: opts.key, set: false, store: null });
    else line(io.stderr, `${opts.key}: not set in any store (${stores.map((s) => s.name).join(', ')})`);
    return SECRETS_EXIT.rejected;
  });
}

export async function secretsList(ctx: SecretsContext, _opts: Record<string, never>, io: SecretsIo): Promise<number> {
  return guard(io, async () => {
    const report: { store: string; keys: string[]; error?: string }[] = [];
    for (const store of storesOf(ctx)) {
      try {
        report.push({ store: store.name, keys: store.list ? await store.list() : [] });
      } catch (error) {
        report.push({ store: store.name, keys: [], error: error instanceof Error ? error.message : String(error) });
      }
    }
    if (ctx.json) printJson(io, { stores: report });
    else {
      for (const r of report) {
        if (r.error) line(io.stdout, `${r.store}: ERROR ${r.error}`);
        else line(io.stdout, `${r.store}: ${r.keys.length ? r.keys.join(' ') : '(none)'}`);
      }
    }
    return report.some((r) => r.error) ? SECRETS_EXIT.internal : SECRETS_EXIT.ok;
  });
}

export interface DeleteOptions {
  key: string;
  /** Only this store; default: every writable store that holds the key. */
  store?: StoreName;
}

export async function secretsDelete(ctx: SecretsContext, opts: DeleteOptions, io: SecretsIo): Promise<number> {
  return guard(io, async () => {
    parseKey(opts.key);
    const stores = storesOf(ctx);
    const targets = opts.store ? [writableStore(stores, opts.store, opts.key)] : stores.filter((s) => s.delete);
    const deleted: string[] = [];
    if (ctx.dryRun) {
      const holding: string[] = [];
      for (const store of targets) if ((await store.get(opts.key)) !== undefined) holding.push(store.name);
      if (ctx.json) printJson(io, { key: opts.key, wouldDeleteFrom: holding, dryRun: true });
      else if (holding.length) line(io.stderr, `${opts.key}: would be deleted from ${holding.join(', ')} (dry run: nothing deleted)`);
      else line(io.stderr, `${opts.key}: no ${opts.store ?? 'writable'} store holds it (dry run)`);
      return holding.length ? SECRETS_EXIT.ok : SECRETS_EXIT.rejected;
    }
    for (const store of targets) if (await store.delete!(opts.key)) deleted.push(store.name);
    const env = stores.find((s) => s.name === 'env');
    const stillInEnv = !opts.store && env ? (await env.get(opts.key)) !== undefined : false;
    if (ctx.json) printJson(io, { key: opts.key, deletedFrom: deleted, stillInEnv });
    else if (deleted.length) line(io.stderr, `${opts.key}: deleted from ${deleted.join(', ')}`);
    else line(io.stderr, `${opts.key}: no ${opts.store ?? 'writable'} store held it`);
    if (stillInEnv) line(io.stderr, `note: ${envVarName(opts.key)} is still set in the environment`);
    return deleted.length ? SECRETS_EXIT.ok : SECRETS_EXIT.rejected;
  });
}

export interface CheckOptions {
  /** The plugins the configuration loads (what `check` reports on). */
  plugins: readonly SecretsDeclarer[];
}

type CheckStatus = 'set' | 'missing' | 'error';

/**
 * What each configured plugin declares, whether a store holds it, and which one. Exit 1
 * when a required secret is missing, 3 when a store fails.
 */
export async function secretsCheck(ctx: SecretsContext, opts: CheckOptions, io: SecretsIo): Promise<number> {
  return guard(io, async () => {
    const stores = storesOf(ctx);
    const rows: { plugin: string; key: string; description: string; required: boolean; status: CheckStatus; store: string | null; env: string; error?: string }[] = [];
    for (const declared of declaredSecrets(opts.plugins)) {
      const row = { plugin: declared.plugin, key: declared.key, description: declared.description, required: declared.required, status: 'missing' as CheckStatus, store: null as string | null, env: '' };
      try {
        row.env = envVarName(declared.key);
        for (const store of stores) {
          if ((await store.get(declared.key)) !== undefined) {
            row.status = 'set';
            row.store = store.name;
            break;
          }
        }
        rows.push(row);
      } catch (error) {
        rows.push({ ...row, status: 'error', error: error instanceof Error ? error.message : String(error) });
      }
    }
    const without = opts.plugins.filter((p) => !p.secrets || Object.keys(p.secrets).length === 0).map((p) => p.name);
    if (ctx.json) printJson(io, { stores: stores.map((s) => s.name), secrets: rows, pluginsWithoutSecrets: without });
    else {
      line(io.stdout, `stores, in lookup order: ${stores.map((s) => s.name).join(', ') || '(none)'}`);
      if (rows.length === 0) line(io.stdout, 'no configured plugin declares a secret');
      for (const r of rows) {
        const need = r.required ? 'required' : 'optional';
        const state = r.status === 'set' ? `set (${r.store})` : r.status === 'missing' ? `MISSING: byoci secrets set ${r.key}, or ${r.env}` : `ERROR ${r.error}`;
        line(io.stdout, `${r.key.padEnd(24)} ${need.padEnd(8)} ${state}  ${r.description}`);
      }
      if (without.length) line(io.stdout, `plugins declaring no secret: ${without.join(', ')}`);
    }
    if (rows.some((r) => r.status === 'error')) return SECRETS_EXIT.internal;
    if (rows.some((r) => r.status === 'missing' && r.required)) return SECRETS_EXIT.rejected;
    return SECRETS_EXIT.ok;
  });
}
