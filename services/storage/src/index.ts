export { startStorage } from './start.js';
// The metric families, for checks of the fleet's metric names (test/prometheus).
export { type StorageMetrics, storageMetrics } from './metrics.js';
export { createStorage, storage, storageInternals, type StorageOptions } from './service.js';
export { type Bucket, BucketDeclaration, readBucketsFile, toBuckets } from './buckets.js';
// The segment format's code, for the benchmark's in-process baseline (b).
export { decodeHeader } from './sse/format.js';
export { openRange, planRange, sealSegment, sealStream } from './sse/segments.js';
