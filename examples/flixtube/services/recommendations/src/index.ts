export { createRecommendations, recommendations, type RecommendationsOptions } from './service.js';
export type { SignalHandlers, SignalSource } from './signals.js';
export type { VideoLookup, VideoSummary } from '@flixtube/common';
