export { createMetadata, metadata, type MetadataOptions } from './service.js';
