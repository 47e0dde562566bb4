// What a fleet needs to start the control plane: in this process (`flotilla up`,
// `flotilla control`, tests), or as a process of its own (`@flotilla/control/main`). Everything
// else about it is its API, in `@flotilla/kit/contracts` (control-api).
// The CA's metric families, for checks of the fleet's metric names (test/prometheus).
export { type CaMetrics, createCaMetrics } from './metrics.js';
export { type RunningControl, type StartControlOptions, startControl } from './start.js';
