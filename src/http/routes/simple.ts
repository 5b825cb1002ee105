/**
 * `/simple/`: the simple repository API for the projects this repository hosts. The pages
 * are the signed target bytes (`simple/<name>/index.html|json`), served from their plain
 * copies, which change only once a timestamp covers them. PEP 691 picks HTML or JSON by
 * `Accept` (or `?format=`); a non-normalized name redirects to its PEP 503 form.
 */
import { Hono, type Context } from "hono";
import { formatOverride, negotiateFormat, type PageFormat } from "../../python/negotiate.js";
import { normalizeName } from "../../python/names.js";
import { PROJECT_LIST_PATHS, projectPagePath } from "../../python/simple.js";
import { r2Keys } from "../../publisher/r2-keys.js";
import { errorResponse } from "../errors.js";
import { serveObject } from "../serve.js";

type Ctx = Context<{ Bindings: Env }>;

/** Pages change with every upload and yank; caches revalidate them by ETag after this long. */
const PAGE_CACHE = "public, max-age=60";

// Links inside pages are relative to the slashed URL, so the unslashed one redirects there.
export const simple = new Hono<{ Bindings: Env }>()
  .get("/simple", (c) => redirect(c, "/simple/"))
  .get("/simple/", (c) => servePage(c, PROJECT_LIST_PATHS))
  .get("/simple/:project{[^/]+}", (c) => redirect(c, `/simple/${encodeURIComponent(normalizeName(c.req.param("project")))}/`))
  .get("/simple/:project{[^/]+}/", (c) => {
    const project = c.req.param("project");
    const normal = normalizeName(project);
    if (project !== normal) return redirect(c, `/simple/${encodeURIComponent(normal)}/`);
    return servePage(c, { html: projectPagePath(normal, "html"), json: projectPagePath(normal, "json") });
  });

function redirect(c: Ctx, path: string): Response {
  const url = new URL(c.req.url);
  return new Response(null, { status: 301, headers: { location: `${path}${url.search}`, "cache-control": "public, max-age=86400" } });
}

async function servePage(c: Ctx, paths: { html: string; json: string }): Promise<Response> {
  const override = c.req.query("format");
  const chosen: PageFormat | undefined = override === undefined ? negotiateFormat(c.req.header("accept")) : formatOverride(override);
  if (!chosen) {
    const res = errorResponse(
      406,
      "not_acceptable",
      "this page is text/html, application/vnd.pypi.simple.v1+html or application/vnd.pypi.simple.v1+json (PEP 691)",
    );
    res.headers.set("vary", "Accept");
    return res;
  }
  const res = await serveObject(c, r2Keys(c.env).plainTarget(paths[chosen.format]), PAGE_CACHE);
  const headers = new Headers(res.headers);
  headers.set("vary", "Accept");
  if (res.status === 200 || res.status === 304) headers.set("content-type", chosen.format === "html" ? `${chosen.contentType}; charset=utf-8` : chosen.contentType);
  // The HTML and JSON pages are different R2 objects, so their ETags already differ.
  return new Response(res.body, { status: res.status, headers });
}
