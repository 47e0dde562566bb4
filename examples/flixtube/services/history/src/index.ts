export { createHistory, history, type HistoryOptions } from './service.js';
export type { VideoLookup, VideoSummary } from '@flixtube/common';
export type { ViewedHandler, ViewedSource } from './viewed.js';
export type { VideoDeletedHandler, VideoDeletedSource } from './video-deleted.js';
