/**
 * PEP 691 content negotiation: which representation of a simple page to send for an
 * `Accept` header, or for a `?format=` override. Ties go to `text/html`, as on PyPI,
 * so a client that states no preference gets the PEP 503 page.
 */
import { HTML_TYPE, JSON_TYPE } from "./simple.js";

export type PageFormat = { contentType: string; format: "html" | "json" };

/** What the server offers, in the order that breaks ties. */
const OFFERS: readonly PageFormat[] = [
  { contentType: "text/html", format: "html" },
  { contentType: HTML_TYPE, format: "html" },
  { contentType: JSON_TYPE, format: "json" },
];

/** PEP 691: `latest` names whatever version the server prefers; here that is v1. */
const ALIASES: Record<string, string> = {
  "application/vnd.pypi.simple.latest+json": JSON_TYPE,
  "application/vnd.pypi.simple.latest+html": HTML_TYPE,
};

/** The format named by `?format=`, or undefined if it names none of the offers. */
export function formatOverride(value: string): PageFormat | undefined {
  const type = value.trim().toLowerCase();
  return OFFERS.find((o) => o.contentType === (ALIASES[type] ?? type));
}

/** The best offer for `accept`, or undefined when the client accepts none of them (406). */
export function negotiateFormat(accept: string | undefined): PageFormat | undefined {
  if (accept === undefined || accept.trim() === "") return OFFERS[0];
  const ranges = accept.split(",").flatMap((part) => {
    const [rawType, ...params] = part.split(";");
    const type = rawType!.trim().toLowerCase();
    if (!/^[^/\s]+\/[^/\s]+$/.test(type)) return [];
    let q = 1;
    for (const p of params) {
      const m = /^\s*q\s*=\s*([0-9.]+)\s*$/i.exec(p);
      if (m) q = Number.isFinite(Number(m[1])) ? Number(m[1]) : 0;
    }
    return [{ type: ALIASES[type] ?? type, q }];
  });
  let best: { offer: PageFormat; q: number } | undefined;
  for (const offer of OFFERS) {
    const q = quality(offer.contentType, ranges);
    if (q > 0 && (best === undefined || q > best.q)) best = { offer, q };
  }
  return best?.offer;
}

/** RFC 9110 12.5.1: the most specific range that matches decides the quality. */
function quality(contentType: string, ranges: ReadonlyArray<{ type: string; q: number }>): number {
  const major = contentType.split("/")[0];
  const exact = ranges.find((r) => r.type === contentType);
  if (exact) return exact.q;
  const partial = ranges.find((r) => r.type === `${major}/*`);
  if (partial) return partial.q;
  return ranges.find((r) => r.type === "*/*")?.q ?? 0;
}
