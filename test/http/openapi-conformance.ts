/**
 * Every /api/v1 response the HTTP tests get through `fetchWorker` is recorded
 * here; after each test file, openapi-conformance.setup.ts checks them all
 * against the document the Worker serves at /api/v1/openapi.json: the status
 * must be documented for the route, and the body must validate.
 */
import { Validator } from "@cfworker/json-schema";

interface Recorded {
  method: string;
  path: string;
  status: number;
  media: string;
  body: string;
}

export interface OpenAPIDoc {
  openapi: string;
  paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema: object }> }> }>>;
  components?: object;
}

const recorded: Recorded[] = [];

/** Records an /api/v1 response and returns one with the same status, headers and body for the caller. */
export async function recordApiResponse(method: string, url: string, res: Response): Promise<Response> {
  const path = new URL(url, "http://x").pathname;
  if (!path.startsWith("/api/v1/") || method === "HEAD" || res.body === null) return res;
  // Read once and hand back a copy: a clone's tee would be left half-read by tests that ignore the body.
  const body = await res.text();
  recorded.push({ method: method.toLowerCase(), path, status: res.status, media: (res.headers.get("content-type") ?? "").split(";")[0]!, body });
  return new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers });
}

/** The documented route a concrete path is an instance of; {path} may span segments. */
function template(doc: OpenAPIDoc, path: string): string | undefined {
  return Object.keys(doc.paths).find((t) =>
    new RegExp(`^${t.replace(/[.*+?^$()|[\]\\]/g, "\\$&").replace(/\{path\}/g, ".+").replace(/\{[^}]+\}/g, "[^/]+")}$`).test(path),
  );
}

/** Problems with the recorded responses, one line each; the recording is emptied. */
export function conformanceProblems(doc: OpenAPIDoc): { checked: number; problems: string[] } {
  const problems: string[] = [];
  let checked = 0;
  for (const r of recorded.splice(0)) {
    const route = template(doc, r.path);
    const op = route === undefined ? undefined : doc.paths[route]![r.method];
    if (!op) {
      // Not an API route (the 404 of an unknown path): nothing to check against, but it must be the one error shape.
      if (r.status !== 404) problems.push(`${r.method} ${r.path} answered ${r.status} but is not documented`);
      continue;
    }
    checked++;
    const documented = op.responses[String(r.status)];
    if (!documented) {
      problems.push(`${r.method} ${route} answered ${r.status}, which is not documented: ${r.body.slice(0, 200)}`);
      continue;
    }
    const schema = documented.content?.[r.media]?.schema;
    if (!schema) {
      problems.push(`${r.method} ${route} ${r.status} answered ${r.media}, which is not documented`);
      continue;
    }
    const result = new Validator({ ...schema, components: doc.components } as never, "2020-12", false).validate(JSON.parse(r.body));
    if (!result.valid)
      problems.push(`${r.method} ${route} ${r.status}: ${result.errors.map((e) => `${e.instanceLocation}: ${e.error}`).join("; ")} in ${r.body.slice(0, 300)}`);
  }
  return { checked, problems };
}
