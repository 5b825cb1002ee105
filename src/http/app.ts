/** The URL map of tuf-edge. */
import { Hono } from "hono";
import { api } from "./routes/api.js";
import { metadata } from "./routes/metadata.js";
import { targets } from "./routes/targets.js";
import { health } from "./routes/health.js";
import { legacy } from "./routes/legacy.js";
import { pythonAdmin } from "./routes/python-admin.js";
import { simple } from "./routes/simple.js";
import { notFound, onError } from "./errors.js";

export const app = new Hono<{ Bindings: Env }>()
  .route("/metadata", metadata)
  .route("/targets", targets)
  .route("/", simple)
  .route("/", legacy)
  .route("/api/v1/python", pythonAdmin)
  .route("/api/v1", api)
  .route("/", health)
  .notFound(notFound)
  .onError(onError);
