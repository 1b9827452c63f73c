/**
 * Every command of the CLI, as static facts (name, the term and description `byoci --help`
 * lists) and a `load()` importing the module that registers it. Only the command a call
 * names is loaded, so `byoci --help` and `byoci --version` import no command and no
 * plugin. A test checks these facts against what each module registers.
 * Add one entry here per new command file (its module exports `register(program)`).
 * Commands plugins contribute (`byoci irc`, `byoci image`) are not here: they are the
 * plugins' own (definePlugin `commands`), listed from the registry's static facts.
 */
import type { Command } from 'commander';

export interface CommandModule {
  register(program: Command): void;
}

export interface CommandEntry {
  readonly name: string;
  /** How `byoci --help` lists it, e.g. `land [options]`. */
  readonly term: string;
  readonly description: string;
  load(): Promise<CommandModule>;
}

export const COMMANDS: readonly CommandEntry[] = [
  {
    name: 'land',
    term: 'land [options]',
    description: 'land every approved proposal of the configured targets (or one with --proposal)',
    load: () => import('./land.js'),
  },
  {
    name: 'list',
    term: 'list [options]',
    description: 'list the proposals of the configured targets: landable ones, and why each other one is not',
    load: () => import('./list.js'),
  },
  {
    name: 'queue',
    term: 'queue [options] [target]',
    description: "each target's landing queue in order: position, proposal, forge, state, attempts, priority, freeze; runs and batches under way and their containers; the last landings and runs",
    load: () => import('./queue.js'),
  },
  {
    name: 'test',
    term: 'test [options]',
    description: 'try a branch: merge it into the target and run the project tests, without landing',
    load: () => import('./test.js'),
  },
  {
    name: 'doctor',
    term: 'doctor',
    description: 'check every prerequisite of this slave: one line each, ok or what to do',
    load: () => import('./doctor.js'),
  },
  {
    name: 'plugins',
    term: 'plugins',
    description: 'the plugins this config loads: source (built-in, path, package), API version, hooks tapped, secrets and whether set, commands',
    load: () => import('./plugins.js'),
  },
  {
    name: 'secrets',
    term: 'secrets',
    description: 'manage the credentials held on this slave (keys are <plugin>/<secret>, e.g. git/ssh-key)',
    load: () => import('./secrets.js'),
  },
  {
    name: 'job',
    term: 'job',
    description: 'the Jenkins jobs of jobs/ (Jenkins Job Builder): list them, replay one locally',
    load: () => import('./job.js'),
  },
  {
    name: 'brain',
    term: 'brain [options]',
    description: 'run the brain: receive Launchpad and GitHub webhooks, trigger the Jenkins jobs the rules name, serve the status page',
    load: () => import('./brain.js'),
  },
  {
    name: 'status',
    term: 'status [options]',
    description: "the status page from the store: per target the queue, runs, landings, failures, flakes; and the brain's triggers",
    load: () => import('./status.js'),
  },
  {
    name: 'flakes',
    term: 'flakes [options]',
    description: 'list the flakiest tests: those that passed and failed on the same tested tree, with the evidence',
    load: () => import('./flakes.js'),
  },
];
