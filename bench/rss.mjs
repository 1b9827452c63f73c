// Loaded with `node --import` by bench/landing.ts: writes this process's peak RSS (KiB,
// process.resourceUsage().maxRSS) to $BYOCI_BENCH_RSS at exit.
import { appendFileSync } from 'node:fs';

const file = process.env.BYOCI_BENCH_RSS;
if (file) process.on('exit', () => appendFileSync(file, `${process.resourceUsage().maxRSS}\n`));
