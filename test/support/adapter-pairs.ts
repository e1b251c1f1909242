// Which store and queue the services' tests (scheduler engine, worker agent, reaper, dispatch sweep) run on:
// a pair of factories from store-factories.ts and queue-factories.ts, so those tests follow the same
// HOURGLASS_TEST_STORES / HOURGLASS_TEST_QUEUES selection as the contract suites. A suite loops over a list
// of pairs and names itself after each (`worker agent (postgres/nats)`).

import { MEMORY_QUEUE, QUEUE_FACTORIES, type QueueFactory } from './queue-factories.js';
import { SQLITE_STORE, STORE_FACTORIES, type StoreFactory } from './store-factories.js';

export interface AdapterPair {
  store: StoreFactory;
  queue: QueueFactory;
  /** `store/queue`, for a suite's name. */
  name: string;
  /** The runner's `skip`: the queue's (a store that cannot run here is left out of STORE_FACTORIES). */
  skip: false | string;
}

export function pairOf(store: StoreFactory, queue: QueueFactory): AdapterPair {
  return { store, queue, name: `${store.name}/${queue.name}`, skip: queue.skip };
}

/** Every selected store with every selected queue: for the services where the two meet (worker, reaper). */
export const EVERY_PAIR: readonly AdapterPair[] = STORE_FACTORIES.flatMap((store) =>
  QUEUE_FACTORIES.map((queue) => pairOf(store, queue)),
);

/**
 * Every selected store with the first selected queue, then every other queue with the first store: each
 * adapter once, for services that mostly talk to one of the two (the scheduler writes to the store and only
 * publishes), where the full cross product would cost twice the time for little more.
 */
export const EACH_ADAPTER_ONCE: readonly AdapterPair[] = (() => {
  const [firstStore] = STORE_FACTORIES;
  const [firstQueue] = QUEUE_FACTORIES;
  if (firstStore === undefined || firstQueue === undefined) return [];
  return [
    ...STORE_FACTORIES.map((store) => pairOf(store, firstQueue)),
    ...QUEUE_FACTORIES.slice(1).map((queue) => pairOf(firstStore, queue)),
  ];
})();

/** For tests whose subject is neither the store nor the queue: SQLite and the embedded queue, always. */
export const SQLITE_MEMORY: AdapterPair = pairOf(SQLITE_STORE, MEMORY_QUEUE);
