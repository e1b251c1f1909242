// The scheduler's in-memory timing structure: every schedule a node fires, in struct-of-arrays form (typed
// arrays indexed by a slot number) with a binary min-heap of slots ordered by due time. A schedule costs a
// slot's worth of typed-array cells, its id string and one map entry — about 150 bytes — so a node holds
// millions. Time specs are interned elsewhere (spec-table.ts); a slot keeps only the spec's index.
//
// A slot is free, or holds one schedule that is in the heap (it has a next tick). Removing a schedule frees
// its slot at once; slots are reused before the arrays grow.

export interface TimingEntry {
  scheduleId: string;
  partition: number;
  version: number;
  spec: number;
  /** The next tick's nominal time. */
  nominal: number;
  /** Added to a tick's nominal time to get when its run is due. */
  jitterMs: number;
  /** No tick after this; Infinity for none. */
  endAt: number;
}

const INITIAL_CAPACITY = 1024;

export class TimingTable {
  private capacity = 0;
  private ids: (string | undefined)[] = [];
  private readonly slotById = new Map<string, number>();
  private due = new Float64Array(0);
  private nominal = new Float64Array(0);
  private endAt = new Float64Array(0);
  private jitter = new Int32Array(0);
  private spec = new Int32Array(0);
  private version = new Int32Array(0);
  private partition = new Uint16Array(0);
  /** Position of each slot in the heap. */
  private heapPos = new Int32Array(0);
  private heap = new Int32Array(0);
  private heapSize = 0;
  private freeSlots: number[] = [];
  /** What advanceDue hands to its visitor, rewritten for each schedule. */
  private readonly scratch: TimingEntry = {
    scheduleId: '',
    partition: 0,
    version: 0,
    spec: 0,
    nominal: 0,
    jitterMs: 0,
    endAt: Infinity,
  };
  private nextUnused = 0;

  constructor(initialCapacity = INITIAL_CAPACITY) {
    this.grow(Math.max(16, initialCapacity));
  }

  get size(): number {
    return this.slotById.size;
  }

  has(scheduleId: string): boolean {
    return this.slotById.has(scheduleId);
  }

  /** Adds the schedule, or replaces what is held for it. */
  upsert(entry: TimingEntry): void {
    let slot = this.slotById.get(entry.scheduleId);
    if (slot === undefined) {
      slot = this.allocate();
      this.slotById.set(entry.scheduleId, slot);
      this.ids[slot] = entry.scheduleId;
      this.write(slot, entry);
      this.heapPush(slot);
    } else {
      this.write(slot, entry);
      this.placeInHeap(slot);
    }
  }

  remove(scheduleId: string): void {
    const slot = this.slotById.get(scheduleId);
    if (slot !== undefined) this.removeSlot(slot);
  }

  /** Removes every schedule of the partitions (leases lost or given back); returns how many. */
  removePartitions(partitions: ReadonlySet<number>): number {
    const doomed: string[] = [];
    for (const [id, slot] of this.slotById) {
      if (partitions.has(this.partition[slot] ?? -1)) doomed.push(id);
    }
    for (const id of doomed) this.remove(id);
    return doomed.length;
  }

  get(scheduleId: string): TimingEntry | null {
    const slot = this.slotById.get(scheduleId);
    return slot === undefined ? null : this.read(slot);
  }

  /** The earliest due time, or Infinity when empty. */
  peekDue(): number {
    return this.heapSize === 0 ? Infinity : (this.due[this.heap[0] ?? 0] ?? Infinity);
  }

  /**
   * Moves on up to `max` schedules due at or before `until`, earliest first: `visit` sees each one's entry and
   * returns its following tick, or null when it has none (the schedule leaves the table). The entry is a
   * scratch object, valid only during the call, and `visit` must not change the table: a burst visits a
   * hundred thousand at once, and neither an object nor a lookup by id each is needed. They go back into the
   * heap once all are taken, so each is visited at most once per call. Returns how many were visited.
   */
  advanceDue(until: number, max: number, visit: (entry: Readonly<TimingEntry>) => number | null): number {
    const room = Math.max(0, Math.min(max, this.heapSize));
    const taken = new Int32Array(room);
    // NaN for none: a typed array keeps the ticks unboxed.
    const following = new Float64Array(room);
    let count = 0;
    while (count < room) {
      const slot = this.heap[0] ?? 0;
      if ((this.due[slot] ?? Infinity) > until) break;
      this.heapRemove(0);
      taken[count] = slot;
      following[count] = visit(this.readInto(slot, this.scratch)) ?? NaN;
      count++;
    }
    for (let k = 0; k < count; k++) {
      const slot = taken[k] ?? 0;
      const next = following[k] ?? NaN;
      if (Number.isNaN(next)) {
        this.removeSlot(slot);
      } else {
        this.nominal[slot] = next;
        this.due[slot] = next + (this.jitter[slot] ?? 0);
        this.heapPush(slot);
      }
    }
    return count;
  }

