export {
  BUS_CONTRACT_RUN,
  BUS_CONTRACT_WAIT_MS,
  busContract,
  type BusContractCase,
  type BusContractEnds,
} from './bus-contract.js';
export { type ControlAdmin, joinToken } from './control-admin.js';
export { echoMain, echoService } from './echo-service.js';
export {
  nothingLost,
  type NothingLostFault,
  type NothingLostOptions,
  type NothingLostReport,
} from './nothing-lost.js';
export { type ServiceProcess, spawnService } from './process.js';
export { standaloneBus } from './standalone-bus.js';
export { TestCa } from './test-ca.js';
export {
  isContractEvent,
  recordingReceiver,
  REVOCATION_DELIVERY_MS,
  revocationContract,
  type RevocationContractCase,
  type RevocationEnds,
  type RevocationReceiver,
} from './revocation-contract.js';
export { startTestIssuer, type TestIssuer, type TestTokenOptions } from './test-issuer.js';
export { fleetJoiner, type JoinableControl, policiesWithGrants } from './test-fleet.js';
export { type RabbitVhost, rabbitVhost } from './rabbit-vhost.js';
export { until } from './until.js';
