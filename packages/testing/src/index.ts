export { type ControlAdmin, joinToken } from './control-admin.js';
export { echoMain, echoService } from './echo-service.js';
export { type ServiceProcess, spawnService } from './process.js';
export { TestCa } from './test-ca.js';
