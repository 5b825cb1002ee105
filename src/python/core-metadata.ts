/**
 * Core metadata (the `METADATA` file of a wheel, PEP 566/643): the few header fields the
 * index needs. The bytes themselves are served untouched as the PEP 658 `.metadata` file.
 */
export interface CoreMetadata {
  name?: string;
  version?: string;
  requiresPython?: string;
}

/** Reads the RFC 822 style header block (up to the first empty line); continuation lines are folded in. */
export function parseCoreMetadata(text: string): CoreMetadata {
  const headers = new Map<string, string>();
  let last: string | undefined;
  for (const line of text.split(/\r?\n/)) {
    if (line === "") break;
    if (/^[ \t]/.test(line) && last !== undefined) {
      headers.set(last, `${headers.get(last)}\n${line.trim()}`);
      continue;
    }
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    last = line.slice(0, colon).trim().toLowerCase();
    // Multiple-use fields (Classifier, Requires-Dist) keep their first value; none of the three read here repeats.
    if (!headers.has(last)) headers.set(last, line.slice(colon + 1).trim());
  }
  const field = (name: string) => {
    const v = headers.get(name);
    return v === undefined || v === "" || v === "UNKNOWN" ? undefined : v;
  };
  return { name: field("name"), version: field("version"), requiresPython: field("requires-python") };
}
