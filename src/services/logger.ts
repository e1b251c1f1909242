// The logger services write to: structured fields plus a message. pino satisfies it; tests may pass a silent
// pino or any object of this shape.

export interface Logger {
  debug(fields: Record<string, unknown>, msg: string): void;
  info(fields: Record<string, unknown>, msg: string): void;
  warn(fields: Record<string, unknown>, msg: string): void;
  error(fields: Record<string, unknown>, msg: string): void;
  /** A logger that adds `fields` to every line (`{ workerId }`, `{ runId, attempt }`). */
  child(fields: Record<string, unknown>): Logger;
}
