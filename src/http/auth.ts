/** Who may call what: the index's webhook (Standard Webhooks) and the operator (bearer token). */
import { createMiddleware } from "hono/factory";
import { timingSafeEqual, utf8 } from "../tuf/index.js";
import { ApiError } from "./errors.js";

/**
 * Deliveries whose `webhook-timestamp` is further than this from the server's
 * clock are refused (the Standard Webhooks default). Inside it, a replay is
 * caught by its `webhook-id`, which the Publisher remembers far longer.
 */
export const TIMESTAMP_TOLERANCE_SECONDS = 300;
/** `webhook-id`: the index's delivery id, visible ASCII. */
const WEBHOOK_ID = /^[\x21-\x7e]{1,200}$/;
const SECRET_PREFIX = "whsec_";

export const requireAdmin = createMiddleware<{ Bindings: Env }>(async (c, next) => {
  const header = c.req.header("authorization") ?? "";
  const token = /^bearer /i.test(header) ? header.slice(7) : "";
  if (!c.env.ADMIN_TOKEN || !timingSafeEqual(utf8(token), utf8(c.env.ADMIN_TOKEN)))
    throw new ApiError(401, "unauthorized", "send Authorization: Bearer <ADMIN_TOKEN>");
  await next();
});

export interface WebhookHeaders {
  id?: string | undefined;
  timestamp?: string | undefined;
  signature?: string | undefined;
}

/**
 * Standard Webhooks (https://www.standardwebhooks.com): `webhook-signature` is a
 * space-separated list of `v1,<base64 HMAC-SHA256(key, "<webhook-id>.<webhook-timestamp>.<raw body>")>`,
 * where key is WEBHOOK_SECRET (`whsec_<base64>`) decoded. One v1 entry must match
 * (several are sent while the secret is rotated). Returns the verified delivery id.
 */
export async function verifyWebhook(headers: WebhookHeaders, body: Uint8Array, secret: string, nowSeconds: number): Promise<string> {
  const { id, timestamp, signature } = headers;
  if (!id || !timestamp || !signature)
    throw new ApiError(401, "signature_missing", "send webhook-id, webhook-timestamp and webhook-signature (Standard Webhooks)");
  if (!WEBHOOK_ID.test(id)) throw new ApiError(401, "signature_malformed", "webhook-id must be 1 to 200 visible ASCII characters");
  if (!/^\d{1,15}$/.test(timestamp)) throw new ApiError(401, "signature_malformed", "webhook-timestamp must be integer Unix seconds");
  const candidates = signature.split(" ").filter((s) => s.startsWith("v1,")).map((s) => s.slice(3));
  if (candidates.length === 0) throw new ApiError(401, "signature_malformed", "webhook-signature must hold at least one v1,<base64> entry");
  if (Math.abs(nowSeconds - Number(timestamp)) > TIMESTAMP_TOLERANCE_SECONDS)
    throw new ApiError(401, "signature_expired", `webhook-timestamp is more than ${TIMESTAMP_TOLERANCE_SECONDS} s from the server's clock`);
  const expected = utf8(await webhookMac(id, timestamp, body, secret));
  if (!candidates.some((v) => timingSafeEqual(utf8(v), expected)))
    throw new ApiError(401, "signature_invalid", "webhook-signature does not match webhook-id, webhook-timestamp, the body and WEBHOOK_SECRET");
  return id;
}

async function webhookMac(id: string, timestamp: string, body: Uint8Array, secret: string): Promise<string> {
  const key = await crypto.subtle.importKey("raw", secretKey(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, concat(utf8(`${id}.${timestamp}.`), body)));
  return btoa(String.fromCharCode(...mac));
}

/** Whether `secret` is a usable `whsec_<base64>` (checked by the CLI before it signs anything). */
export function isWebhookSecret(secret: string): boolean {
  try {
    secretKey(secret);
    return true;
  } catch {
    return false;
  }
}

/** The HMAC key of `whsec_<base64>`, as every Standard Webhooks library reads it. */
function secretKey(secret: string): Uint8Array {
  let key: Uint8Array | undefined;
  if (secret.startsWith(SECRET_PREFIX)) {
    try {
      key = Uint8Array.from(atob(secret.slice(SECRET_PREFIX.length)), (ch) => ch.charCodeAt(0));
    } catch {
      key = undefined;
    }
  }
  // A configuration error, not bad input: the operator must fix the secret.
  if (!key || key.length < 16) throw new Error("WEBHOOK_SECRET must be whsec_<base64 of at least 16 random bytes> (Standard Webhooks)");
  return key;
}

/** The three headers an index sends with `body` (used by `tuf-edge publish` and the tests). */
export async function signWebhook(
  body: string | Uint8Array,
  secret: string,
  { id = `msg_${crypto.randomUUID()}`, timestamp = Math.floor(Date.now() / 1000) }: { id?: string; timestamp?: number } = {},
): Promise<Record<"webhook-id" | "webhook-timestamp" | "webhook-signature", string>> {
  const t = String(timestamp);
  return { "webhook-id": id, "webhook-timestamp": t, "webhook-signature": `v1,${await webhookMac(id, t, typeof body === "string" ? utf8(body) : body, secret)}` };
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
