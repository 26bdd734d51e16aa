import { describe, expect, it } from 'vitest';
import { MetadataDelta, MetadataImage, imageToRecords } from '../../../src/metadata/image.js';
import { alterBrokerConfigs } from '../../../src/metadata/controller/broker-configs.js';
import { checkMetadataRecord, type MetadataRecord } from '../../../src/metadata/records.js';

const THROTTLE = 'leader.replication.throttled.rate';

function applied(base: MetadataImage, records: readonly MetadataRecord[]): MetadataImage {
  const delta = new MetadataDelta(base);
  for (const record of records) delta.replay(record);
  return delta.apply().image;
}

describe('alterBrokerConfigs', () => {
  it('writes v2 broker ConfigRecords for the cluster default and for one broker', () => {
    const all = alterBrokerConfigs('', [{ name: THROTTLE, value: ' 1048576 ' }]);
    expect(all.error).toBeNull();
    expect(all.records).toEqual([
      {
        type: 'ConfigRecord',
        version: 2,
        resourceType: 'broker',
        resourceName: '',
        name: THROTTLE,
        value: '1048576',
      },
    ]);
    expect(alterBrokerConfigs('3', [{ name: THROTTLE, value: null }]).records).toHaveLength(1);
  });

  it.each([
    ['broker-0', [{ name: THROTTLE, value: '1' }], 'INVALID_REQUEST', 'must be a node id'],
    ['-1', [{ name: THROTTLE, value: '1' }], 'INVALID_REQUEST', 'must be a node id'],
    ['01', [{ name: THROTTLE, value: '1' }], 'INVALID_REQUEST', 'must be a node id'],
    ['99999999999', [{ name: THROTTLE, value: '1' }], 'INVALID_REQUEST', 'must be a node id'],
    ['', [{ name: 'log.retention.ms', value: '1' }], 'INVALID_CONFIG', 'static broker config'],
    ['', [{ name: 'retention.ms', value: '1' }], 'INVALID_CONFIG', 'unknown dynamic broker'],
    ['', [{ name: 'nope', value: null }], 'INVALID_CONFIG', 'unknown dynamic broker'],
    ['', [{ name: THROTTLE, value: '0' }], 'INVALID_CONFIG', 'between 1 and'],
    ['', [{ name: THROTTLE, value: '10MB' }], 'INVALID_CONFIG', 'whole number'],
    [
      '',
      [
        { name: THROTTLE, value: '1' },
        { name: THROTTLE, value: null },
      ],
      'INVALID_REQUEST',
      'more than once',
    ],
  ] as const)('refuses resource %j with %j: %s', (resource, changes, code, message) => {
    const { records, error } = alterBrokerConfigs(resource, changes);
    expect(records).toEqual([]);
    expect(error?.code).toBe(code);
    expect(error?.message).toContain(message);
  });
});

describe('broker configs in the image', () => {
  it('applies, overrides per broker, removes, and survives a snapshot', () => {
    const set = (resource: string, value: string | null) =>
      alterBrokerConfigs(resource, [{ name: THROTTLE, value }]).records;
    let image = applied(MetadataImage.EMPTY, [...set('', '1000'), ...set('2', '50')]);
    expect(image.brokerConfig(1, THROTTLE)).toBe('1000');
    expect(image.brokerConfig(2, THROTTLE)).toBe('50');

    const records = imageToRecords(image);
    records.forEach((r) => checkMetadataRecord(JSON.parse(JSON.stringify(r))));
    expect(applied(MetadataImage.EMPTY, records).brokerConfigs).toEqual(image.brokerConfigs);

    image = applied(image, set('2', null));
    expect(image.brokerConfig(2, THROTTLE)).toBe('1000');
    image = applied(image, set('', null));
    expect(image.brokerConfig(2, THROTTLE)).toBeUndefined();
    expect(image.brokerConfigs.size).toBe(0);
  });

  it('leaves the base image untouched', () => {
    const base = applied(
      MetadataImage.EMPTY,
      alterBrokerConfigs('', [{ name: THROTTLE, value: '7' }]).records,
    );
    applied(base, alterBrokerConfigs('', [{ name: THROTTLE, value: '9' }]).records);
    expect(base.brokerConfig(0, THROTTLE)).toBe('7');
  });

  it('refuses a ConfigRecord version this release does not know', () => {
    expect(() =>
      checkMetadataRecord({ type: 'ConfigRecord', version: 3, resourceType: 'broker' }),
    ).toThrow(/newer Brook/);
  });
});
