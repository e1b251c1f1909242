// Text that no process, file or log should receive: a NUL byte (it ends a C string, so `a\0b` would reach
// execve, a path or a log line as `a`, or make spawn throw with the value in its message) and a lone UTF-16
// surrogate (it cannot be written as UTF-8, and becomes U+FFFD somewhere downstream). Every string of a
// request — body, query and path, keys and values, at any depth — is checked before validation, so a route
// added later is covered without asking.

import { invalid, type HourglassError } from '../core/errors.js';

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** What is wrong with `text`, or null when it is fine. */
function textProblem(text: string): string | null {
  if (text.includes('\0')) return 'must not contain a NUL byte';
  if (LONE_SURROGATE.test(text)) return 'must not contain a lone surrogate (text that is not valid Unicode)';
  return null;
}

/** `env.FOO`, `args[2]`, `command[0]`; a top-level name as itself. */
function childPath(parent: string, key: string | number): string {
  if (typeof key === 'number') return `${parent}[${key}]`;
  return parent === '' ? key : `${parent}.${key}`;
}

/**
 * The error for the first unsafe string in `value` (a parsed JSON body, a query or the path parameters), with
 * the field it is in, or null. `root` names the whole (`body`, `query`) for a key found at the top. Walked
 * with a stack, not recursion: a body nested thousands deep must not overflow ours.
 */
export function findUnsafeText(value: unknown, root: string): HourglassError | null {
  const stack: [unknown, string][] = [[value, '']];
  for (let item = stack.pop(); item !== undefined; item = stack.pop()) {
    const [current, path] = item;
    if (typeof current === 'string') {
      const problem = textProblem(current);
      if (problem !== null) return invalid(path || root, problem);
    } else if (Array.isArray(current)) {
      for (let i = current.length - 1; i >= 0; i--) stack.push([current[i], childPath(path, i)]);
    } else if (current !== null && typeof current === 'object') {
      const entries = Object.entries(current as Record<string, unknown>).reverse();
      for (const [key, child] of entries) {
        const problem = textProblem(key);
        // The key itself cannot name the field: it is the bad text.
        if (problem !== null) return invalid(path || root, `a name ${problem}`);
        stack.push([child, childPath(path, key)]);
      }
    }
  }
  return null;
}
