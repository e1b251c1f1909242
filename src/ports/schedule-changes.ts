// A latency hint, like RunSignals: a schedule created, changed, paused, resumed or deleted reaches the
// scheduler node that owns its partition at once. The store's change sequence is the source of truth; the
// engine reconciles from it periodically, so a lost hint only delays a change.

export interface ScheduleChange {
  scheduleId: string;
  partition: number;
}

export interface ScheduleChanges {
  emit(change: ScheduleChange): void;
  on(listener: (change: ScheduleChange) => void): () => void;
}
