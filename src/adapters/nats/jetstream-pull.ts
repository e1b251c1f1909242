// One pull request to a JetStream pull consumer ($JS.API.CONSUMER.MSG.NEXT), on its own inbox.
//
// The client's fetch() keeps its request open until it has the whole batch or it expires, so a fetch of 4
// with 1 message ready would wait out its time; and a fetch stopped early can still be sent messages, which
// then sit unacked until the ack wait. So the queue makes its own requests, in two shapes the server ends by
// itself: `noWait` (what is ready now, up to the batch, then a 404/408 status) and a wait for one message up
// to `expiresMs` (ended by that message or a 408 at expiry). Nothing is left open on the server when a
// request resolves — except after an abort: the server may still send its message before it hears of it, so
// the inbox stays open until the request ends, and whatever it delivers then is nak'ed at once, to go to the
// next puller rather than wait out the ack wait.

import { createInbox, type Msg, type NatsConnection } from 'nats';
import { HourglassError } from '../../core/errors.js';

export interface PullRequest {
  batch: number;
  /** null: return what is ready now (`no_wait`); a number: wait up to this long for the batch. */
  expiresMs: number | null;
  signal?: AbortSignal;
  /** How long past the request's own end to wait for the server before giving up on it. */
  graceMs: number;
}

/** Status codes that end a pull request with nothing more to come. */
const NO_MESSAGES = 404;
const REQUEST_TIMEOUT = 408;
const HEARTBEAT = 100;

const NAK = new TextEncoder().encode('-NAK');

/** The messages one pull request delivers (at most `batch`); rejects with a HourglassError. */
export function requestMessages(nc: NatsConnection, subject: string, request: PullRequest): Promise<Msg[]> {
  const { batch, expiresMs, signal } = request;
  const body =
    expiresMs === null
      ? { batch, no_wait: true }
      : { batch, expires: Math.max(1, Math.round(expiresMs)) * 1e6 };
  return new Promise<Msg[]>((resolve, reject) => {
    const messages: Msg[] = [];
    let delivered = 0;
    let answered = false;
    const inbox = createInbox();
    // Ends the request for the caller; the inbox may stay open after an abort (see the header).
    const answer = (error?: HourglassError): void => {
      if (answered) return;
      answered = true;
      signal?.removeEventListener('abort', onAbort);
      if (error === undefined) resolve(messages);
      else reject(error);
    };
    const end = (error?: HourglassError): void => {
      clearTimeout(timer);
      subscription.unsubscribe();
      answer(error);
    };
    const onAbort = (): void => answer();
    const subscription = nc.subscribe(inbox, {
      callback: (error, msg) => {
        if (error !== null)
          return end(new HourglassError('unavailable', `pulling from ${subject}: ${error.message}`));
        const code = msg.headers?.code ?? 0;
        if (code === 0 || msg.data.length > 0) {
          delivered += 1;
          // After an abort, the caller has gone: give it back to the next puller.
          if (answered) msg.respond(NAK);
          else messages.push(msg);
          if (delivered >= batch) end();
          return;
        }
        if (code === HEARTBEAT) return;
        if (code === NO_MESSAGES || code === REQUEST_TIMEOUT) return end();
        end(
          new HourglassError(
            'internal',
            `pulling from ${subject}: the server answered ${code} ${msg.headers?.description ?? ''}`,
            {
              natsStatus: code,
            },
          ),
        );
      },
    });
    // The server ends every request itself; this is for one that never hears it (a missing consumer, a
    // connection lost meanwhile).
    const timer = setTimeout(
      () => {
        if (messages.length > 0 || answered) return end();
        end(
          new HourglassError('unavailable', `pulling from ${subject}: no answer from the server`, {
            subject,
          }),
        );
      },
      (expiresMs ?? 0) + request.graceMs,
    );
    // A closed connection closes the inbox too: nothing more can come, and a caller still waiting is done.
    const closed = (): void => {
      clearTimeout(timer);
      answer();
    };
    void subscription.closed.then(closed, closed);
    signal?.addEventListener('abort', onAbort, { once: true });
    nc.publish(subject, JSON.stringify(body), { reply: inbox });
  });
}
