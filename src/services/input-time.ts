// Instants as a request gives them: ISO 8601 with a date, a time and a UTC offset, checked strictly. Date.parse
// alone would take "March 7" or roll "2026-02-30" over into March, which is never what the caller meant.

import { invalid } from '../core/errors.js';

const ISO_INSTANT =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-](\d{2}):(\d{2}))$/i;

/** Epoch ms of an ISO 8601 instant such as `2026-11-01T05:30:00Z` or `…T01:30:00-04:00`; throws naming `field`. */
export function parseInstant(field: string, text: string): number {
  const match = ISO_INSTANT.exec(text.trim());
  const ms = match === null ? NaN : Date.parse(text.trim());
  if (match === null || !Number.isFinite(ms) || !fieldsRoundTrip(match, ms)) {
    throw invalid(field, `${JSON.stringify(text)} is not an ISO 8601 time like 2026-03-08T07:00:00Z`);
  }
  return ms;
}

/** The parsed instant, seen at the text's own offset, shows the same date and time (no roll-over). */
function fieldsRoundTrip(match: RegExpExecArray, ms: number): boolean {
  const [, year, month, day, hour, minute, second = '00', , zone = 'Z', offH = '0', offM = '0'] = match;
  const sign = zone.startsWith('-') ? -1 : 1;
  const offsetMs = zone.toUpperCase() === 'Z' ? 0 : sign * (Number(offH) * 60 + Number(offM)) * 60_000;
  const local = new Date(ms + offsetMs).toISOString();
  return local.startsWith(`${year}-${month}-${day}T${hour}:${minute}:${second}`);
}
