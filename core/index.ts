/**
 * Core's public surface: what plugins may import (besides `hooks/`). Published as the
 * package's main entry, `byoci` (see docs/plugins.md): definePlugin, the hook and payload
 * types, errors, the process runner, logger types, targets and votes helpers.
 */
export type * from '../hooks/index.js';
export { HOOK_NAMES } from '../hooks/index.js';
/** zod, as core uses it: plugin config and target schemas are written with it. */
export { z } from 'zod';
export { PLUGIN_API_VERSION, SUPPORTED_API_VERSIONS, definePlugin } from './plugin.js';
export type {
  AnyPlugin,
  BuiltinPlugin,
  ConfigNeeds,
  ForgeTargets,
  PluginApi,
  PluginDefinition,
  PluginHandles,
  PluginRegistry,
  PluginSecrets,
  RegistryEntry,
  RunInfo,
  SecretDeclaration,
  ArgumentValues,
  CommandArgumentSpec,
  CommandConfigView,
  CommandContext,
  CommandHelpers,
  CommandOptionSpec,
  CommandSpec,
  OptionValues,
  PluginCommand,
  PluginCommandGroup,
} from './plugin.js';
export { canonicalUrl, targetKey, targetOptions } from './targets.js';
export {
  ConfigError,
  EXIT,
  ForgeAnswerError,
  asForgeAnswerError,
  OPERATOR_ERRORS,
  OperatorError,
  PluginError,
  REJECTIONS,
  Rejection,
  TimeoutError,
  UsageError,
  asRejection,
  describeError,
  exitCodeFor,
  formatProblem,
} from './errors.js';
export type { ConfigProblem, OperatorErrorCode, RejectionCode } from './errors.js';
export { createLogger, silentLogger } from './logger.js';
export type { Fields, Level, Logger, LoggerOptions } from './logger.js';
export { CommandError, baseEnv, run } from './process.js';
export { closeInheritedFds } from './fds.js';
export { killAllGroups, killGroup, REAPER_MARK, spawnEnv, trackGroup, untrackGroup } from './children.js';
export { startSshAgent } from './ssh-agent.js';
export type { SshAgent } from './ssh-agent.js';
export { bootId, ownerIsAlive, processOwner, processStartTime } from './owner.js';
export type { ProcessOwner } from './owner.js';
export { lockFile, tryLockFile, withFileLock } from './lock.js';
export { mirrorAgeSchema, sweepMirrors } from './cache-sweep.js';
export type { MirrorSweepOptions } from './cache-sweep.js';
export type { FileLock } from './lock.js';
export type { RunOptions, RunResult } from './process.js';
export { LineSplitter, TailBuffer, Watchdog } from './stream.js';
export type { TimeoutKind, WatchdogOptions } from './stream.js';
export { MAX_TIMER_MS, MAX_TIMER_SECONDS, durationProblem, parseDuration } from './duration.js';
export { CriteriaError, DEFAULT_CRITERIA, VOTE_VALUES, evaluateVotes, formatCriterion, parseCriteria } from './votes.js';
export type { Criteria, Criterion, Operator, VoteEvaluation, VoteValue } from './votes.js';
export { createRedactingTransform } from '../secrets/redact.js';
export type { TextRedactor } from '../secrets/redact.js';
export { createSshSession, isPrivateKey, shellQuote, sshCredentialProblems } from './ssh.js';
export type { AgentIdentity, SshCredentials, SshSession, SshSessionOptions, SshSettings } from './ssh.js';
export { describeIssue } from './zod-issues.js';
export { ESCAPED_BYTE, FILE_LIMITS, FileReadError, decodeLossless, encodeLossless, lineOf, readRegularFile, readRegularFileSync } from './files.js';
export { parseYaml } from './yaml.js';
export type { ParsedYaml, YamlProblem } from './yaml.js';
export { globToRegExp, matchesAny } from './glob.js';
export { parseJunit, ReportError } from './test-report/junit.js';
export type { TestCase, CaseStatus } from './test-report/cases.js';
export { boundedFetch, FETCH_LIMITS, jenkinsQueueItem } from './http.js';
export type { FetchLimits } from './http.js';
// The slave's durable store, for plugins that keep state between runs (tables of their own).
export { openStore, type Db, type Migration } from '../store/index.js';
// Resource limits without cgroups (prlimit, taskset), for the namespace sandbox backends.
export { allowedCpus, cpuList, expandCpuList, limitPrefix, limitProblems, limitTools, parseSize } from './sandbox-limits.js';
export { copyArtefacts } from './sandbox-artefacts.js';
export { ETC_ALLOW, SANDBOX_INSIDE, VCS_METADATA, agentSocket, findExecutable, hostVariables, sandboxEnv, vcsMetadata } from './sandbox-env.js';
export { runSandboxPhase, signalExitCode, type SandboxPhaseEnd, type SandboxPhaseOptions } from './sandbox-phase.js';
export { tapSandboxBackend, type SandboxBackendTaps, type SandboxProbe } from './sandbox-plugin.js';
export { runSandboxed, type SandboxBackend, type SandboxPhaseResult, type SandboxedPhase } from './sandbox-run.js';
export { pinnedLandingText } from './pinned.js';
export { recordSpan, timingsOn, type Span, type SpanKind } from './timings.js';
