/** GET / is the status page: HTML from the public status, never cached; 503 before bootstrap. test/e2e/status-page.test.ts drives it in Chromium. */
import { describe, expect, it } from "vitest";
import { bootstrap, fetchWorker, getStatus } from "./helpers.js";

describe("GET /", () => {
  it("says the repository is not bootstrapped yet, then shows its status", async () => {
    const early = await fetchWorker("/");
    expect(early.status).toBe(503);
    expect(await early.text()).toContain("not bootstrapped");

    await bootstrap(3);
    const res = await fetchWorker("/");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/html/);
    expect(res.headers.get("cache-control")).toBe("no-store");
    const html = await res.text();
    const status = await getStatus();
    expect(html).toContain(`data-role="timestamp" data-expires="${status.roles.timestamp.expires}"`);
    expect(html).toContain('<tr class="ok" data-role="timestamp"');
    expect(html).toContain(`<dd id="queue-depth">${status.queue_depth}</dd>`);
    expect(html).toContain('href="/metadata/timestamp.json"');
    expect(html).not.toContain("docs</a>"); // DOCS_URL is unset
  });
});
