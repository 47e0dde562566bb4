export { createVideoUpload, videoUpload } from './service.js';
export { sniffVideo, VIDEO_TYPES, type VideoType } from './sniff.js';
