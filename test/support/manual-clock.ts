// A clock the test moves by hand: `now` and `monotonic` advance only through `set`/`advance`, and sleepers
// wake when the time they wait for is reached. Scheduling tests drive the engine with it, step by step.

import type { Clock } from '../../src/ports/clock.js';

interface Sleeper {
  until: number;
  resolve(): void;
}

export class ManualClock implements Clock {
  private current: number;
  private readonly sleepers = new Set<Sleeper>();

  constructor(start: number | string) {
    this.current = typeof start === 'string' ? Date.parse(start) : start;
  }

  now(): number {
    return this.current;
  }

  monotonic(): number {
    return this.current;
  }

  set(at: number | string): void {
    const next = typeof at === 'string' ? Date.parse(at) : at;
    if (next < this.current) throw new Error('a manual clock does not go back');
    this.current = next;
    for (const sleeper of [...this.sleepers]) {
      if (sleeper.until <= next) {
        this.sleepers.delete(sleeper);
        sleeper.resolve();
      }
    }
  }

  advance(ms: number): void {
    this.set(this.current + ms);
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason as Error);
      const sleeper: Sleeper = { until: this.current + ms, resolve };
      this.sleepers.add(sleeper);
      signal?.addEventListener('abort', () => {
        this.sleepers.delete(sleeper);
        reject(signal.reason as Error);
      });
    });
  }
}
