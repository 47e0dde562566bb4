export { metadata } from './service.js';
