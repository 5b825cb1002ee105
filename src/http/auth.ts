/** Who may call what: the index's webhook (HMAC) and the operator (bearer token). */
import { createMiddleware } from "hono/factory";
import { timingSafeEqual, toHex, utf8 } from "../tuf/index.js";
import { ApiError } from "./errors.js";

/** Signed webhook bodies older or newer than this are refused as replays. */
export const REPLAY_WINDOW_SECONDS = 300;

export const requireAdmin = createMiddleware<{ Bindings: Env }>(async (c, next) => {
  const header = c.req.header("authorization") ?? "";
  const token = /^bearer /i.test(header) ? header.slice(7) : "";
  if (!c.env.ADMIN_TOKEN || !timingSafeEqual(utf8(token), utf8(c.env.ADMIN_TOKEN)))
    throw new ApiError(401, "unauthorized", "send Authorization: Bearer <ADMIN_TOKEN>");
  await next();
});

/**
 * `X-TUF-Edge-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(WEBHOOK_SECRET, "<t>.<raw body>")>`.
 * Several v1 values may be sent (while the secret is rotated); one must match.
 */
export async function verifyWebhookSignature(header: string | undefined, body: Uint8Array, secret: string, nowSeconds: number): Promise<void> {
  if (!header) throw new ApiError(401, "signature_missing", "send X-TUF-Edge-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>");
  const parts = header.split(",").map((p) => p.trim().split("="));
  const t = parts.find(([k]) => k === "t")?.[1];
  const candidates = parts.filter(([k]) => k === "v1").map(([, v]) => v ?? "");
  if (!t || !/^\d+$/.test(t) || candidates.length === 0)
    throw new ApiError(401, "signature_malformed", "X-TUF-Edge-Signature must be t=<unix seconds>,v1=<hex>");
  if (Math.abs(nowSeconds - Number(t)) > REPLAY_WINDOW_SECONDS)
    throw new ApiError(401, "signature_expired", `the signature's timestamp is more than ${REPLAY_WINDOW_SECONDS} s from now`);
  const expected = utf8(await webhookMac(body, secret, t));
  if (!candidates.some((v) => timingSafeEqual(utf8(v), expected)))
    throw new ApiError(401, "signature_invalid", "X-TUF-Edge-Signature does not match the body and WEBHOOK_SECRET");
}

/** hex HMAC-SHA256(secret, "<t>.<raw body>"): the v1 value of X-TUF-Edge-Signature. */
async function webhookMac(body: Uint8Array, secret: string, t: string): Promise<string> {
  const key = await crypto.subtle.importKey("raw", utf8(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return toHex(new Uint8Array(await crypto.subtle.sign("HMAC", key, concat(utf8(`${t}.`), body))));
}

/** The X-TUF-Edge-Signature header an index sends with `body` (used by the CLI and the tests). */
export async function webhookSignature(body: string, secret: string, t = Math.floor(Date.now() / 1000)): Promise<string> {
  return `t=${t},v1=${await webhookMac(utf8(body), secret, String(t))}`;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
