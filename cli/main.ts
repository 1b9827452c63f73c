#!/usr/bin/env node
// Entry point of the `byoci` command (package.json bin).
import { closeInheritedFds } from '../core/fds.js';
import { main } from './program.js';
import { recordSpan } from '../core/timings.js';

recordSpan('step', 'module load (cli)', performance.nodeTiming.bootstrapComplete);

// The caller's open files (fds above 2) never reach git, ssh, a sandbox or a container.
closeInheritedFds();
process.exitCode = await main(process.argv.slice(2));
