// What a fleet needs to start the control plane: in this process (`flotilla up`,
// `flotilla control`, tests), or as a process of its own (`@flotilla/control/main`). Everything
// else about it is its API, in `@flotilla/kit/contracts` (control-api).
export { type RunningControl, type StartControlOptions, startControl } from './start.js';
