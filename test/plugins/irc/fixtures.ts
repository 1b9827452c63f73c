/** Outcomes as core hands them to reporters, for the irc tests. */
import type { Outcome, ProjectConfig, Proposal } from '../../../hooks/index.js';
import { testSpec } from '../../support/spec.js';

export const project: ProjectConfig = {
  name: 'brz',
  targets: [{ forge: 'local', branch: { vcs: 'git', url: '/srv/brz.git', branch: 'main' }, options: { repo: '/srv/brz.git', branch: 'main' } }],
  test: testSpec({ backend: 'bwrap', command: ['make', 'check'], timeout: 600, noOutputTimeout: 120 }),
};

export function proposal(overrides: Partial<Proposal> = {}): Proposal {
  return {
    id: 'local:7',
    forge: 'local',
    url: 'https://code.example.org/brz/+merge/7',
    title: 'Fix the frobnicator',
    source: { vcs: 'git', url: '/srv/brz-fix.git', branch: 'fix' },
    target: { vcs: 'git', url: '/srv/brz.git', branch: 'main' },
    approvedRevision: 'a'.repeat(40),
    commitMessage: 'Fix the frobnicator.',
    votes: [{ reviewer: 'jelmer', vote: 'Approve', trusted: true }],
    readiness: { state: 'ready' },
    ...overrides,
  };
}

export function landed(p: Proposal = proposal(), extra: Partial<Extract<Outcome, { kind: 'landed' }>> = {}): Outcome {
  return { kind: 'landed', proposal: p, project, revision: 'b'.repeat(40), ...extra };
}

export function rejected(reason: string, code = 'merge-conflict', p: Proposal = proposal(), details?: string): Outcome {
  return { kind: 'rejected', proposal: p, project, rejection: { code, reason, ...(details ? { details } : {}) } };
}

export function failed(p: Proposal = proposal()): Outcome {
  return {
    kind: 'rejected',
    proposal: p,
    project,
    rejection: { code: 'tests-failed', reason: 'The tests failed (exit code 2).' },
    test: {
      backend: 'bwrap',
      exitCode: 2,
      phase: 'test',
      outputTail: 'test_frob ... FAIL\nFAILED (failures=1)\n',
      artefacts: [],
      durationMs: 1200,
    },
  };
}

export function errored(message: string, p: Proposal = proposal()): Outcome {
  return { kind: 'error', proposal: p, project, message };
}

export function started(p: Proposal = proposal()): Outcome {
  return { kind: 'started', proposal: p, project };
}
