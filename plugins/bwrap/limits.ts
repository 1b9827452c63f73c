/** The rlimit/taskset limits are generic to namespace sandboxes: they live in core. */
export { allowedCpus, cpuList, expandCpuList, limitPrefix, limitProblems, limitTools, parseSize } from '../../core/index.js';
