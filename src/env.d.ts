// Worker secrets: `wrangler secret put NAME` in production, `.dev.vars` locally.
// They never appear in R2, logs or responses.
declare namespace Cloudflare {
  interface Env {
    /** Hex Ed25519 seed of the online key that signs snapshot, timestamp and every bin-n. */
    ONLINE_KEY: string;
    /** The next online key during a rotation (docs/operations.md). */
    ONLINE_KEY_NEXT?: string;
    /** HMAC-SHA256 key of the artifact webhook. */
    WEBHOOK_SECRET: string;
    /** Bearer token of the admin API. */
    ADMIN_TOKEN: string;
    /** Test-only: a publish step at which the Publisher stops, for crash tests (src/publisher/crash-point.ts). Never set in production. */
    CRASH_AT?: string;
    /** Password of `POST /legacy/` uploads (username `__token__`); unset, uploads are refused. */
    UPLOAD_TOKEN?: string;
  }
}
