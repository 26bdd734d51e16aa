/**
 * Validation and effective values of topic configs. Pure: the broker defaults are passed in.
 */
import { TOPIC_CONFIGS, topicDefinition } from '../../config/definitions.js';
import { parseConfigValue } from '../../config/parse.js';

/** Broker config values that topic configs default to, keyed by broker config name. */
export type BrokerDefaults = ReadonlyMap<string, string>;

/** Null when every entry is a known topic config with a valid value; else the first problem. */
export function checkTopicConfigs(configs: ReadonlyMap<string, string>): string | null {
  for (const [name, value] of configs) {
    const definition = topicDefinition(name);
    if (definition === undefined) {
      const known = TOPIC_CONFIGS.map((d) => d.name).join(', ');
      return `unknown topic config "${name}"; known: ${known}`;
    }
    const parsed = parseConfigValue(definition, value);
    if (!parsed.ok) return parsed.error;
  }
  return null;
}

export interface EffectiveConfig {
  readonly name: string;
  readonly value: string;
  readonly source: 'topic' | 'broker' | 'default';
  readonly doc: string;
}

/** Every topic config with the value in force: the topic's own, else the broker's default. */
export function effectiveTopicConfigs(
  topicConfigs: ReadonlyMap<string, string>,
  brokerDefaults: BrokerDefaults,
  brokerExplicit: ReadonlySet<string>,
): EffectiveConfig[] {
  return TOPIC_CONFIGS.map((definition) => {
    const own = topicConfigs.get(definition.name);
    if (own !== undefined) {
      return { name: definition.name, value: own, source: 'topic', doc: definition.doc };
    }
    const brokerKey = definition.brokerDefault;
    const fromBroker = brokerKey === null ? undefined : brokerDefaults.get(brokerKey);
    const value = fromBroker ?? definition.defaultValue ?? '';
    const source = brokerKey !== null && brokerExplicit.has(brokerKey) ? 'broker' : 'default';
    return { name: definition.name, value, source, doc: definition.doc };
  });
}
