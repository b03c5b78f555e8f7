import { pointerJoin } from './finding.js';

const NEEDS_ESCAPE = /[~/]/;

/**
 * `pointerJoin` without its two regex replacements when the token needs no escaping: the
 * validator builds a pointer for every item and field of documents with a million URLs.
 */
export function joinPointer(pointer: string, token: string | number): string {
  return typeof token === 'number' || !NEEDS_ESCAPE.test(token) ? `${pointer}/${token}` : pointerJoin(pointer, token);
}
