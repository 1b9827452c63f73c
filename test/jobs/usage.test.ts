import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buildProgram } from '../../cli/program.js';
import { findCredentials } from '../../jobs/credentials.js';
import { parseCommands } from '../../jobs/shell-words.js';
import { optionValue, parseByociCall, usageFromProgram } from '../../jobs/usage.js';

const usage = usageFromProgram(await buildProgram());

function call(script: string) {
  const cmd = parseCommands(script).find((c) => c.words[0]!.value === 'byoci');
  assert.ok(cmd, `a byoci call in ${script}`);
  return parseByociCall(cmd.words.slice(1), usage);
}

describe('byoci calls in job scripts', () => {
  test('commands are found through quoting, operators, redirections and $(...)', () => {
    const script = [
      '#!/bin/bash -e',
      'rm -f x # byoci in a comment is not a call',
      "FOO=1 byoci list --config '/etc/byoci/a b.yaml' --json > out.json 2>&1 | tee log",
      'if [ -n "$(byoci --config /c land --dry-run)" ]; then echo "byoci land"; fi',
    ].join('\n');
    const calls = parseCommands(script).filter((c) => c.words[0]!.value === 'byoci');
    assert.deepEqual(
      calls.map((c) => [c.line, c.words.map((w) => w.value)]),
      [
        [3, ['byoci', 'list', '--config', '/etc/byoci/a b.yaml', '--json']],
        [4, ['byoci', '--config', '/c', 'land', '--dry-run']],
      ],
    );
  });

  test('arguments are checked against the real CLI: short options, globals before the command, mandatory options', () => {
    const land = call('byoci -c /etc/byoci/p.yaml land -p demo -O "artefacts=$WORKSPACE/a"');
    assert.deepEqual(land.problems, []);
    assert.equal(land.command, 'land');
    assert.equal(optionValue(land, '--config')?.value, '/etc/byoci/p.yaml');
    assert.equal(optionValue(land, '--project')?.value, 'demo');
    assert.equal(optionValue(land, '--option')?.value, 'artefacts=$WORKSPACE/a');

    assert.deepEqual(call('byoci --config /c test --source "$SOURCE"').problems, ['`byoci test` needs --branch']);
    assert.deepEqual(call('byoci --config /c lnad').problems.map((p) => p.replace(/\(known: .*\)/, '')), ['unknown command `byoci lnad` ']);
    // A third-party plugin's command is unknown here, and the problem says why.
    const hello = call('byoci --config /c hello ann').problems;
    assert.equal(hello.length, 1);
    assert.match(hello[0]!, /^unknown command `byoci hello` \(known: .*\bland\b.*; commands of plugins loaded by path or package are not known to the check: their plugin is named by the slave's config and installed there \(jobs\/README\.md\)\)$/);
    assert.deepEqual(call('byoci land --config').problems, ['option --config needs a value']);
    assert.deepEqual(call('byoci land --json=yes --frobnicate').problems, ['option --json takes no value', 'unknown option --frobnicate for `byoci land`']);
    assert.deepEqual(call('byoci land extra').problems, ['unexpected argument "extra"']);
    assert.deepEqual(call('byoci irc').problems, ['`byoci irc` needs a subcommand']);
  });

  test('unquoted parameter expansions are reported, quoted ones are not', () => {
    const words = parseCommands('byoci test --source $SOURCE --branch "$BRANCH" -O artefacts=${WORKSPACE}/a')[0]!.words;
    assert.deepEqual(
      words.map((w) => w.unquotedExpansions),
      [[], [], [], ['SOURCE'], [], [], [], ['WORKSPACE']],
    );
  });
});

describe('credentials in jobs', () => {
  test('tokens, keys and passwords are found; references to variables are not', () => {
    const found = (text: string) => findCredentials(text).map((f) => f.what);
    assert.deepEqual(found('export GITHUB_TOKEN=ghp_abcdefghijklmnopqrstuvwxyz0123'), ['a GitHub token', 'a secret assigned in the job']);
    assert.deepEqual(found('-----BEGIN OPENSSH ' + 'PRIVATE KEY-----'), ['a private key']);
    assert.deepEqual(found('git clone https://bot:hunter22@git.example.org/x.git'), ['a password in a URL']);
    assert.deepEqual(found('LP_PASSWORD=s3cr3tvalue'), ['a secret assigned in the job']);
    assert.deepEqual(found('TOKEN="$LP_TOKEN" byoci land; byoci secrets set github/token < /dev/stdin'), []);
    assert.deepEqual(found('byoci land --config /etc/byoci/brz.yaml -O "artefacts=$WORKSPACE/artefacts"'), []);
  });
});
