/** The broker process: wiring, gRPC services, and start-up errors. */
export { startBroker, type BrokerOptions, type RunningBroker } from './broker.js';
export { DataDirError } from './node-identity.js';
export { createLogger } from './logger.js';
export { TRAILER_ERROR_CODE, TRAILER_LEADER_ADDRESS, TRAILER_LEADER_ID } from './error-status.js';
