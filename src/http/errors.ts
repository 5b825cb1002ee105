/**
 * One error path for the API: every 4xx is `{"error":{"code","message"}}` with a
 * stable code. Anything unexpected is logged and answered with a plain 500 that
 * says nothing internal.
 */
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";

export class ApiError extends HTTPException {
  constructor(
    status: ContentfulStatusCode,
    readonly code: string,
    message: string,
  ) {
    super(status, { message });
  }

  override getResponse(): Response {
    return errorResponse(this.status as ContentfulStatusCode, this.code, this.message);
  }
}

export function errorResponse(status: ContentfulStatusCode, code: string, message: string): Response {
  return new Response(JSON.stringify({ error: { code, message } }), {
    status,
    headers: { "content-type": "application/json", "cache-control": "no-store" },
  });
}

export function onError(err: Error, c: Context): Response {
  if (err instanceof HTTPException) {
    if (err instanceof ApiError) return err.getResponse();
    return errorResponse(err.status as ContentfulStatusCode, "http_error", err.message || "request failed");
  }
  console.error(JSON.stringify({ event: "unhandled_error", path: new URL(c.req.url).pathname, error: err.message }));
  return errorResponse(500, "internal", "internal error");
}

export const notFound = (c: Context): Response =>
  errorResponse(404, "not_found", `no such resource: ${new URL(c.req.url).pathname}`);
