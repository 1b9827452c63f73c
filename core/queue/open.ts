/**
 * Opening the slave's store for the queue, with problems reported as configuration errors
 * located at `store.path` (or at `workdir`, where the default path comes from).
 */
import { accessSync, constants, existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { openStore, StoreError, type Db, type Migration } from '../../store/index.js';
import type { LoadedConfig } from '../config.js';
import { ConfigError, type OperatorErrorCode } from '../errors.js';
import { storePath } from './config.js';
import { QUEUE_MIGRATIONS } from './schema.js';

function writableDir(dir: string): string | undefined {
  try {
    if (!existsSync(dir)) mkdirSync(dir, { recursive: true });
    accessSync(dir, constants.W_OK | constants.X_OK);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

/** Opens and migrates the store for the queue (plus any other feature's migrations). */
export function openQueueStore(config: LoadedConfig, options: { readonly?: boolean; migrations?: readonly Migration[] } = {}): { db: Db; path: string } {
  const settings = config.settings;
  const path = storePath(settings, config.configDir);
  const where = settings.store.path ? ['store', 'path'] : ['workdir'];
  const problem = (message: string, code: OperatorErrorCode = 'store-unusable') =>
    new ConfigError([{ ...config.locate(where), path: where.join('.'), message, code }]);
  if (path !== ':memory:' && !options.readonly) {
    const why = writableDir(dirname(path));
    if (why) throw problem(`the store's directory ${dirname(path)} is not writable: ${why}`);
    if (existsSync(path)) {
      try {
        accessSync(path, constants.R_OK | constants.W_OK);
      } catch (error) {
        throw problem(`the store ${path} is not writable: ${(error as Error).message}`);
      }
    }
  }
  try {
    const db = openStore(path, { migrations: [...QUEUE_MIGRATIONS, ...(options.migrations ?? [])], ...(options.readonly ? { readonly: true } : {}) });
    return { db, path };
  } catch (error) {
    if (error instanceof StoreError) throw problem(`${error.message}${error.hint ? ` (${error.hint})` : ''}`, error.code);
    throw error;
  }
}
