/** Error vocabulary shared by broker, SDK and CLI. */
export {
  ERRORS,
  ERROR_CODES,
  GrpcStatus,
  errorInfo,
  isErrorCode,
  type ErrorCode,
} from './codes.js';
export { BrokerError, InvalidArgumentError, type LeaderHint } from './broker-error.js';
