/** The URL map of tuf-edge. */
import { Hono } from "hono";
import { api } from "./routes/api.js";
import { imports } from "./routes/imports.js";
import { metadata } from "./routes/metadata.js";
import { targets } from "./routes/targets.js";
import { health } from "./routes/health.js";
import { notFound, onError } from "./errors.js";

export const app = new Hono<{ Bindings: Env }>()
  .route("/metadata", metadata)
  .route("/targets", targets)
  .route("/api/v1/imports", imports)
  .route("/api/v1", api)
  .route("/", health)
  .notFound(notFound)
  .onError(onError);
