/**
 * How deeply a JSON text nests, found by scanning its bytes before it is
 * parsed, so no recursive step after it (validation, canonical JSON, a
 * client's parser) ever sees a document deeper than the caller allows.
 * python-tuf parses metadata with recursive code (json, then from_dict), so
 * a bin-n nested a thousand levels deep would be unreadable by pip.
 */
const OPEN_OBJECT = 0x7b;
const OPEN_ARRAY = 0x5b;
const CLOSE_OBJECT = 0x7d;
const CLOSE_ARRAY = 0x5d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** True when some `[` or `{` of `text` is nested more than `limit` deep (strings are skipped). */
export function nestsDeeperThan(text: Uint8Array, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) inString = true;
    else if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      if (++depth > limit) return true;
    } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) depth--;
  }
  return false;
}
