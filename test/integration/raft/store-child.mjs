// A child process for store.test.ts's SIGKILL test: it persists Readies through the compiled
// RaftLogStore in a loop until killed. Before each write it prints the write's intent as one
// JSON line; after the write resolves, `ack <n>`. Pipes to the parent are synchronous on Linux,
// so a printed line is in the pipe before the next step starts, and the parent can rebuild
// exactly what each write should have left on disk.
//
// Usage: node store-child.mjs <dataDir>
import { ClassicLevel } from 'classic-level';
import { RaftLogStore } from '../../../dist/src/raft/io/level-store.js';

const dir = process.argv[2];
if (dir === undefined) throw new Error('usage: store-child.mjs <dataDir>');

const db = new ClassicLevel(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
await db.open({ createIfMissing: true, errorIfExists: false });
const store = new RaftLogStore(db);
const restored = await store.load();

const VOTERS = [{ id: 1, address: '127.0.0.1:1' }];
let term = restored.hardState.term;
let vote = restored.hardState.vote;
let commit = restored.hardState.commit;
let snapshotIndex = restored.snapshot?.meta.index ?? 0;
let snapshotTerm = restored.snapshot?.meta.term ?? 0;
let lastIndex = snapshotIndex + restored.entries.length;
process.stdout.write(
  `loaded ${JSON.stringify({ term, vote, commit, snapshotIndex, lastIndex })}\n`,
);

const random = (bound) => Math.floor(Math.random() * bound);
const bytes = (text) => Buffer.from(text, 'utf8');
const entry = (index, entryTerm) => ({
  index,
  term: entryTerm,
  type: 0,
  data: bytes(`entry ${index} of term ${entryTerm}`.padEnd(20 + (index % 200), '.')),
});

function appendEntries(from, count, entryTerm) {
  const entries = [];
  for (let i = 0; i < count; i++) entries.push(entry(from + i, entryTerm));
  lastIndex = from + count - 1;
  return entries;
}

/** One step of the workload: the Ready to persist, or a compaction. */
function nextStep() {
  const roll = random(100);
  if (term === 0 || roll < 10) {
    // A new term: vote, then maybe replace the uncommitted tail (a conflict Raft truncates).
    term++;
    vote = random(3);
    const from = Math.max(commit + 1, lastIndex + 1 - random(5), snapshotIndex + 1);
    const entries = appendEntries(from, 1 + random(5), term);
    return {
      ready: { hardState: { term, vote, commit }, entries, snapshot: null, mustSync: true },
    };
  }
  if (roll < 15) {
    // A snapshot from the leader, ahead of our log: it replaces the whole log.
    snapshotIndex = lastIndex + 1 + random(10);
    snapshotTerm = term;
    commit = snapshotIndex;
    lastIndex = snapshotIndex;
    const snapshot = {
      meta: {
        index: snapshotIndex,
        term: snapshotTerm,
        confState: { voters: VOTERS, observers: [] },
      },
      data: bytes(`snapshot ${snapshotIndex}`),
    };
    const entries = appendEntries(snapshotIndex + 1, random(3), term);
    return { ready: { hardState: { term, vote, commit }, entries, snapshot, mustSync: true } };
  }
  if (roll < 20 && commit > snapshotIndex) {
    // Compaction through the commit index.
    snapshotIndex = commit;
    snapshotTerm = termOf(commit);
    return {
      compact: {
        meta: { index: commit, term: snapshotTerm, confState: { voters: VOTERS, observers: [] } },
        data: bytes(`snapshot ${commit}`),
      },
    };
  }
  if (roll < 30) {
    // Only the commit index moves: no fsync needed.
    commit = Math.min(lastIndex, commit + 1 + random(10));
    return {
      ready: { hardState: { term, vote, commit }, entries: [], snapshot: null, mustSync: false },
    };
  }
  const entries = appendEntries(lastIndex + 1, 1 + random(50), term);
  commit = Math.min(lastIndex, commit + random(40));
  return { ready: { hardState: { term, vote, commit }, entries, snapshot: null, mustSync: true } };
}

/** Terms of the stored log, kept so compaction knows the term at commit. */
const terms = new Map();
for (const e of restored.entries) terms.set(e.index, e.term);
function termOf(index) {
  return index === snapshotIndex ? snapshotTerm : terms.get(index);
}

for (let n = 1; ; n++) {
  const step = nextStep();
  if (step.ready !== undefined) {
    const rd = {
      softState: null,
      committed: [],
      messages: [],
      confState: null,
      ...step.ready,
    };
    if (rd.snapshot !== null) terms.clear();
    for (const e of rd.entries) terms.set(e.index, e.term);
    const intent = {
      n,
      kind: 'ready',
      hardState: rd.hardState,
      snapshot: rd.snapshot && { index: rd.snapshot.meta.index, term: rd.snapshot.meta.term },
      entries: rd.entries.map((e) => [e.index, e.term]),
    };
    process.stdout.write(`intent ${JSON.stringify(intent)}\n`);
    await store.persist(rd);
  } else {
    const meta = step.compact.meta;
    process.stdout.write(
      `intent ${JSON.stringify({ n, kind: 'compact', index: meta.index, term: meta.term })}\n`,
    );
    await store.saveSnapshot(step.compact);
  }
  process.stdout.write(`ack ${n}\n`);
}
