/** The landing queue's public face (see README "The landing queue"). */
export { QUEUE_MIGRATIONS } from './schema.js';
export { QueueStore, leaseAlive } from './store.js';
export type { EntryRow, EntryState, RunRow, RunState, LeaseRow, FreezeRow, SandboxRow } from './store.js';
export { queueSnapshot, freezeOf } from './snapshot.js';
export type { QueueSnapshot, TargetSnapshot, EntrySnapshot, LandingSnapshot, RunSnapshot, SnapshotOptions } from './snapshot.js';
export { canonicalRepository, targetKey } from './key.js';
export { openQueueStore } from './open.js';
export { storePath, priorityRank, DEFAULT_PRIORITIES } from './config.js';
export type { QueueSettings, StoreSettings } from './config.js';
export { syncConfigFreezes, freezeTarget, unfreezeTarget, freezeHolding } from './freeze.js';
