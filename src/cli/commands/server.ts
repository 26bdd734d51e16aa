/**
 * `brook server`: runs a node. Every broker config key is a flag (`log.retention.ms` →
 * `--log-retention-ms`), an environment variable (`BROOK_LOG_RETENTION_MS`) and a config file
 * key; flags win over the environment, which wins over the file.
 */
import { Option, type Command } from 'commander';
import {
  BROKER_CONFIGS,
  ConfigError,
  flagName,
  envName,
  loadBrokerConfig,
  type BrokerConfig,
} from '../../config/index.js';
import { createLogger, DataDirError, startBroker, type RunningBroker } from '../../server/index.js';

/** Short spellings people reach for first; each maps to one config key. */
const ALIASES: Readonly<Record<string, string>> = {
  'auto-create-topics': 'auto.create.topics.enable',
  'retention-check-interval-ms': 'log.retention.check.interval.ms',
  fsync: 'log.fsync',
  voters: 'raft.voters',
};

export function registerServerCommand(program: Command): void {
  const command = program
    .command('server')
    .description('run a Brook node (Ctrl-C or SIGTERM stops it cleanly)')
    .option(
      '-c, --config <file>',
      'config file: .json object or Java-style .properties (env BROOK_CONFIG)',
    )
    .option('--quickstart', 'print how to create a topic, produce and consume once the node is up');
  for (const definition of BROKER_CONFIGS) {
    const isBool = definition.type.kind === 'bool';
    const flag = `--${flagName(definition.name)} ${isBool ? '[bool]' : '<value>'}`;
    const defaultText =
      definition.defaultValue === null ? '' : ` (default: ${definition.defaultValue})`;
    command.addOption(
      new Option(flag, `${definition.doc}${defaultText} [env ${envName(definition.name)}]`),
    );
  }
  for (const [alias, key] of Object.entries(ALIASES)) {
    const isBool = BROKER_CONFIGS.find((d) => d.name === key)?.type.kind === 'bool';
    command.addOption(
      new Option(
        `--${alias} ${isBool ? '[bool]' : '<value>'}`,
        `same as --${flagName(key)}`,
      ).hideHelp(),
    );
  }
  command.addHelpText(
    'after',
    `
Examples:
  brook server                                   # 127.0.0.1:7070, data in ./data
  brook server --node-id 1 --listen 0.0.0.0:7071 --data-dir /var/lib/brook
  BROOK_LOG_FSYNC=interval brook server -c server.properties
  brook server --node-id 1 --listen 127.0.0.1:7071 --data-dir d1 \\
    --voters 1@127.0.0.1:7071,2@127.0.0.1:7072,3@127.0.0.1:7073   # one of three Raft voters

In a Kubernetes StatefulSet pod, BROOK_POD_MODE=true derives node.id, listen,
advertised.address and raft.voters from the pod's name and DNS (docs/kubernetes.md).`,
  );
  command.action(async (opts: Record<string, string | boolean | undefined>) => {
    await runServer(opts);
  });
}

async function runServer(opts: Record<string, string | boolean | undefined>): Promise<void> {
  let config: BrokerConfig;
  try {
    config = loadBrokerConfig({
      flags: flagsToConfig(opts),
      env: process.env,
      file: (opts['config'] as string | undefined) ?? process.env['BROOK_CONFIG'] ?? null,
    });
  } catch (error) {
    if (error instanceof ConfigError) fail(error.message);
    throw error;
  }
  const logger = createLogger(config.logLevel, config.nodeId);
  const onFatal = (error: unknown): void => {
    logger.fatal(
      { err: error },
      'storage fault: local state can no longer be trusted; exiting so the node restarts from what is durable',
    );
    process.exit(70);
  };
  process.on('uncaughtException', (error) => {
    logger.fatal({ err: error }, 'uncaught exception; exiting');
    process.exit(70);
  });
  let broker: RunningBroker;
  try {
    broker = await startBroker(config, { logger, onFatal });
  } catch (error) {
    if (error instanceof DataDirError) fail(error.message);
    throw error;
  }
  if (opts['quickstart'] === true) void broker.ready.then(() => printQuickstart(broker.address));
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting without waiting');
      process.exit(130);
    }
    stopping = true;
    logger.info({ signal }, 'controlled shutdown');
    broker.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

/** Maps commander's camelCase option names back to config keys; drops unset ones. */
function flagsToConfig(opts: Record<string, string | boolean | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  const byCamel = new Map<string, string>();
  for (const d of BROKER_CONFIGS) byCamel.set(camel(flagName(d.name)), d.name);
  for (const [alias, key] of Object.entries(ALIASES)) byCamel.set(camel(alias), key);
  for (const [name, value] of Object.entries(opts)) {
    const key = byCamel.get(name);
    if (key === undefined || value === undefined) continue;
    out[key] = value === true ? 'true' : String(value);
  }
  return out;
}

function camel(flag: string): string {
  return flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

function printQuickstart(address: string): void {
  const bootstrap = address === '127.0.0.1:7070' ? '' : ` --bootstrap ${address}`;
  process.stderr.write(`
Brook is running at ${address}. In another terminal:

  ./bin/brook topics create demo --partitions 3${bootstrap}
  echo "hello, brook" | ./bin/brook produce demo${bootstrap}
  ./bin/brook consume demo --from-beginning --max-messages 1${bootstrap}

Stop the node with Ctrl-C. Data lives in ./data.
`);
}

function fail(message: string): never {
  process.stderr.write(`brook: ${message}\n`);
  process.exit(1);
}
