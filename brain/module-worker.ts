/**
 * A worker thread running one of the brain's modules (the journal thread, the retention
 * worker): tsc's `dist/brain/<name>.js`, or, under tsx (running the .ts sources), the .ts
 * through tsx's loader.
 */
import { Worker } from 'node:worker_threads';

/**
 * `from` is the caller's `import.meta.url`: a file of brain/ under tsx or in tsc's dist, or a
 * chunk of dist/chunks/ in the bundled CLI. `../brain/<name>.js` is tsc's file from both built
 * places (the bundle has no file of that name beside its chunks).
 */
export function brainWorker(from: string, name: string, workerData: unknown): Worker {
  if (from.endsWith('.ts')) {
    const file = new URL(`./${name}.ts`, from).href;
    const tsx = import.meta.resolve('tsx/esm/api');
    const code = `import(${JSON.stringify(tsx)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(file)}); })`;
    return new Worker(code, { eval: true, workerData });
  }
  return new Worker(new URL(`../brain/${name}.js`, from), { workerData });
}
