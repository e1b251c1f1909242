// The store is the source of truth and the queue only carries work: this publishes every queued run again.
// The in-process queue needs it at every start; a durable queue dedups the republished ids by run id.

import type { QueueMessage, RunQueue } from '../ports/queue.js';
import type { Store } from '../ports/store.js';

export async function rebuildQueue(store: Store, queue: RunQueue): Promise<number> {
  const queued = await store.listQueuedRuns();
  const memoryByJob = new Map<string, number>();
  const messages: QueueMessage[] = [];
  for (const run of queued) {
    let memoryMb = memoryByJob.get(run.jobId);
    if (memoryMb === undefined) {
      // A deleted job's queued runs were cancelled with it, so the job is there; 0 is only a fallback.
      memoryMb = (await store.findJob(run.tenantId, run.jobId))?.resources.memoryMb ?? 0;
      memoryByJob.set(run.jobId, memoryMb);
    }
    messages.push({
      runId: run.id,
      tenantId: run.tenantId,
      attempt: run.attempt,
      memoryMb,
      availableAt: run.availableAt,
    });
  }
  if (messages.length > 0) await queue.publish(messages);
  return messages.length;
}
