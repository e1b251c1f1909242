// The uids of runs, when the launcher runs as root: every run gets a uid of its own (and the gid of the same
// number, with no supplementary groups) from a range, held from before its spawn until every process of it
// is gone. Two runs never share one, so neither can signal the other nor read its /proc/<pid>/environ, and
// neither can touch the server's own files or processes (root's).
//
// A uid is handed out round robin from a random point of the range, skipping those held: a uid comes back
// only after every other one of the range was used (65,536 runs by default), so a process that escaped its
// run's process group and cgroup (it cannot escape the cgroup: it is killed with it) has little chance to
// meet a later run under its own uid. States of a uid: free ──acquire──▶ held ──release──▶ free.

import { randomInt } from 'node:crypto';

export interface RunUserRange {
  /** The first uid (and gid) of the range. */
  base: number;
  /** How many uids the range has. */
  count: number;
}

/** High enough to be nobody's on an ordinary host (useradd stops at 60,000; systemd's dynamic users too). */
export const DEFAULT_RUN_UID_BASE = 2_000_000_000;
export const DEFAULT_RUN_UID_COUNT = 65_536;
/** uid_t is 32 bits and 2^32 − 1 means "no uid". */
export const MAX_RUN_UID = 4_294_967_294;

export class RunUsers {
  private next: number;
  private readonly held = new Set<number>();

  constructor(private readonly range: Readonly<RunUserRange>) {
    if (!Number.isInteger(range.base) || range.base < 1 || range.base + range.count - 1 > MAX_RUN_UID) {
      throw new RangeError(`run uids ${range.base}…${range.base + range.count - 1} are not valid uids`);
    }
    this.next = randomInt(range.count);
  }

  /** A uid no other run holds; null when every uid of the range is held. */
  acquire(): number | null {
    for (let tried = 0; tried < this.range.count; tried += 1) {
      const uid = this.range.base + this.next;
      this.next = (this.next + 1) % this.range.count;
      if (this.held.has(uid)) continue;
      this.held.add(uid);
      return uid;
    }
    return null;
  }

  release(uid: number): void {
    this.held.delete(uid);
  }
}
