export { hello } from './service.js';
