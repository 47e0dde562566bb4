export { createHistory, history, type HistoryOptions } from './service.js';
export type { VideoDeletedHandler, VideoDeletedSource, VideoLookup, VideoSummary } from '@flixtube/common';
export type { ViewedHandler, ViewedSource } from './viewed.js';
