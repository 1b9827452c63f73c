/**
 * Builds a complete local landing setup in a directory: a trunk repository, a contributor's
 * repository with two branches, two approved proposals on the local forge, and a config.
 * Used by `npm run demo` and by the end-to-end tests.
 *
 *   <dir>/trunk.git        the target (bare), branch main
 *   <dir>/contrib.git      the contributor's repository: branches good-change, bad-change
 *   <dir>/proposals/*.yaml the local forge's proposal files
 *   <dir>/byoci.yaml       the configuration
 */
import { mkdir, writeFile, chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { run } from '../core/process.js';

export interface DemoSetup {
  dir: string;
  trunk: string;
  contrib: string;
  proposals: string;
  config: string;
  /** Approved revisions by branch. */
  revisions: Record<'good' | 'bad', string>;
}

export interface DemoOptions {
  /** Container backend for the project's tests (default unsafe-host: the demo's own code). */
  backend?: string;
  image?: string;
}

const AUTHOR = { name: 'Ada Contributor', email: 'ada@example.org' };

function gitEnv(home: string): Record<string, string> {
  return {
    HOME: home,
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_AUTHOR_NAME: AUTHOR.name,
    GIT_AUTHOR_EMAIL: AUTHOR.email,
    GIT_COMMITTER_NAME: AUTHOR.name,
    GIT_COMMITTER_EMAIL: AUTHOR.email,
  };
}

const CALC = `#!/bin/sh
# calc.sh: a tiny calculator. Usage: calc.sh add|sub A B
case "$1" in
  add) echo $(( $2 + $3 )) ;;
  sub) echo $(( $2 - $3 )) ;;
  *) echo "unknown operation: $1" >&2; exit 2 ;;
esac
`;

const CHECK = `#!/bin/sh
# check.sh: the project's test suite. Writes a JUnit report to reports/junit.xml.
fails=0; count=0; cases=""
expect() { # expect NAME EXPECTED COMMAND...
  name=$1; want=$2; shift 2; count=$((count + 1))
  got=$("$@" 2>&1)
  if [ "$got" = "$want" ]; then echo "ok   $name"; cases="$cases<testcase name=\\"$name\\"/>"
  else echo "FAIL $name: expected $want, got $got"; fails=$((fails + 1))
       cases="$cases<testcase name=\\"$name\\"><failure message=\\"expected $want\\"/></testcase>"; fi
}
`;

function checkScript(cases: string[]): string {
  return (
    CHECK +
    cases.join('\n') +
    `
mkdir -p reports
echo "<testsuite name=\\"calc\\" tests=\\"$count\\" failures=\\"$fails\\">$cases</testsuite>" > reports/junit.xml
echo "$count tests, $fails failures"
[ "$fails" -eq 0 ]
`
  );
}

async function git(args: string[], cwd: string, home: string): Promise<string> {
  return (await run(['git', ...args], { cwd, env: gitEnv(home) })).stdout.trim();
}

export async function createDemo(dir: string, options: DemoOptions = {}): Promise<DemoSetup> {
  const home = join(dir, '.home');
  const work = join(dir, 'work');
  const trunk = join(dir, 'trunk.git');
  const contrib = join(dir, 'contrib.git');
  const proposals = join(dir, 'proposals');
  await mkdir(home, { recursive: true });
  await mkdir(proposals, { recursive: true });

  await git(['init', '-q', '--bare', '-b', 'main', trunk], dir, home);
  await git(['init', '-q', '-b', 'main', work], dir, home);
  await writeFile(join(work, 'calc.sh'), CALC);
  await chmod(join(work, 'calc.sh'), 0o755);
  await writeFile(join(work, 'check.sh'), checkScript(['expect "add 2 3" 5 ./calc.sh add 2 3', 'expect "sub 5 3" 2 ./calc.sh sub 5 3']));
  await chmod(join(work, 'check.sh'), 0o755);
  await writeFile(join(work, 'README'), 'calc: the byoci demo project. Tests: ./check.sh\n');
  await git(['add', '.'], work, home);
  await git(['commit', '-q', '-m', 'Initial calculator'], work, home);
  await git(['push', '-q', trunk, 'main'], work, home);

  // A good change: multiplication, with its test.
  await git(['checkout', '-q', '-b', 'good-change'], work, home);
  const calcMul = CALC.replace('  *) echo', '  mul) echo $(( $2 * $3 )) ;;\n  *) echo');
  await writeFile(join(work, 'calc.sh'), calcMul);
  await writeFile(
    join(work, 'check.sh'),
    checkScript(['expect "add 2 3" 5 ./calc.sh add 2 3', 'expect "sub 5 3" 2 ./calc.sh sub 5 3', 'expect "mul 4 5" 20 ./calc.sh mul 4 5']),
  );
  await git(['commit', '-q', '-am', 'Add multiplication'], work, home);
  const good = await git(['rev-parse', 'HEAD'], work, home);

  // A bad change: "optimises" addition and breaks it (merges cleanly, fails the tests).
  await git(['checkout', '-q', 'main'], work, home);
  await git(['checkout', '-q', '-b', 'bad-change'], work, home);
  await writeFile(join(work, 'calc.sh'), CALC.replace('$(( $2 + $3 ))', '$(( $2 + $3 + 0$3 ))'));
  await git(['commit', '-q', '-am', 'Simplify addition'], work, home);
  const bad = await git(['rev-parse', 'HEAD'], work, home);

  await git(['clone', '-q', '--bare', work, contrib], dir, home);

  const proposal = (id: number, title: string, branch: string, revision: string, message: string) => ({
    id: String(id),
    title,
    source: { repo: contrib, branch },
    target: { repo: trunk, branch: 'main' },
    approved_revision: revision,
    status: 'Approved',
    commit_message: message,
    votes: [{ reviewer: 'rita', vote: 'Approve' }],
    comments: [{ author: 'rita', subject: 'Review', body: 'Looks good, approved.' }],
  });
  await writeFile(join(proposals, '1.yaml'), stringify(proposal(1, 'Add multiplication', 'good-change', good, 'Add a mul operation to calc.')));
  await writeFile(join(proposals, '2.yaml'), stringify(proposal(2, 'Simplify addition', 'bad-change', bad, 'Simplify the add operation.')));

  const config = join(dir, 'byoci.yaml');
  const settings = {
    byoci: 'selftest',
    selftest: { landing: { user: 'byoci-demo', fullname: 'byoci demo lander', email: 'lander@example.org' } },
    workdir: 'runs',
    artefacts: 'artefacts',
    secrets: { order: ['env'] },
    plugins: { local: { dir: 'proposals', trusted: ['rita'] } },
    projects: {
      calc: {
        targets: [{ forge: 'local', repo: '{configDir}/trunk.git', branch: 'main' }],
        test: {
          backend: options.backend ?? 'unsafe-host',
          ...(options.image ? { image: options.image } : {}),
          command: ['./check.sh'],
          timeout: '5m',
          noOutputTimeout: '1m',
          artefacts: ['reports/junit.xml'],
        },
      },
    },
  };
  await writeFile(
    config,
    `# byoci configuration of the demo (see README.md, "Configuration").\n${stringify(settings)}`,
  );
  return { dir, trunk, contrib, proposals, config, revisions: { good, bad } };
}
