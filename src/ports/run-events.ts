// A latency hint, not a source of truth: in-process listeners (a worker, a log follower) hear about a run
// change at once instead of at their next poll. Everything that listens also polls the store.

export type RunSignal =
  | { type: 'cancel_requested'; runId: string }
  | { type: 'finished'; runId: string }
  | { type: 'queued'; runId: string };

export interface RunSignals {
  emit(signal: RunSignal): void;
  on(listener: (signal: RunSignal) => void): () => void;
}
