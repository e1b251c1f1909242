// The second process of a race on one SQLite file (test/contract/sqlite-store-processes.test.ts). Reads one
// line of JSON from stdin, { path, race, plan, side }, opens the store on that file (a connection of its own),
// prints "ready", waits for a line "go AT" and then until the time AT (epoch ms), when the test process starts
// too, runs its side of the race (store-races.ts) and prints the report as one line of JSON.

import { createInterface } from 'node:readline';
import { SqliteStore } from '../../src/adapters/sqlite/sqlite-store.js';
import { RACES, startAt, type RaceName } from './store-races.js';

interface ChildTask {
  path: string;
  race: RaceName;
  plan: never;
  side: string;
}

const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
const nextLine = async (): Promise<string> => {
  const line = await lines.next();
  if (line.done === true) throw new Error('stdin closed before the race started');
  return line.value;
};

const task = JSON.parse(await nextLine()) as ChildTask;
const store = SqliteStore.open(task.path);
try {
  process.stdout.write('ready\n');
  const go = /^go (\d+)$/.exec(await nextLine());
  if (go === null) throw new Error('expected "go AT"');
  const at = Number(go[1]);
  await startAt(at);
  const report = await RACES[task.race](store, task.plan, task.side, at);
  process.stdout.write(`${JSON.stringify(report)}\n`);
} finally {
  await store.close();
  process.stdin.destroy();
}
