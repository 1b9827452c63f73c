// Records every module URL the main thread loads into the file named by
// BYOCI_TRACE_IMPORTS (one per line), through a module.register() load hook.
// Used as `node --import tsx --import ./test/support/trace-imports.mjs …`.
import { register } from 'node:module';

const file = process.env.BYOCI_TRACE_IMPORTS;
if (file) {
  const hooks = `
import { appendFileSync } from 'node:fs';
export async function load(url, context, next) {
  appendFileSync(${JSON.stringify(file)}, url + '\\n');
  return next(url, context);
}`;
  register(`data:text/javascript,${encodeURIComponent(hooks)}`);
}
