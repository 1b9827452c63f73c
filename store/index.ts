/** The durable store's public face (see db.ts). */
export { StoreError, migrate, openStore } from './db.js';
export type { Db, Migration, OpenStoreOptions } from './db.js';
