/** The URL map of tuf-edge. */
import { Hono } from "hono";
import { openAPIRouteHandler } from "hono-openapi";
import { documentation, routeDocs } from "./api-docs.js";
import { api } from "./routes/api.js";
import { imports } from "./routes/imports.js";
import { metadata } from "./routes/metadata.js";
import { targets } from "./routes/targets.js";
import { health } from "./routes/health.js";
import { home } from "./routes/home.js";
import { legacy } from "./routes/legacy.js";
import { pythonAdmin } from "./routes/python-admin.js";
import { simple } from "./routes/simple.js";
import { notFound, onError } from "./errors.js";

export const app = new Hono<{ Bindings: Env }>()
  .route("/metadata", metadata)
  .route("/targets", targets)
  .route("/api/v1/imports", imports)
  .route("/", simple)
  .route("/", legacy)
  .route("/api/v1/python", pythonAdmin)
  .route("/api/v1", api)
  .route("/", health)
  .route("/", home)
  .notFound(notFound)
  .onError(onError);

// The API describes itself from the routes' own descriptions (api-docs.ts); only /api/v1 is described.
app.get("/api/v1/openapi.json", routeDocs.openapi, openAPIRouteHandler(app, { documentation, exclude: /^(?!\/api\/v1\/)/, excludeStaticFile: false }));
