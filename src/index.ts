import { DurableObject } from "cloudflare:workers";
export class Publisher extends DurableObject<Env> {}
export default { fetch: () => new Response("hi") } satisfies ExportedHandler<Env>;
