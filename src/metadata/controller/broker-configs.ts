/**
 * Dynamic broker configs (AlterConfigs on a BROKER resource): validation and the records that
 * set them. Pure. The resource is a node id, or empty for the default of every node; the id
 * need not be registered, so a broker can be configured before it first starts, as in Kafka.
 */
import {
  DYNAMIC_BROKER_CONFIGS,
  brokerDefinition,
  dynamicBrokerDefinition,
} from '../../config/definitions.js';
import { parseConfigValue } from '../../config/parse.js';
import type { ErrorCode } from '../../errors/index.js';
import { brokerConfigRecord, type MetadataRecord } from '../records.js';
import type { ConfigChange } from './topics.js';

const NODE_ID = /^(0|[1-9]\d{0,9})$/;
const NODE_ID_MAX = 2 ** 31 - 1;

/** All of one resource's changes or none; each refusal says what to do instead. */
export function alterBrokerConfigs(
  resource: string,
  changes: readonly ConfigChange[],
): { records: MetadataRecord[]; error: { code: ErrorCode; message: string } | null } {
  const refuse = (code: ErrorCode, message: string) => ({ records: [], error: { code, message } });
  if (resource !== '' && (!NODE_ID.test(resource) || Number(resource) > NODE_ID_MAX)) {
    return refuse(
      'INVALID_REQUEST',
      `broker resource "${resource}" must be a node id, or empty for every broker`,
    );
  }
  const names = new Set<string>();
  for (const change of changes) {
    if (names.has(change.name)) {
      return refuse('INVALID_REQUEST', `config "${change.name}" appears more than once`);
    }
    names.add(change.name);
    const definition = dynamicBrokerDefinition(change.name);
    if (definition === undefined) {
      const message =
        brokerDefinition(change.name) !== undefined
          ? `${change.name} is a static broker config: set it in the config file, environment or flags and restart the node`
          : `unknown dynamic broker config "${change.name}"; dynamic: ${DYNAMIC_BROKER_CONFIGS.map((d) => d.name).join(', ')}`;
      return refuse('INVALID_CONFIG', message);
    }
    if (change.value !== null) {
      const parsed = parseConfigValue(definition, change.value);
      if (!parsed.ok) return refuse('INVALID_CONFIG', parsed.error);
    }
  }
  const records = changes.map((c) =>
    brokerConfigRecord(resource, c.name, c.value === null ? null : c.value.trim()),
  );
  return { records, error: null };
}
