import { EventEmitter } from 'node:events';
import type { ScheduleChange, ScheduleChanges } from '../../ports/schedule-changes.js';

export class InProcessScheduleChanges implements ScheduleChanges {
  private readonly emitter = new EventEmitter().setMaxListeners(0);

  emit(change: ScheduleChange): void {
    this.emitter.emit('change', change);
  }

  on(listener: (change: ScheduleChange) => void): () => void {
    this.emitter.on('change', listener);
    return () => this.emitter.off('change', listener);
  }
}
