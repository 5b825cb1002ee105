import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";

// Three projects: the pure TUF core and the CLI in Node, the Worker inside
// workerd, and end-to-end runs of the real tuf-js client against a local Worker.
export default defineConfig({
  test: {
    projects: [
      {
        test: { name: "node", include: ["test/tuf/**/*.test.ts", "test/client/**/*.test.ts", "test/cli/**/*.test.ts", "test/python/**/*.test.ts", "test/bench/**/*.test.ts"], environment: "node" },
      },
      {
        plugins: [
          cloudflareTest({
            main: "./src/index.ts",
            wrangler: { configPath: "./wrangler.toml" },
            miniflare: {
              bindings: {
                ONLINE_KEY: "0707070707070707070707070707070707070707070707070707070707070707",
                WEBHOOK_SECRET: "whsec_dHVmLWVkZ2UgdGVzdCB3ZWJob29rIHNlY3JldCAzMmI=",
                ADMIN_TOKEN: "test-admin-token",
                UPLOAD_TOKEN: "test-upload-token",
              },
            },
          }),
        ],
        test: {
          name: "workers",
          include: ["test/publisher/**/*.test.ts", "test/http/**/*.test.ts"],
          // Every /api/v1 response fetchWorker sees is validated against the served OpenAPI document.
          setupFiles: ["test/http/openapi-conformance.setup.ts"],
        },
      },
      {
        test: {
          name: "e2e",
          include: ["test/e2e/**/*.test.ts"],
          environment: "node",
          testTimeout: 120_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
