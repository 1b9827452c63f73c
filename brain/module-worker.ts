/**
 * The brain's worker threads: brainWorker starts one of its modules (the journal thread, the
 * retention worker), stopWorker ends any of them (those too, the WAL checkpointer, the
 * /metrics counts reader).
 */
import { Worker } from 'node:worker_threads';

/**
 * tsc's `dist/brain/<name>.js`, or, under tsx (running the .ts sources), the .ts through
 * tsx's loader. `from` is the caller's `import.meta.url`: a file of brain/ under tsx or in
 * tsc's dist, or a chunk of dist/chunks/ in the bundled CLI. `../brain/<name>.js` is tsc's
 * file from both built places (the bundle has no file of that name beside its chunks).
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

/**
 * Asks a worker to finish (`message`: it closes its connection and its port), waits for its
 * exit at most `graceMs`, then terminates it (a worker stuck in a query does not hold up the
 * brain's shutdown). `exited` resolves on the worker's 'exit' event.
 */
export async function stopWorker(worker: Worker, exited: Promise<void>, message: unknown, graceMs = 2_000): Promise<void> {
  worker.postMessage(message);
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([exited, new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)))]);
  clearTimeout(timer);
  await worker.terminate();
}
