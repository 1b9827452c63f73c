import assert from 'node:assert/strict';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { HOOK_NAMES, createHooks, type TapHooksInStep } from '../../hooks/index.js';
import { BUILTINS, DEFAULT_PLUGINS, registry } from '../../plugins/index.js';
import { declaredCommands } from '../../core/commands.js';

test('createHooks builds a frozen object with exactly the documented hooks, fresh per run', () => {
  const a = createHooks();
  const b = createHooks();
  assert.ok(Object.isFrozen(a));
  assert.deepEqual(Object.keys(a), [...HOOK_NAMES]);
  assert.notEqual(a.fetch, b.fetch);
});

test('the plugin-facing TapHooks type matches the hooks (compile-time check)', () => {
  const inStep: TapHooksInStep = {
    verify: true,
    sweep: true,
    discover: true,
    prepare: true,
    fetch: true,
    merge: true,
    gate: true,
    testInContainer: true,
    push: true,
    report: true,
    queueChanged: true,
    shutdown: true,
  };
  assert.deepEqual(Object.keys(inStep), [...HOOK_NAMES]);
});

test('the registry lists every plugin folder, under its own name', () => {
  const folders = readdirSync('plugins').filter((entry) => statSync(join('plugins', entry)).isDirectory()).sort();
  assert.deepEqual([...registry.keys()].sort(), folders);
  for (const name of DEFAULT_PLUGINS) assert.ok(registry.has(name), `default plugin ${name} is registered`);
});

test("each registry entry's static facts are those of the plugin it loads", async () => {
  for (const entry of BUILTINS) {
    const plugin = await entry.load();
    assert.equal(plugin.name, entry.name);
    assert.equal(plugin.description, entry.description, `description of ${entry.name}`);
    const { commands, problems } = declaredCommands(plugin);
    assert.deepEqual(problems, [], `commands of ${entry.name}`);
    assert.deepEqual(
      commands.map((c) => ({ name: c.name, description: c.description })),
      (entry.commands ?? []).map((c) => ({ name: c.name, description: c.description })),
      `the static command facts of ${entry.name}`,
    );
  }
});
