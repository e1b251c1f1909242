// Driver errors become the project's errors here, at the adapter's edge, each saying what the queue was
// doing: the server being unreachable or slow to answer is `unavailable` (worth retrying later); JetStream
// refusing a request, and anything unknown, is `internal` (a configuration to fix), with the server's reason.

import { NatsError } from 'nats';
import { HourglassError } from '../../core/errors.js';

/** JetStream API error codes the queue tells apart (`err_code` in the server's answers). */
export const JS_STREAM_NOT_FOUND = 10059;
export const JS_CONSUMER_NOT_FOUND = 10014;

/** Client error codes of a connection that is down, going down, or a server that did not answer. */
const UNREACHABLE = new Set([
  'CONNECTION_CLOSED',
  'CONNECTION_DRAINING',
  'CONNECTION_REFUSED',
  'CONNECTION_TIMEOUT',
  'DISCONNECT',
  'TIMEOUT',
  '503', // no responders: JetStream is not enabled, or not answering for this account
]);

/** The JetStream API error code of a failure, or null when it is not one. */
export function jetStreamErrorCode(error: unknown): number | null {
  return error instanceof NatsError ? (error.api_error?.err_code ?? null) : null;
}

/** `error` as a HourglassError whose message starts with `doing` (e.g. "publishing 3 runs to stream X"). */
export function natsFailure(error: unknown, doing: string): HourglassError {
  if (error instanceof HourglassError) return error;
  if (error instanceof NatsError) return translate(error, doing);
  const message = error instanceof Error ? error.message : String(error);
  return new HourglassError('internal', `${doing}: ${message}`);
}

function translate(error: NatsError, doing: string): HourglassError {
  const api = error.api_error;
  if (api) {
    return new HourglassError('internal', `${doing}: JetStream refused it: ${api.description}`, {
      natsErrorCode: api.err_code,
    });
  }
  if (error.code === '503') {
    return new HourglassError(
      'unavailable',
      `${doing}: JetStream does not answer (is it enabled on the server?)`,
      {
        natsCode: error.code,
      },
    );
  }
  if (UNREACHABLE.has(error.code)) {
    return new HourglassError('unavailable', `${doing}: NATS ${describe(error)}`, { natsCode: error.code });
  }
  if (error.isAuthError() || error.isPermissionError()) {
    return new HourglassError(
      'internal',
      `${doing}: NATS refused the credentials or subject: ${error.message}`,
      {
        natsCode: error.code,
      },
    );
  }
  return new HourglassError('internal', `${doing}: ${error.message}`, { natsCode: error.code });
}

function describe(error: NatsError): string {
  switch (error.code) {
    case 'CONNECTION_REFUSED':
      return 'refused the connection (is the server running?)';
    case 'TIMEOUT':
    case 'CONNECTION_TIMEOUT':
      return 'did not answer in time';
    default:
      return `connection is down (${error.message})`;
  }
}
