export { type ControlAdmin, joinToken } from './control-admin.js';
export { type ServiceProcess, spawnService } from './process.js';
export { TestCa } from './test-ca.js';
