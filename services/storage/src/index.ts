export { createStorage, storage, storageInternals, type StorageOptions } from './service.js';
export { type Bucket, BucketDeclaration, readBucketsFile, toBuckets } from './buckets.js';
