/**
 * Debian's python3 with pytest and python-subunit (apt python3-pytest python3-subunit, in
 * .ci/run): the real tools that write the JUnit XML and subunit v2 reports the tests read.
 * `/usr/bin/python3` on purpose: a pyenv or venv python on PATH lacks the apt modules, and
 * the LXD `hostusr` image sees the host's /usr.
 */
import { spawnSync } from 'node:child_process';

export const PYTHON = '/usr/bin/python3';

/** Why the python test tools are unavailable, or undefined. */
export function missingPythonTools(): string | undefined {
  const probe = spawnSync(PYTHON, ['-c', 'import pytest, subunit.run'], { encoding: 'utf8' });
  if (probe.error) return `${PYTHON} not found (apt-get install python3)`;
  if (probe.status !== 0) return 'python3-pytest or python3-subunit not installed (bash .ci/run installs them)';
  return undefined;
}

/** A small unittest suite: one pass, two failures (assertion, error), one skip, one xfail. */
export const CALC_TESTS = `import unittest


class CalcTest(unittest.TestCase):
    def test_add(self):
        self.assertEqual(1 + 1, 2)

    def test_sub(self):
        self.assertEqual(3 - 1, 1)

    @unittest.skip("not yet")
    def test_mul(self):
        pass

    def test_err(self):
        raise RuntimeError("boom")

    @unittest.expectedFailure
    def test_xfail(self):
        self.assertEqual(1, 2)
`;
