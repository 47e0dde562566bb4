export { DEMO_VIDEOS, type DemoVideo } from './demo-videos.js';
export { metadataLookup, summaryOf, type VideoLookup, type VideoSummary } from './video-lookup.js';
export { subscribeVideoDeleted, type VideoDeletedHandler, type VideoDeletedSource } from './video-deleted.js';
