/**
 * Talking to a running tuf-edge Worker: the admin token and webhook secret,
 * and one error path for HTTP answers. Secrets come from the environment
 * (TUF_EDGE_ADMIN_TOKEN, TUF_EDGE_WEBHOOK_SECRET) or, for a local repository,
 * from ./.dev.vars; never from the command line, where shell history keeps them.
 */
import { existsSync, readFileSync } from "node:fs";
import { isWebhookSecret } from "../../src/http/auth.js";
import { CliError } from "./errors.js";

function devVar(name: string): string | undefined {
  if (!existsSync(".dev.vars")) return undefined;
  const match = new RegExp(`^${name}\\s*=\\s*"?([^"\\n]*)"?\\s*$`, "m").exec(readFileSync(".dev.vars", "utf8"));
  return match?.[1];
}

export function secret(envName: string, devVarName: string): string {
  const value = process.env[envName] || devVar(devVarName);
  if (!value)
    throw new CliError(`no ${devVarName} found`, `Set ${envName}, or run from the folder whose .dev.vars holds ${devVarName}`);
  return value;
}

export const adminToken = () => secret("TUF_EDGE_ADMIN_TOKEN", "ADMIN_TOKEN");
export function webhookSecret(): string {
  const value = secret("TUF_EDGE_WEBHOOK_SECRET", "WEBHOOK_SECRET");
  if (!isWebhookSecret(value))
    throw new CliError(
      "the webhook secret is not whsec_<base64 of at least 16 bytes> (Standard Webhooks)",
      "Set TUF_EDGE_WEBHOOK_SECRET (or WEBHOOK_SECRET in ./.dev.vars) to the Worker's WEBHOOK_SECRET secret",
    );
  return value;
}

export function baseUrl(raw: string): string {
  try {
    return new URL(raw).toString().replace(/\/$/, "");
  } catch {
    throw new CliError(`--url ${JSON.stringify(raw)} is not a URL`, "Pass the Worker's base URL, like http://127.0.0.1:8787");
  }
}

export { signWebhook } from "../../src/http/auth.js";

/** The HTTP status and error code of a Worker's refusal, as `request` words it. */
export function refusal(err: CliError): { status: string; code: string | undefined } | undefined {
  const m = /answered (\d{3})(?: ([a-z_]+))?/.exec(err.what);
  return m ? { status: m[1]!, code: m[2] } : undefined;
}

/** Replaces a refusal's "what to do" by the hint for its error code, else for its status. */
export function withHints(err: unknown, hints: Record<string, string>): unknown {
  if (!(err instanceof CliError)) return err;
  const r = refusal(err);
  const hint = r && ((r.code && hints[r.code]) || hints[r.status]);
  return hint ? new CliError(err.what, hint, err.exitCode) : err;
}

/** What to do when the Publisher cannot publish (the same for every command that writes). */
export const UNAVAILABLE_HINTS = (url: string): Record<string, string> => ({
  publish_failing: `Nothing new was published. Fix what GET ${url}/healthz names (usually ONLINE_KEY: docs/operations.md section 7), then run this again`,
  config_invalid: "Nothing was published. Fix the [vars] in wrangler.toml (or the secret) that the message names, deploy, then run this again",
});

/** Sends a request and returns its JSON, or throws a CliError with the server's error code and message. */
export async function request<T>(url: string, init: RequestInit, todo: string): Promise<{ status: number; body: T }> {
  let res: Response;
  try {
    res = await fetch(url, init);
  } catch (err) {
    throw new CliError(`cannot reach ${url} (${(err as Error).message})`, "Check --url and that the Worker is running");
  }
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (!res.ok) {
    const error = (body as { error?: { code?: string; message?: string } } | undefined)?.error;
    throw new CliError(`${url} answered ${res.status} ${error?.code ?? ""}: ${error?.message ?? text.slice(0, 200)}`.replace(/\s+:/, ":"), todo);
  }
  return { status: res.status, body: body as T };
}
