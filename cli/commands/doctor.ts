import type { Command } from 'commander';
import { ConfigError, describeError, formatProblem } from '../../core/errors.js';
import { createOutput, globalOptions, loadRuntime, createBot, reportError } from '../context.js';

interface Line {
  ok: boolean;
  what: string;
  detail: string;
  /** A failure's code in the operator-error catalogue (docs/errors.md); in --json output. */
  code?: string;
}

export function register(program: Command): void {
  program
    .command('doctor')
    .description('check every prerequisite of this slave: one line each, ok or what to do')
    .addHelpText('after', '\nExit codes: 0 all ok, 2 a problem was found (each FAIL line says what to do).')
    .action(async (...args: unknown[]) => {
      const command = args[args.length - 1] as Command;
      const globals = globalOptions(command);
      const output = createOutput(globals);
      const lines: Line[] = [];
      const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
      lines.push({
        ok: major > 20 || (major === 20 && minor >= 19),
        what: 'node',
        detail: major > 20 || (major === 20 && minor >= 19) ? `v${process.versions.node}` : `v${process.versions.node}: byoci needs Node >= 20.19`,
      });
      try {
        const rt = await loadRuntime(globals, output.redactor);
        const projects = Object.keys(rt.config.settings.projects);
        lines.push({
          ok: true,
          what: 'config',
          detail: `${rt.config.file} (namespace ${rt.config.namespace}; projects: ${projects.join(', ') || 'none'})`,
        });
        lines.push({ ok: true, what: 'secrets', detail: `stores in lookup order: ${rt.stores.map((s) => s.name).join(', ')}` });
        const bot = await createBot(rt);
        try {
          lines.push({ ok: true, what: 'plugins', detail: bot.plugins.join(', ') });
          const { problems, notes } = await bot.verify();
          for (const note of notes) lines.push({ ok: true, what: note.source, detail: note.message });
          for (const p of problems) lines.push({ ok: false, what: p.source, detail: p.hint ? `${p.message} -> ${p.hint}` : p.message, code: p.code ?? 'verify-failed' });
        } finally {
          await bot.shutdown('done');
        }
      } catch (error) {
        if (error instanceof ConfigError) {
          for (const p of error.problems) lines.push({ ok: false, what: 'config', detail: formatProblem(p), code: p.code ?? error.code });
        } else {
          reportError(error, output.log, output.redactor, { json: globals.json });
          lines.push({ ok: false, what: 'internal', detail: error instanceof Error ? error.message : String(error), code: describeError(error).code });
        }
      }
      if (globals.json) output.printJson(lines);
      else for (const l of lines) output.print(`${l.ok ? 'ok  ' : 'FAIL'}  ${l.what.padEnd(10)} ${l.detail}`);
      process.exitCode = lines.every((l) => l.ok) ? 0 : 2;
    });
}
