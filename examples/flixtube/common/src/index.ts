export { DEMO_VIDEOS, type DemoVideo } from './demo-videos.js';
export { metadataLookup, summaryOf, type VideoLookup, type VideoSummary } from './video-lookup.js';
