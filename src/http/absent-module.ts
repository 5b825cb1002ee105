/**
 * Stands in for the schema converters of libraries tuf-edge does not use
 * (valibot, effect, sury, zod 3). hono-openapi's helpers import them
 * dynamically, and only for schemas made with those libraries, never for zod 4
 * ones (api-docs.ts). A Worker bundle must resolve every import, so
 * wrangler.toml's [alias] points them here.
 */
export {};
