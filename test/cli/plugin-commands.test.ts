/**
 * Commands plugins contribute (definePlugin `commands`): a plugin loaded by path adds
 * `byoci hello` once the config names it, run by the real CLI with core's config
 * validation (file and line), secrets from the stores, redaction, --dry-run and --json;
 * `byoci plugins` lists them; bad declarations are refused naming the plugin.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { commandLeaves, declaredCommands } from '../../core/commands.js';
import { definePlugin, z } from '../../core/index.js';
import { createKit } from '../../testing/index.js';
import { ROOT, byoci } from '../support/cli.js';
import { docPluginCode, importsOf, recordingServer, writeRepoPlugin } from '../support/plugin-fixture.js';
import { missingCommands, suiteNeeds } from '../support/components.js';

const HELLO = join(ROOT, 'test/fixtures/cli/hello-plugin.mjs');
const SHADOW = join(ROOT, 'test/fixtures/cli/shadow-plugin.mjs');
const TOKEN = 'hello-T0ken-5ecret-77';

describe('a command of a plugin loaded by path', () => {
  let dir: string;
  let config: string;
  const env = { BYOCI_CONFIG: undefined, BYOCI_SECRET_HELLO_TOKEN: TOKEN };

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'byoci-plugin-commands-'));
    config = join(dir, 'byoci.yaml');
    writeFileSync(config, ['secrets:', '  order: [env]', `workdir: ${join(dir, 'work')}`, 'plugins:', `  ${HELLO}:`, '    greeting: hi', ''].join('\n'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('runs from the config naming it: arguments, options, its validated config, exit code', async () => {
    const r = await byoci(['-c', config, 'hello', '--loud', '--times', '2', 'ann', 'bob', 'cy'], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'HI ANN, BOB, CY\nHI ANN, BOB, CY\n');
    const one = await byoci(['-c', config, 'hello', 'one'], { env });
    assert.equal(one.code, 1, 'the exit code the handler returns');
    assert.equal(one.stdout, 'hi one\n');
  });

  test('its secret comes from the stores and is masked in output, log lines and errors', async () => {
    const r = await byoci(['-c', config, 'hello', '--leak-token', 'ann'], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(!r.stdout.includes(TOKEN) && !r.stderr.includes(TOKEN), r.stdout + r.stderr);
    assert.match(r.stdout, /^hi ann token=\[REDACTED\]$/m);
    assert.match(r.stderr, /greeting/);
    const failed = await byoci(['-c', config, 'hello', 'nobody'], { env });
    assert.equal(failed.code, 3, failed.stderr);
    assert.match(failed.stderr, /nobody to greet \(token \[REDACTED\]\)/);
    assert.ok(!failed.stderr.includes(TOKEN), failed.stderr);
  });

  test('--dry-run and --json reach the handler; a command that does not support --dry-run is refused', async () => {
    const r = await byoci(['-c', config, '--dry-run', '--json', 'hello', 'ann'], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { text: 'would say: hi ann', count: 1, namespace: 'production', file: config });
    const wipe = await byoci(['-c', config, '--dry-run', 'hello-admin', 'wipe'], { env });
    assert.equal(wipe.code, 2);
    assert.equal(wipe.stdout, '', 'nothing ran');
    assert.match(wipe.stderr, /byoci hello-admin wipe does not support --dry-run \(the hello plugin does not say it honours it\)/);
    const real = await byoci(['-c', config, 'hello-admin', 'wipe'], { env });
    assert.equal(real.stdout, 'wiped\n', real.stderr);
  });

  test('bad input: a choice outside the declared ones, a missing argument (exit 2)', async () => {
    const badChoice = await byoci(['-c', config, 'hello', '--times', '3', 'ann'], { env });
    assert.equal(badChoice.code, 2);
    assert.match(badChoice.stderr, /--times <n>' argument '3' is invalid\. Allowed choices are 1, 2/);
    const missing = await byoci(['-c', config, 'hello'], { env });
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /missing required argument 'who'/);
  });

  test("an invalid section of the plugin is reported with file and line before the handler runs", async () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, ['plugins:', `  ${HELLO}:`, '    greeting: hi', '    colour: red', ''].join('\n'));
    const r = await byoci(['-c', bad, 'hello', 'ann'], { env });
    assert.equal(r.code, 2);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, new RegExp(`${bad.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:4:\\d+: plugins\\.${HELLO.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}\\.colour: unknown option`));
  });

  test('--help describes it; byoci plugins lists its commands', async () => {
    const help = await byoci(['-c', config, 'hello', '--help'], { env });
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, /Usage: byoci hello \[options\] <who> \[more\.\.\.\]/);
    assert.match(help.stdout, /--times <n>\s+how many times \(choices: "1", "2"\)/);
    const plugins = await byoci(['-c', config, 'plugins'], { env });
    assert.equal(plugins.code, 0, plugins.stderr);
    assert.match(plugins.stdout, /^ {2}commands: byoci hello, byoci hello-admin wipe$/m);
    const json = await byoci(['-c', config, '--json', 'plugins'], { env });
    const hello = (JSON.parse(json.stdout) as { name: string; commands: unknown }[]).find((p) => p.name === 'hello');
    assert.deepEqual(hello?.commands, [
      { name: 'hello', description: 'greets someone with plugins.<key>.greeting' },
      { name: 'hello-admin wipe', description: 'wipes the greetings (no --dry-run support)' },
    ]);
  });

  test('without a config naming it the command does not exist', async () => {
    const other = join(dir, 'other.yaml');
    writeFileSync(other, 'projects: {}\n');
    const r = await byoci(['-c', other, 'hello', 'ann'], { env });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown command 'hello'/);
  });

  test("a plugin declaring one of byoci's own commands is refused, naming it", async () => {
    const shadow = join(dir, 'shadow.yaml');
    writeFileSync(shadow, ['plugins:', `  ${SHADOW}: {}`, ''].join('\n'));
    const r = await byoci(['-c', shadow, 'shade'], { env });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /its command land is already defined by byoci itself/);
  });
});

describe('the command of docs/plugins.md', () => {
  test('uses only the public API; --dry-run posts nothing, a real run posts with the token from the stores', async () => {
    const code = docPluginCode('## Commands');
    assert.deepEqual(importsOf(code), ['byoci']);
    const server = await recordingServer({ path: '/hook' });
    const { url } = server;
    const plugin = writeRepoPlugin(code, 'doc-command');
    const dir = mkdtempSync(join(tmpdir(), 'byoci-doc-command-'));
    const config = join(dir, 'byoci.yaml');
    writeFileSync(config, ['secrets:', '  order: [env]', 'plugins:', `  ${plugin.file}: { url: '${url}' }`, ''].join('\n'));
    const env = { BYOCI_CONFIG: undefined, BYOCI_SECRET_CHAT_TOKEN: 'chat-t0ken-of-the-test' };
    try {
      const dry = await byoci(['-c', config, '--dry-run', 'chat-say', 'hello', 'chat-t0ken-of-the-test'], { env });
      assert.equal(dry.code, 0, dry.stderr);
      assert.equal(dry.stdout, `would post to ${url}: hello [REDACTED]\n`);
      assert.equal(server.requests.length, 0);
      const real = await byoci(['-c', config, 'chat-say', '--channel', 'ops', 'hello', 'there'], { env });
      assert.equal(real.code, 0, real.stderr);
      assert.equal(real.stdout, 'posted\n');
      assert.deepEqual(
        server.requests.map((r) => ({ auth: r.headers.authorization, body: r.body })),
        [{ auth: 'Bearer chat-t0ken-of-the-test', body: JSON.stringify({ text: 'hello there', channel: 'ops' }) }],
      );
    } finally {
      plugin.remove();
      rmSync(dir, { recursive: true, force: true });
      await server.close();
    }
  });
});

describe('byoci/testing runs a plugin command', suiteNeeds('git', missingCommands('git')), () => {
  test("kit.command: the config naming the plugin, its secret from the kit's store, redacted, --dry-run, exit codes", async () => {
    const kit = await createKit({ plugins: { [HELLO]: { greeting: 'hey' } }, secrets: { 'hello/token': TOKEN } });
    try {
      const said = await kit.command('hello', { args: { who: 'ann', more: ['bo'] }, options: { loud: true, 'leak-token': true } });
      assert.deepEqual(said.stdout, ['HEY ANN, BO token=[REDACTED]']);
      assert.equal(said.exitCode, 0);
      assert.ok(said.lines.some((l) => l.includes('greeting')) && !said.lines.some((l) => l.includes(TOKEN)));
      const dry = await kit.command('hello', { args: { who: 'ann' }, dryRun: true, json: true });
      assert.deepEqual(dry.json, [{ text: 'would say: hey ann', count: 1, namespace: 'selftest', file: kit.configFile }]);
      const refused = await kit.command('hello-admin wipe', { dryRun: true });
      assert.equal(refused.exitCode, 2);
      assert.match(refused.error ?? '', /does not support --dry-run/);
      const failed = await kit.command('hello', { args: { who: 'nobody' } });
      assert.equal(failed.exitCode, 3);
      assert.equal(failed.error, 'nobody to greet (token [REDACTED])');
      assert.equal((await kit.command('nothing')).exitCode, 2);
    } finally {
      await kit.cleanup();
    }
  });
});

describe('declaring commands', () => {
  const plugin = (commands: Parameters<typeof definePlugin>[0]['commands']) =>
    definePlugin({ name: 'decl', description: 'd', config: z.object({ n: z.number().default(1) }), commands, apply() {} });

  test('command() and group() give the declarations and the words calling each', () => {
    const { commands, problems } = declaredCommands(
      plugin(({ command, group }) => [
        command({ name: 'top', description: 'a top command', run: () => 0 }),
        group('grp', 'a group', [command({ name: 'sub', description: 'a sub command', arguments: [{ name: 'x', description: 'x' }], run: () => 0 })]),
      ]),
    );
    assert.deepEqual(problems, []);
    assert.deepEqual(commandLeaves(commands).map((l) => [l.words.join(' '), l.command.description, l.command.arguments.length]), [
      ['top', 'a top command', 0],
      ['grp sub', 'a sub command', 1],
    ]);
  });

  test('bad declarations are problems naming the plugin and the command', () => {
    const { commands, problems } = declaredCommands(
      plugin(({ command, group }) => [
        command({ name: 'Bad Name', description: 'd', run: () => 0 }),
        command({
          name: 'args',
          description: 'd',
          arguments: [
            { name: 'rest', description: 'r', variadic: true },
            { name: 'opt', description: 'o', optional: true },
            { name: 'req', description: 'q' },
          ],
          options: { json: { description: 'j' }, Upper: { description: 'u' } },
          run: () => 0,
        }),
        group('empty', 'no commands', []),
        command({ name: 'args', description: 'twice', run: () => 0 }),
      ]),
    );
    assert.deepEqual(commands, [], 'nothing is registered from a bad declaration');
    assert.deepEqual(problems, [
      'plugin decl: command name "Bad Name" must be one word of lower-case letters, digits and dashes',
      'plugin decl: command args: only the last argument may be variadic (rest is not last)',
      'plugin decl: command args: required argument req comes after an optional one',
      'plugin decl: command args: option --json is a global option of byoci',
      'plugin decl: command args: option name "Upper" must be lower-case letters, digits and dashes',
      'plugin decl: group empty holds no command',
      'plugin decl: command args is declared twice',
    ]);
  });

  test("a handler's args and options are typed from the declaration", async () => {
    // Compile-time (npm run typecheck): `who` is a string, `more` a string[], `times`
    // '1' | '2' | undefined, `loud` a boolean, `config.n` a number.
    const typed = plugin(({ command }) => [
      command({
        name: 'typed',
        description: 'd',
        arguments: [{ name: 'who', description: 'w' }, { name: 'more', description: 'm', variadic: true }],
        options: { loud: { description: 'l' }, times: { value: 'n', description: 't', choices: ['1', '2'] } },
        run(ctx) {
          const who: string = ctx.args.who;
          const more: string[] = ctx.args.more;
          const times: '1' | '2' | undefined = ctx.options.times;
          const loud: boolean = ctx.options.loud;
          const n: number = ctx.config.n;
          return who.length + more.length + (times ? 1 : 0) + (loud ? 1 : 0) + n;
        },
      }),
    ]);
    const [leaf] = commandLeaves(declaredCommands(typed).commands);
    const context = { args: { who: 'ab', more: ['c'] }, options: { loud: true, times: '2' }, config: { n: 1 } };
    assert.equal(await leaf!.command.run(context as never), 2 + 1 + 1 + 1 + 1);
  });
});
