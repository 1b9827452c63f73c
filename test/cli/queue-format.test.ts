/**
 * `byoci queue` text for a reviewer: a landing names its proposal by id and title, and an
 * untrusted title cannot move the terminal's cursor or forge a line.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatSnapshot } from '../../cli/queue-format.js';
import type { QueueSnapshot } from '../../core/queue/snapshot.js';

test('the last landings show each proposal\'s title beside its id, control characters shown escaped', () => {
  const snapshot: QueueSnapshot = {
    generatedAt: '2026-12-01T15:00:00.000Z',
    freezes: [],
    targets: [
      {
        key: 'git:/srv/calc.git#main', vcs: 'git', url: '/srv/calc.git', branch: 'main', project: 'calc',
        freeze: null, lease: null, entries: [], takenOut: [], running: [], recentRuns: [],
        landings: [
          { entry: 1, proposal: 'local:1', forge: 'local', title: 'Add multiplication\n    local:9  forged', revision: 'ab81c23', landedAt: '2026-12-01T14:50:29.133Z', approvedAt: '2026-12-01T14:50:27.000Z', waitedMs: 2000, landingMs: 1000, testMs: 700, attempts: 1 },
        ],
      },
    ],
  };
  const lines = formatSnapshot(snapshot);
  assert.deepEqual(lines, [
    'git:/srv/calc.git#main  (project calc)',
    '  queue empty',
    '  last landings:',
    '    2026-12-01T14:50:29.133Z  local:1  Add multiplication\\u000a    local:9  forged  -> ab81c23  (waited 2s, landing 1s, tests 1s, attempts 1)',
  ]);
});

test('what was taken out says its title, why, and the runs it was tested in, in words; a queued entry tested before says so too', () => {
  const entry = {
    entry: 5, proposal: 'local:5', forge: 'local', project: 'calc', url: 'file:///p/5.yaml', since: '2026-12-01T14:55:00.000Z',
    attempts: 1, priority: 'normal', priorityFrom: 'default', approvedAt: '2026-12-01T14:50:00.000Z', approvedAtFrom: 'forge',
    approvedRevision: 'c'.repeat(40), landedRevision: null,
  };
  const snapshot: QueueSnapshot = {
    generatedAt: '2026-12-01T15:00:00.000Z',
    freezes: [],
    targets: [
      {
        key: 'git:/srv/calc.git#main', vcs: 'git', url: '/srv/calc.git', branch: 'main', project: 'calc',
        freeze: null, lease: null, running: [], recentRuns: [], landings: [],
        entries: [{ ...entry, position: 1, entry: 6, proposal: 'local:6', title: 'Retry me', state: 'queued', reason: null, waitingFor: 'the next land run', runs: [1, 3] }],
        takenOut: [
          { ...entry, title: 'Break addition', state: 'out', reason: 'tests failed: calc add', runs: [1, 2, 4] },
          { ...entry, entry: 7, proposal: 'local:7', title: 'Conflicts', state: 'out', reason: 'conflicts with trunk', runs: [] },
          { ...entry, entry: 8, proposal: 'local:8', title: 'Alone', state: 'out', reason: 'tests failed', runs: [9] },
        ],
      },
    ],
  };
  assert.deepEqual(formatSnapshot(snapshot), [
    'git:/srv/calc.git#main  (project calc)',
    `   1. local:6  [local, normal, attempts 1, approved ${entry.approvedAt}]  Retry me`,
    '      waiting for the next land run (tested in runs 1, 3 so far)',
    '  taken out:',
    `    ${entry.since}  local:5  Break addition: tests failed: calc add (tested in runs 1, 2, 4)`,
    `    ${entry.since}  local:7  Conflicts: conflicts with trunk`,
    `    ${entry.since}  local:8  Alone: tests failed (tested in run 9)`,
  ]);
});
