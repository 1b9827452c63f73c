/**
 * Every command of the CLI. A command module exports `register(program)`.
 * Add one line here per new command file.
 */
import type { Command } from 'commander';
import * as brain from './brain.js';
import * as doctor from './doctor.js';
import * as flakes from './flakes.js';
import * as image from './image.js';
import * as irc from './irc.js';
import * as job from './job.js';
import * as land from './land.js';
import * as list from './list.js';
import * as queue from './queue.js';
import * as secrets from './secrets.js';
import * as status from './status.js';
import * as test from './test.js';

export const COMMANDS: readonly { register(program: Command): void }[] = [
  land,
  list,
  queue,
  test,
  doctor,
  image,
  secrets,
  irc,
  job,
  brain,
  status,
  flakes,
];
