/**
 * The events of one simulation run. Everything that happens is one of these, popped from the
 * event queue in (time, sequence) order; the trace prints them in the same words.
 */
import { MessageType, type Message, type NodeId } from '../../src/raft/types.js';

export type SimEvent =
  /** A node's clock ticks; `incarnation` drops ticks scheduled before a crash. */
  | { readonly kind: 'tick'; readonly node: NodeId; readonly incarnation: number }
  | { readonly kind: 'deliver'; readonly message: Message }
  /** The fsync of the node's in-flight Ready completes (unless it crashed meanwhile). */
  | { readonly kind: 'fsync'; readonly node: NodeId; readonly incarnation: number }
  | { readonly kind: 'crash'; readonly node: NodeId; readonly reason: string }
  | { readonly kind: 'restart'; readonly node: NodeId }
  | { readonly kind: 'nemesis' }
  | { readonly kind: 'crash-nemesis' }
  | { readonly kind: 'client' }
  | { readonly kind: 'membership' }
  | { readonly kind: 'transfer' }
  /** End of the fault phase: heal the network, restart everyone, stop injecting faults. */
  | { readonly kind: 'heal' }
  /** The liveness bound after healing ran out. */
  | { readonly kind: 'deadline' };

export function describeMessage(m: Message): string {
  const head = `${m.type} ${m.from}->${m.to} t${m.term}`;
  switch (m.type) {
    case MessageType.PRE_VOTE:
    case MessageType.VOTE:
      return `${head} last=${m.lastLogIndex}/${m.lastLogTerm}${m.transfer ? ' transfer' : ''}`;
    case MessageType.PRE_VOTE_RESPONSE:
    case MessageType.VOTE_RESPONSE:
      return `${head} ${m.granted ? 'granted' : 'rejected'}`;
    case MessageType.APPEND: {
      const first = m.entries[0];
      const last = m.entries[m.entries.length - 1];
      const span =
        first === undefined || last === undefined
          ? ''
          : ` [${first.index}/${first.term}..${last.index}/${last.term}]`;
      return `${head} prev=${m.prevLogIndex}/${m.prevLogTerm}${span} commit=${m.commit}`;
    }
    case MessageType.APPEND_RESPONSE:
      return `${head} ${m.success ? 'ok' : 'reject'} index=${m.index}${m.success ? '' : ` hint=${m.hintIndex}/${m.hintTerm}`}`;
    case MessageType.HEARTBEAT:
      return `${head} commit=${m.commit}`;
    case MessageType.HEARTBEAT_RESPONSE:
    case MessageType.TIMEOUT_NOW:
      return head;
    case MessageType.SNAPSHOT:
      return `${head} snap=${m.meta.index}/${m.meta.term} offset=${m.offset}/${m.totalBytes}${m.done ? ' done' : ''}`;
    case MessageType.SNAPSHOT_RESPONSE:
      return `${head} snap=${m.snapshotIndex} next=${m.nextOffset}${m.done ? ' done' : ''}`;
  }
}

export function describeEvent(event: SimEvent): string {
  switch (event.kind) {
    case 'tick':
      return `tick ${event.node}`;
    case 'deliver':
      return `deliver ${describeMessage(event.message)}`;
    case 'fsync':
      return `fsync ${event.node}`;
    case 'crash':
      return `crash ${event.node} (${event.reason})`;
    case 'restart':
      return `restart ${event.node}`;
    case 'nemesis':
    case 'crash-nemesis':
    case 'client':
    case 'membership':
    case 'transfer':
    case 'heal':
    case 'deadline':
      return event.kind;
  }
}
