export { main } from './main.js';
/** A process's memory as `flotilla status` reports it (for benchmarks and tools). */
export { memory as processMemory } from './commands/status.js';
