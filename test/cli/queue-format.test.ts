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
