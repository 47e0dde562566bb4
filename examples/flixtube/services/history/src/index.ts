export { createHistory, history, type HistoryOptions } from './service.js';
export type { VideoLookup, VideoSummary } from './video-lookup.js';
export type { ViewedHandler, ViewedSource } from './viewed.js';
