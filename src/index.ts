/** Wiring only: HTTP routes, the renewal cron, and the Publisher Durable Object. */
import { app } from "./http/app.js";
import { publisherOf } from "./http/publisher-stub.js";

export { Publisher } from "./publisher/publisher.js";

export default {
  fetch: app.fetch,
  async scheduled(_controller, env) {
    await publisherOf(env).renew();
  },
} satisfies ExportedHandler<Env>;
