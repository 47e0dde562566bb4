export { TestCa } from './test-ca.js';
