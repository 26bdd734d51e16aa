/** Structured JSON logs (pino) on stdout; one logger per node, children per component. */
import { pino, type Logger } from 'pino';
import type { LogLevel } from '../config/index.js';

export function createLogger(level: LogLevel, nodeId: number): Logger {
  return pino({ level, base: { node: nodeId }, timestamp: pino.stdTimeFunctions.isoTime });
}
