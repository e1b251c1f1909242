// Signing a webhook request per Standard Webhooks (https://www.standardwebhooks.com): the receiver checks
// `webhook-signature` = `v1,` + base64(HMAC-SHA256(key, "<webhook-id>.<webhook-timestamp>.<body>")), where the
// key is the base64-decoded part of the secret after `whsec_`. The HMAC itself is injected (node:crypto in
// the deliverer) so that the core stays free of Node's modules.

import { WEBHOOK_SECRET_PREFIX } from './webhook.js';

export type HmacSha256 = (key: Uint8Array, message: string) => Uint8Array;

export interface WebhookHeaders {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
}

const toBase64 = (bytes: Uint8Array): string => btoa(String.fromCharCode(...bytes));

/** The key bytes of a `whsec_…` secret. */
export function secretKey(secret: string): Uint8Array {
  if (!secret.startsWith(WEBHOOK_SECRET_PREFIX)) throw new Error('a webhook secret starts with whsec_');
  return Uint8Array.from(atob(secret.slice(WEBHOOK_SECRET_PREFIX.length)), (c) => c.charCodeAt(0));
}

/** What is signed: the id, the timestamp (unix seconds) and the exact body bytes, joined by dots. */
export const signedContent = (id: string, timestampSeconds: number, body: string): string =>
  `${id}.${timestampSeconds}.${body}`;

/** The three headers of one attempt: `id` is the delivery's (the same on every retry), the time this one's. */
export function signWebhook(
  secret: string,
  id: string,
  timestampSeconds: number,
  body: string,
  hmac: HmacSha256,
): WebhookHeaders {
  const signature = hmac(secretKey(secret), signedContent(id, timestampSeconds, body));
  return {
    'webhook-id': id,
    'webhook-timestamp': String(timestampSeconds),
    'webhook-signature': `v1,${toBase64(signature)}`,
  };
}
