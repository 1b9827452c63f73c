/**
 * Who owns a container: the bot process that created it, recorded in the instance's
 * `user.byoci.*` config so that a later run can tell a leftover of a dead run (removed)
 * from a container of a bot that is still running (left alone). The liveness test is
 * core's (the same one that cleans up stale run directories).
 */
import { ownerIsAlive, processOwner } from '../../core/index.js';

export const OWNER_KEYS = Object.freeze({
  run: 'user.byoci.run',
  pid: 'user.byoci.pid',
  pidStart: 'user.byoci.pid-start',
  boot: 'user.byoci.boot-id',
});

/** The `user.byoci.*` config recording this process as the owner of a run's container. */
export function ownerConfig(runId: string, pid: number = process.pid): Record<string, string> {
  const owner = processOwner(pid);
  return {
    [OWNER_KEYS.run]: runId,
    [OWNER_KEYS.pid]: String(owner.pid),
    [OWNER_KEYS.pidStart]: owner.pidStart,
    [OWNER_KEYS.boot]: owner.boot,
  };
}

/**
 * Whether the process recorded in `config` is still running: same boot, same pid, same
 * start time (a recycled pid is a different process). No record at all counts as dead.
 */
export function ownerAlive(config: Record<string, string | undefined>): boolean {
  return ownerIsAlive({ pid: config[OWNER_KEYS.pid], pidStart: config[OWNER_KEYS.pidStart], boot: config[OWNER_KEYS.boot] });
}