  private placeInHeap(slot: number): void {
    const position = this.heapPos[slot] ?? -1;
    if (position < 0) this.heapPush(slot);
    else this.heapFix(position);
  }

  /** Bytes held by the typed arrays (the ids and the map come on top; measure the heap for those). */
  typedArrayBytes(): number {
    return this.capacity * (8 * 3 + 4 * 5 + 2);
  }

  private write(slot: number, entry: TimingEntry): void {
    this.nominal[slot] = entry.nominal;
    this.due[slot] = entry.nominal + entry.jitterMs;
    this.endAt[slot] = entry.endAt;
    this.jitter[slot] = entry.jitterMs;
    this.spec[slot] = entry.spec;
    this.version[slot] = entry.version;
    this.partition[slot] = entry.partition;
  }

  private removeSlot(slot: number): void {
    const position = this.heapPos[slot] ?? -1;
    if (position >= 0) this.heapRemove(position);
    this.slotById.delete(this.ids[slot] ?? '');
    this.ids[slot] = undefined;
    this.freeSlots.push(slot);
  }

  private read(slot: number): TimingEntry {
    return this.readInto(slot, { ...this.scratch });
  }

  private readInto(slot: number, entry: TimingEntry): TimingEntry {
    entry.scheduleId = this.ids[slot] ?? '';
    entry.partition = this.partition[slot] ?? 0;
    entry.version = this.version[slot] ?? 0;
    entry.spec = this.spec[slot] ?? 0;
    entry.nominal = this.nominal[slot] ?? 0;
    entry.jitterMs = this.jitter[slot] ?? 0;
    entry.endAt = this.endAt[slot] ?? Infinity;
    return entry;
  }

  private allocate(): number {
    const reused = this.freeSlots.pop();
    if (reused !== undefined) return reused;
    // By half, not double: the slack left after a load is at most a third of the slots (~15 B a schedule).
    if (this.nextUnused === this.capacity) this.grow(Math.ceil(this.capacity * 1.5));
    return this.nextUnused++;
  }

  private grow(capacity: number): void {
    const copy = <T extends Float64Array | Int32Array | Uint16Array>(old: T, make: (n: number) => T): T => {
      const next = make(capacity);
      next.set(old);
      return next;
    };
    this.due = copy(this.due, (n) => new Float64Array(n));
    this.nominal = copy(this.nominal, (n) => new Float64Array(n));
    this.endAt = copy(this.endAt, (n) => new Float64Array(n));
    this.jitter = copy(this.jitter, (n) => new Int32Array(n));
    this.spec = copy(this.spec, (n) => new Int32Array(n));
    this.version = copy(this.version, (n) => new Int32Array(n));
    this.partition = copy(this.partition, (n) => new Uint16Array(n));
    const heapPos = new Int32Array(capacity).fill(-1);
    heapPos.set(this.heapPos);
    this.heapPos = heapPos;
    this.heap = copy(this.heap, (n) => new Int32Array(n));
    this.capacity = capacity;
  }

  // The heap: heap[0] is the slot due first; heapPos[slot] is where a slot sits, −1 when out of the heap.

  private heapPush(slot: number): void {
    this.heap[this.heapSize] = slot;
    this.heapPos[slot] = this.heapSize;
    this.heapSize += 1;
    this.siftUp(this.heapSize - 1);
  }

  private heapRemove(position: number): void {
    const slot = this.heap[position] ?? 0;
    this.heapSize -= 1;
    const last = this.heap[this.heapSize] ?? 0;
    this.heapPos[slot] = -1;
    if (position === this.heapSize) return;
    this.heap[position] = last;
    this.heapPos[last] = position;
    this.heapFix(position);
  }

  private heapFix(position: number): void {
    if (!this.siftUp(position)) this.siftDown(position);
  }

  private dueAt(position: number): number {
    return this.due[this.heap[position] ?? 0] ?? Infinity;
  }

  private swap(a: number, b: number): void {
    const slotA = this.heap[a] ?? 0;
    const slotB = this.heap[b] ?? 0;
    this.heap[a] = slotB;
    this.heap[b] = slotA;
    this.heapPos[slotB] = a;
    this.heapPos[slotA] = b;
  }

  private siftUp(start: number): boolean {
    let position = start;
    while (position > 0) {
      const parent = (position - 1) >> 1;
      if (this.dueAt(parent) <= this.dueAt(position)) break;
      this.swap(parent, position);
      position = parent;
    }
    return position !== start;
  }

  private siftDown(start: number): void {
    let position = start;
    for (;;) {
      const left = 2 * position + 1;
      if (left >= this.heapSize) return;
      const right = left + 1;
      const child = right < this.heapSize && this.dueAt(right) < this.dueAt(left) ? right : left;
      if (this.dueAt(position) <= this.dueAt(child)) return;
      this.swap(position, child);
      position = child;
    }
  }
}
