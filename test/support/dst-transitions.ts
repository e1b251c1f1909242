// Upcoming daylight-saving transitions, for black-box tests that run on the real clock and so cannot preview
// a transition that has already passed.

const DAY_MS = 86_400_000;

/**
 * The next first Sunday of November at least three days away, when New York's clocks go back at 02:00 EDT,
 * and a `startAt` two days before it.
 */
export function nextNewYorkFallBack(now = Date.now()): { day: string; startAt: string } {
  for (let year = new Date(now).getUTCFullYear(); ; year++) {
    const nov1 = Date.UTC(year, 10, 1);
    const sunday = nov1 + ((7 - new Date(nov1).getUTCDay()) % 7) * DAY_MS;
    if (sunday - 3 * DAY_MS > now) {
      return {
        day: new Date(sunday).toISOString().slice(0, 10),
        startAt: new Date(sunday - 2 * DAY_MS).toISOString(),
      };
    }
  }
}
