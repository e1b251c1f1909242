// The Hourglass TypeScript SDK: a typed client of the REST API. It imports no server code.

export { HourglassClient } from './client.js';
export type { HourglassClientOptions, SignalOptions, WaitForRunOptions } from './client.js';
export { HourglassApiError, HourglassConnectionError } from './errors.js';
export * from './types.js';
