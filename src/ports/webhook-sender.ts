// Sending one webhook request: a POST of a JSON body with the signature headers, answered by the endpoint's
// status code (and Retry-After), or by why there was none. The adapter owns every network rule: which
// addresses may be dialed (checked at connect), the time limit, how much of the answer is read.

import type { AttemptAnswer } from '../core/webhook-retry.js';

export interface WebhookRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
  /** Aborts the attempt (the deliverer stopping); the sender's own time limit applies as well. */
  signal?: AbortSignal;
}

export interface WebhookSender {
  /** Never rejects: a refused address, a timeout or a reset is an `error` answer. */
  send(request: WebhookRequest): Promise<AttemptAnswer>;
  close(): void;
}
