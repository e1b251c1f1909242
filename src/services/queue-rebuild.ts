// The store is the source of truth and the queue only carries work: this publishes every queued run again.
// The in-process queue needs it at every start; a durable queue dedups the republished ids by run id.

import { memoryRequestOf, type JobResources } from '../core/job.js';
import type { QueueMessage, RunQueue } from '../ports/queue.js';
import type { JobStore } from '../ports/store/job-store.js';
import type { RunStore } from '../ports/store/run-store.js';

export async function rebuildQueue(store: RunStore & JobStore, queue: RunQueue): Promise<number> {
  const queued = await store.listQueuedRuns();
  const resourcesByJob = new Map<string, JobResources>();
  const messages: QueueMessage[] = [];
  for (const run of queued) {
    let resources = resourcesByJob.get(run.jobId);
    if (resources === undefined) {
      // A deleted job's queued runs were cancelled with it, so the job is there; 0 is only a fallback.
      resources = (await store.findJob(run.tenantId, run.jobId))?.resources ?? { memoryMb: 0 };
      resourcesByJob.set(run.jobId, resources);
    }
    messages.push({
      runId: run.id,
      tenantId: run.tenantId,
      attempt: run.attempt,
      memoryMb: resources.memoryMb,
      memoryRequestMb: memoryRequestOf(resources),
      availableAt: run.availableAt,
    });
  }
  if (messages.length > 0) await queue.publish(messages);
  return messages.length;
}
