/**
 * The raw floors' lines (bench/floor-report.ts): the gRPC and TCP stream rows, the CPU floor's
 * formula with and without the TCP leg, and which streams the transport step needs to be
 * complete. Pure: hand-made figures, no processes, no clock.
 */
import { describe, expect, it } from 'vitest';
import {
  areRawFloorsComplete,
  renderRawFloors,
  type CpuFloorFigures,
  type RawFloorFigures,
  type TransportFigures,
} from '../../../bench/floor-report.js';

const grpcStream: TransportFigures = {
  messageBytes: 1024 * 1024,
  requestedBytes: 102_400_000,
  bytes: 102_400_000,
  seconds: 0.31,
  mbPerSec: 330.32,
  isComplete: true,
  serverCpuSeconds: 0.2,
  clientCpuSeconds: 0.18,
  serverCpuMsPerMb: 1.95,
  clientCpuMsPerMb: 1.76,
  cpuMsPerMb: 3.71,
};

const tcpStream: TransportFigures = {
  ...grpcStream,
  seconds: 0.1,
  mbPerSec: 1_024,
  serverCpuSeconds: 0.06,
  clientCpuSeconds: 0.06,
  serverCpuMsPerMb: 0.59,
  clientCpuMsPerMb: 0.59,
  cpuMsPerMb: 1.18,
};

const cpuFloor: CpuFloorFigures = {
  replicationFactor: 3,
  rawLevelDbCpuMsPerMb: 4.69,
  rawGrpcCpuMsPerMb: 3.71,
  rawTcpCpuMsPerMb: 1.18,
  floorCpuMsPerMb: 20.14,
  cores: 2,
  boundMbPerSec: 99.3,
  clusterCpuMsPerMb: null,
  clusterMbPerSec: null,
  clusterToBound: null,
};

function floors(overrides: Partial<RawFloorFigures>): RawFloorFigures {
  return {
    warmupCount: 50,
    syncWrites: null,
    roundTrips: null,
    ackFloor: null,
    transport: grpcStream,
    tcpTransport: tcpStream,
    cpuFloor,
    ...overrides,
  };
}

function rendered(rawFloors: RawFloorFigures): Map<string, string> {
  const rows = new Map<string, string>();
  renderRawFloors({ rawFloors }, (label, text) => rows.set(label.trim(), text));
  return rows;
}

describe('renderRawFloors', () => {
  it('prints the TCP stream beside the gRPC stream, in the same form', () => {
    const rows = rendered(floors({}));
    expect(rows.get('gRPC stream')).toBe(
      '102.4 MB in 1 MiB messages on loopback in 0.31 s: 330.3 MB/s',
    );
    expect(rows.get('TCP stream')).toBe(
      '102.4 MB in 1 MiB writes on loopback in 0.10 s: 1024.0 MB/s',
    );
  });

  it('prices one gRPC leg and RF - 1 TCP legs', () => {
    expect(rendered(floors({})).get('CPU floor RF 3')).toBe(
      '3 × 4.69 LevelDB + 1 × 3.71 gRPC + 2 × 1.18 TCP = 20.14 ms/MB: at most 99.3 MB/s on 2 cores',
    );
  });

  it('says so when the follower legs are priced as gRPC for want of a TCP figure', () => {
    const fallback = { ...cpuFloor, rawTcpCpuMsPerMb: null, floorCpuMsPerMb: 25.2 };
    const rows = rendered(floors({ tcpTransport: null, cpuFloor: fallback }));
    expect(rows.has('TCP stream')).toBe(false);
    expect(rows.get('CPU floor RF 3')).toMatch(
      /^3 × 4\.69 LevelDB \+ 3 × 3\.71 gRPC \(no TCP stream figure: .*\) = 25\.20 ms\/MB/,
    );
  });

  it('has no follower leg with one replica', () => {
    const single = { ...cpuFloor, replicationFactor: 1, floorCpuMsPerMb: 8.4 };
    expect(rendered(floors({ cpuFloor: single })).get('CPU floor RF 1')).toMatch(
      /^1 × 4\.69 LevelDB \+ 1 × 3\.71 gRPC = 8\.40 ms\/MB/,
    );
  });
});

describe('areRawFloorsComplete', () => {
  const options = { workload: 'produce', oneAtATimeRecords: 0, clusterNodes: 3 } as const;

  it('needs both streams measured to their end with a cluster', () => {
    expect(areRawFloorsComplete(floors({}), options)).toBe(true);
    expect(areRawFloorsComplete(floors({ tcpTransport: null }), options)).toBe(false);
    const cutShort = { ...tcpStream, isComplete: false };
    expect(areRawFloorsComplete(floors({ tcpTransport: cutShort }), options)).toBe(false);
    expect(areRawFloorsComplete(floors({ transport: null }), options)).toBe(false);
  });

  it('needs neither without a cluster', () => {
    const none = floors({ transport: null, tcpTransport: null });
    expect(areRawFloorsComplete(none, { ...options, clusterNodes: 0 })).toBe(true);
  });
});
