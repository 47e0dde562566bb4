export { checkFfmpeg, frameArgs, grabFrame, UndecodableVideo } from './ffmpeg.js';
export { posterKey } from './messages.js';
export { PLACEHOLDER_JPEG } from './placeholder.js';
export { createThumbnails, thumbnails } from './service.js';
