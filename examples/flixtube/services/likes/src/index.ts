export { createLikes, likes, type LikesOptions } from './service.js';
export type { LikedPublisher, VideoDeletedSource } from './messages.js';
export type { VideoLookup, VideoSummary } from '@flixtube/common';
