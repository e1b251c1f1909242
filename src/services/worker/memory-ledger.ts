// A worker's memory ledger: what its runs have reserved and what their limits add up to, against what the
// worker may hand out. A run reserves its job's request (core/job.ts memoryRequestOf) and fits while the
// requests sum to at most the worker's memory and the limits to at most `overcommit` × that memory — the
// bound on how far the runs could together go past the memory, were each to use all of its limit.
//
// It holds two sums and nothing else; the agent reserves before a claim and gives back when a run is retired.

import type { RunMemory } from './execution.js';

export class MemoryLedger {
  private requestedMb = 0;
  private limitsMb = 0;

  constructor(
    private readonly memoryMb: number,
    private readonly overcommit: number,
  ) {}

  /** Whether a run of `memory` fits next to those reserved now. */
  fits(memory: RunMemory): boolean {
    return (
      memory.requestMb <= this.memoryMb - this.requestedMb &&
      memory.limitMb <= this.memoryMb * this.overcommit - this.limitsMb
    );
  }

  /** Whether any memory is free at all: a pull is worth it only then. */
  hasRoom(): boolean {
    return this.requestedMb < this.memoryMb && this.limitsMb < this.memoryMb * this.overcommit;
  }

  /** Why a run of `memory` could not fit on this worker even were it idle; null when it could. */
  neverFits(memory: RunMemory): string | null {
    if (memory.requestMb > this.memoryMb) {
      return `reserves ${memory.requestMb} MB of memory; the largest worker has ${this.memoryMb} MB`;
    }
    const bound = this.memoryMb * this.overcommit;
    if (memory.limitMb > bound) {
      return `has a memory limit of ${memory.limitMb} MB; the largest worker takes limits of at most ${bound} MB`;
    }
    return null;
  }

  reserve(memory: RunMemory): void {
    this.requestedMb += memory.requestMb;
    this.limitsMb += memory.limitMb;
  }

  release(memory: RunMemory): void {
    this.requestedMb -= memory.requestMb;
    this.limitsMb -= memory.limitMb;
  }
}
