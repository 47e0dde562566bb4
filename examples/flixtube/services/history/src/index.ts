export { createHistory, history, type HistoryOptions } from './service.js';
export type { VideoLookup, VideoSummary } from './video-lookup.js';
