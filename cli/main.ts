#!/usr/bin/env node
// Entry point of the `byoci` command (package.json bin).
import { main } from './program.js';

process.exitCode = await main(process.argv.slice(2));
