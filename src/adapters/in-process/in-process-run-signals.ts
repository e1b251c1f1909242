import { EventEmitter } from 'node:events';
import type { RunSignal, RunSignals } from '../../ports/run-events.js';

export class InProcessRunSignals implements RunSignals {
  private readonly emitter = new EventEmitter().setMaxListeners(0);

  emit(signal: RunSignal): void {
    this.emitter.emit('signal', signal);
  }

  on(listener: (signal: RunSignal) => void): () => void {
    this.emitter.on('signal', listener);
    return () => this.emitter.off('signal', listener);
  }
}
