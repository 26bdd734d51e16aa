/**
 * A tiny synchronous network of RaftCores for hand-driven unit tests (the randomised, faulty
 * network lives in test/sim/). Each node persists instantly into an in-memory store, so a
 * "crash" keeps exactly what its Readies persisted. Messages wait in one FIFO queue until
 * deliver() runs; `drop` filters let a test cut links.
 */
import { RaftCore } from '../../../src/raft/core.js';
import {
  EMPTY_HARD_STATE,
  EntryType,
  type ConfState,
  type Entry,
  type HardState,
  type Message,
  type NodeId,
  type RaftConfig,
  type Snapshot,
} from '../../../src/raft/types.js';
import { SeededRng } from '../../../src/util/rng.js';

export interface Store {
  hardState: HardState;
  snapshot: Snapshot | null;
  entries: Entry[];
}

export class Net {
  readonly cores = new Map<NodeId, RaftCore>();
  readonly stores = new Map<NodeId, Store>();
  readonly applied = new Map<NodeId, Entry[]>();
  readonly restored = new Map<NodeId, Snapshot[]>();
  readonly queue: Message[] = [];
  /** Return true to drop a message. */
  drop: (m: Message) => boolean = () => false;
  private seed = 1;

  constructor(
    readonly conf: ConfState,
    readonly overrides: Partial<RaftConfig> = {},
    ids: readonly NodeId[] = [...conf.voters, ...conf.observers].map((m) => m.id),
  ) {
    for (const id of ids) this.start(id);
  }

  start(id: NodeId): RaftCore {
    let store = this.stores.get(id);
    if (store === undefined) {
      store = { hardState: EMPTY_HARD_STATE, snapshot: null, entries: [] };
      this.stores.set(id, store);
    }
    const config: RaftConfig = {
      id,
      initialConf: this.conf,
      electionTicks: 10,
      heartbeatTicks: 1,
      inflightAppendsMax: 4,
      appendBytesMax: 1024,
      snapshotChunkBytes: 16,
      uncommittedBytesMax: 1 << 20,
      ...this.overrides,
    };
    const core = new RaftCore(
      config,
      { ...store, entries: [...store.entries] },
      new SeededRng(this.seed++),
    );
    this.cores.set(id, core);
    this.applied.set(id, store.snapshot === null ? [] : []);
    return core;
  }

  crash(id: NodeId): void {
    this.cores.delete(id);
  }

  core(id: NodeId): RaftCore {
    const core = this.cores.get(id);
    if (core === undefined) throw new Error(`node ${id} is down`);
    return core;
  }

  /** Runs every node's Ready loop until quiet; messages go to the queue. */
  flush(): void {
    for (let round = 0; round < 100; round++) {
      let any = false;
      for (const [id, core] of this.cores) {
        while (core.hasReady()) {
          any = true;
          const rd = core.ready();
          const store = this.stores.get(id)!;
          if (rd.snapshot !== null) {
            store.snapshot = rd.snapshot;
            store.entries = [];
            this.restored.set(id, [...(this.restored.get(id) ?? []), rd.snapshot]);
          }
          const first = rd.entries[0];
          if (first !== undefined) {
            store.entries = store.entries.filter((e) => e.index < first.index).concat(rd.entries);
          }
          if (rd.hardState !== null) store.hardState = rd.hardState;
          this.queue.push(...rd.messages);
          this.applied.get(id)!.push(...rd.committed);
          core.advance(rd);
        }
      }
      if (!any) return;
    }
    throw new Error('flush did not settle');
  }

  /** Delivers queued messages (and what they cause) until the network is quiet. */
  deliver(rounds = 200): void {
    for (let round = 0; round < rounds; round++) {
      this.flush();
      if (this.queue.length === 0) return;
      const batch = this.queue.splice(0);
      for (const m of batch) {
        if (this.drop(m)) continue;
        this.cores.get(m.to)?.step(m);
      }
    }
  }

  tick(id: NodeId, count = 1): void {
    for (let i = 0; i < count; i++) this.core(id).tick();
  }

  tickAll(count = 1): void {
    for (let i = 0; i < count; i++) {
      for (const core of this.cores.values()) core.tick();
      this.deliver();
    }
  }

  /** Elects `id` by firing its election timer. */
  elect(id: NodeId): void {
    this.core(id).campaign();
    this.deliver();
  }

  compactStore(id: NodeId, snapshot: Snapshot): void {
    const store = this.stores.get(id)!;
    store.snapshot = snapshot;
    store.entries = store.entries.filter((e) => e.index > snapshot.meta.index);
  }

  appliedData(id: NodeId): string[] {
    return this.applied
      .get(id)!
      .filter((e) => e.type === EntryType.NORMAL && e.data.length > 0)
      .map((e) => new TextDecoder().decode(e.data));
  }
}

export function voters(...ids: NodeId[]): ConfState {
  return { voters: ids.map((id) => ({ id, address: `n${id}:1` })), observers: [] };
}

export const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
