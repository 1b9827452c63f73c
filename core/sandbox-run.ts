/**
 * One test run in a namespace sandbox (bwrap, unshare), the part both backends share:
 * `spec.setup` (with the ssh agent when `setupAgent` asks and the bot has one), then
 * `spec.command`, each in a fresh sandbox of the backend's making with the scrubbed
 * environment and the limits in front of the command; output redacted and streamed, its
 * tail kept; the total timeout over both phases; a sandbox that could not start its
 * command is the operator's error, never the proposal's; artefacts copied back.
 */
import type { TestPayload, TestResult } from '../hooks/index.js';
import type { Logger } from './logger.js';
import { copyArtefacts } from './sandbox-artefacts.js';
import { SANDBOX_INSIDE, agentSocket, sandboxEnv } from './sandbox-env.js';
import { limitPrefix } from './sandbox-limits.js';
import type { SandboxPhaseEnd } from './sandbox-phase.js';
import { TailBuffer } from './stream.js';

export interface SandboxedPhase {
  phase: 'setup' | 'test';
  /** The limits prefix and the command. */
  command: readonly string[];
  /** The complete environment inside. */
  env: Record<string, string>;
  /** Host ssh agent socket to expose at SANDBOX_INSIDE.agent (setup phase with setupAgent only). */
  agent?: string;
  totalSeconds: number | undefined;
  noOutputSeconds: number;
  onLine: (stream: 'stdout' | 'stderr', line: string) => void;
  signal: AbortSignal;
}

export interface SandboxPhaseResult extends SandboxPhaseEnd {
  /** The sandbox was set up and its command ran (it reported so). */
  ran: boolean;
}

export interface SandboxBackend {
  /** The backend's name, for TestResult.backend and log lines. */
  name: string;
  log: Logger;
  redact: (text: string) => string;
  /** Runs one phase in a fresh sandbox. */
  runPhase(phase: SandboxedPhase): Promise<SandboxPhaseResult>;
  /** The error message when the sandbox could not start the phase's command (not a test failure). */
  startFailure(phase: 'setup' | 'test', exitCode: number, tail: string): string;
}

export async function runSandboxed(payload: TestPayload, backend: SandboxBackend): Promise<TestResult> {
  const { spec, signal } = payload;
  const log = backend.log;
  const started = performance.now();
  const tail = new TailBuffer();
  let listenerFailed = false;
  const onLine = (stream: 'stdout' | 'stderr', raw: string) => {
    const line = backend.redact(raw);
    tail.push(line);
    try {
      payload.onLine(stream, line);
    } catch (error) {
      // A failing listener must not crash the run nor lose the output tail.
      if (!listenerFailed) log.warn('output listener failed', { error });
      listenerFailed = true;
    }
  };
  if (spec.image) log.info(`image is ignored by ${backend.name}: the sandbox uses the host /usr`, { image: spec.image });
  if (spec.limits.processes !== undefined && process.getuid?.() === 0) {
    log.warn(`limits.processes is not enforced: RLIMIT_NPROC does not apply to root (run the bot as a normal user)`);
  }
  const limits = limitPrefix(spec.limits);
  const deadline = spec.timeout > 0 ? started + spec.timeout * 1000 : undefined;

  const phase = async (name: 'setup' | 'test', command: readonly string[], agent: string | undefined): Promise<SandboxPhaseResult> => {
    const env = { ...sandboxEnv(spec.env, spec.setEnv), ...(agent ? { SSH_AUTH_SOCK: SANDBOX_INSIDE.agent } : {}) };
    log.info('sandbox phase start', { phase: name, network: spec.network, agent: Boolean(agent) });
    const result = await backend.runPhase({
      phase: name,
      command: [...limits, ...command],
      env,
      ...(agent ? { agent } : {}),
      totalSeconds: deadline === undefined ? undefined : (deadline - performance.now()) / 1000,
      noOutputSeconds: spec.noOutputTimeout,
      onLine,
      signal,
    });
    log.info('sandbox phase end', { phase: name, exitCode: result.exitCode, timedOut: result.timedOut ?? 'no' });
    return result;
  };

  let phaseName: 'setup' | 'test' = 'setup';
  let result: SandboxPhaseResult | undefined;
  if (spec.setup?.length) result = await phase('setup', spec.setup, await agentSocket(spec.setupAgent, log));
  if (!result || (result.exitCode === 0 && !result.timedOut && !result.aborted && result.ran)) {
    phaseName = 'test';
    result = await phase('test', spec.command, undefined);
  }
  if (result.aborted) throw signal.reason instanceof Error ? signal.reason : new Error('the test run was interrupted');
  if (!result.ran && !result.timedOut) throw new Error(backend.startFailure(phaseName, result.exitCode, tail.text()));
  return {
    backend: backend.name,
    exitCode: result.exitCode,
    phase: phaseName,
    ...(result.timedOut ? { timedOut: result.timedOut } : {}),
    outputTail: backend.redact(tail.text()),
    artefacts: spec.artefacts.length ? await copyArtefacts(payload.dir, spec.artefacts, payload.artefactsDir, log) : [],
    durationMs: Math.round(performance.now() - started),
  };
}
