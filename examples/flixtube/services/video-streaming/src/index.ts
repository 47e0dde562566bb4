export { createVideoStreaming, videoStreaming, type StreamingOptions } from './service.js';
export { parseByteRange, type ByteRange } from './byte-range.js';
