/** After each workers test file: every /api/v1 response it got validates against the served OpenAPI document (openapi-conformance.ts). */
import { exports } from "cloudflare:workers";
import { afterAll, expect } from "vitest";
import { conformanceProblems, type OpenAPIDoc } from "./openapi-conformance.js";

afterAll(async () => {
  const res = await exports.default.fetch(new Request("http://tuf.test/api/v1/openapi.json"));
  const { problems } = conformanceProblems((await res.json()) as OpenAPIDoc);
  expect(problems, "responses that do not match /api/v1/openapi.json").toEqual([]);
});
