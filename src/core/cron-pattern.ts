// Cron dialect: the 6-field expression a schedule keeps, rewritten into the pattern croner reads. Pure text.
//
// Two rewrites, so the service follows crontab(5) and takes what users copy from Quartz and EventBridge:
// - A step from a number, `a/n` (Quartz: from a, every n, to the field's end), becomes the range `a-max/n`;
//   croner accepts only `*/n` and `a-b/n`. The start must lie in the field's range and the step be at least 1.
// - Day of month and weekday, as in Vixie cron and crontab(5): when both are restricted, a day matching
//   either runs; when one is unrestricted, only the other counts. A field is unrestricted when it starts with
//   `*` (or croner's `?`), so `*/2` is unrestricted, as in Vixie cron. croner ORs the two unless the weekday
//   is exactly `*`, so for a field such as `*/2` the weekday gets croner's AND marker `+`.

import { invalid } from './errors.js';

interface FieldRange {
  name: string;
  min: number;
  max: number;
  names?: readonly string[];
}

const MONTH_NAMES = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const WEEKDAY_NAMES = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

// In the order of a 6-field expression. A weekday step ends at 6 (Saturday): 7 is only another name for Sunday.
const FIELDS: readonly FieldRange[] = [
  { name: 'second', min: 0, max: 59 },
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: MONTH_NAMES },
  { name: 'weekday', min: 0, max: 6, names: WEEKDAY_NAMES },
];

const STEP_FROM_NUMBER = /^([0-9]+|[A-Za-z]{3})\/(.*)$/;

/**
 * The croner pattern for a 6-field expression. Throws a validation error naming `cron` (and, in its message,
 * `shown` — the expression as the user wrote it — and the cron field) for a step from a number that starts out
 * of range or has no valid step.
 */
export function toCronerPattern(expression: string, shown = expression): string {
  const fields = expression.trim().split(/\s+/);
  if (fields.length !== FIELDS.length) return expression; // croner reports the count
  const rewritten = fields.map((field, index) => rewriteSteps(field, FIELDS[index] as FieldRange, shown));
  const [second, minute, hour, day, month, weekday] = rewritten as [
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  return [second, minute, hour, day, month, weekdayForDayRule(day, weekday)].join(' ');
}

function rewriteSteps(field: string, range: FieldRange, shown: string): string {
  return field
    .split(',')
    .map((item) => {
      const match = STEP_FROM_NUMBER.exec(item);
      if (match === null) return item;
      const [, startText = '', stepText = ''] = match;
      const start = valueOf(startText, range);
      const fail = (why: string) =>
        invalid('cron', `${JSON.stringify(shown)}: ${range.name} field "${item}": ${why}`);
      if (start === null || start < range.min || start > range.max) {
        throw fail(`a step must start within ${range.min}-${range.max}`);
      }
      if (!/^[0-9]+$/.test(stepText) || Number(stepText) < 1) {
        throw fail('the step after "/" must be a whole number of at least 1');
      }
      return `${start}-${range.max}/${Number(stepText)}`;
    })
    .join(',');
}

function valueOf(text: string, range: FieldRange): number | null {
  if (/^[0-9]+$/.test(text)) return Number(text);
  const index = range.names?.indexOf(text.toUpperCase()) ?? -1;
  if (index < 0) return null;
  return range.name === 'month' ? index + 1 : index;
}

function weekdayForDayRule(day: string, weekday: string): string {
  const unrestricted = (field: string) => field.startsWith('*') || field.startsWith('?');
  if (weekday === '*' || weekday === '?' || weekday.startsWith('+')) return weekday;
  return unrestricted(day) || unrestricted(weekday) ? `+${weekday}` : weekday;
}
