export { createMetadata, metadata, type MetadataOptions } from './service.js';
export type { ViewPublisher } from './view-routes.js';
