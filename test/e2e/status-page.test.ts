/**
 * The status page at `/` in real Chromium (Debian's chromium, driven by
 * playwright-core) against a local Worker: the values it shows are those of
 * /api/v1/status, the timestamp's row turns amber and then red as publishes on
 * a simulated clock bring its expiry towards and below the renewal floor (the
 * page refreshes itself), it reads the same with JavaScript off, and it fits a
 * phone's width. Screenshots go to test-results/status-page/; with
 * UPDATE_DOCS_SCREENSHOT=1 the desktop one also replaces docs/status-page.png.
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Publisher } from "../../src/publisher/publisher.js";
import type { StatusView } from "../../src/publisher/types.js";
import { CAUSE_TEXT } from "../../src/http/status-page.js";
import { startRepo, type Repo } from "./harness.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const SHOTS = join(ROOT, "test-results", "status-page");
const HOUR = 3_600_000;
const MINUTE = 60_000;

async function browser(javaScriptEnabled: boolean, viewport = { width: 1100, height: 1000 }): Promise<{ context: BrowserContext; close: () => Promise<void> }> {
  const profile = mkdtempSync(join(tmpdir(), "tuf-edge-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: "/usr/bin/chromium",
    headless: true,
    javaScriptEnabled,
    viewport,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  return {
    context,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

const rowClass = (page: Page, role: string) => page.getAttribute(`#online tr[data-role="${role}"]`, "class");
/** Runs in the page: the element's computed text colour. */
const colorOf = (e: unknown): string => (globalThis as unknown as { getComputedStyle(e: unknown): { color: string } }).getComputedStyle(e).color;
const cell = (page: Page, selector: string) => page.textContent(selector).then((t) => t?.trim());

describe("status page in Chromium", () => {
  let repo: Repo;
  let submitAt: (at: number, name: string) => Promise<void>;
  const status = async () => (await (await fetch(`${repo.worker.url}/api/v1/status`)).json()) as StatusView;

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    repo = await startRepo({ bitLength: 4 });
    for (const name of ["a-1.tar.gz", "b-1.tar.gz", "c-1.tar.gz"])
      expect((await repo.publish({ add: [{ path: `packages/${name}`, length: 1, hashes: { sha256: "a".repeat(64) } }] })).status).toBe(200);
    const ns = await repo.worker.mf.getDurableObjectNamespace("PUBLISHER");
    const publisher = ns.get(ns.idFromName("default")) as unknown as Pick<Publisher, "submit">;
    submitAt = async (at, name) => {
      const result = await publisher.submit({ changes: [{ op: "add", path: `packages/${name}`, length: 2, hashes: { sha256: "b".repeat(64) } }], bodySha256: name, wait: true }, at);
      expect(result.status).toBe("published");
    };
  });
  afterAll(async () => {
    await repo?.close();
  });

  it("shows /api/v1/status, and colours the timestamp as it nears and then passes the floor", async () => {
    const { context, close } = await browser(true);
    try {
      const page = await context.newPage();
      await page.goto(`${repo.worker.url}/`);
      const s = await status();
      expect(await cell(page, '#online tr[data-role="timestamp"] td.num')).toBe(`v${s.roles.timestamp.version}`);
      expect(await cell(page, '#online tr[data-role="snapshot"] td.num')).toBe(`v${s.roles.snapshot.version}`);
      expect(await page.getAttribute('#online tr[data-role="timestamp"]', "data-expires")).toBe(s.roles.timestamp.expires);
      expect(await cell(page, '#offline tr[data-role="root"] td.num')).toBe(`v${s.roles.root.version}`);
      expect(await page.getAttribute('#offline tr[data-role="root"] time', "datetime")).toBe(s.roles.root.expires);
      expect(await cell(page, "#queue-depth")).toBe(String(s.queue_depth));
      expect(await cell(page, "#artifacts")).toBe(String(s.artifacts));
      expect(await cell(page, "#log-seq")).toBe(String(s.log!.seq));
      expect(await cell(page, "#log-hash")).toBe(s.log!.hash);
      const publishes = await page.$$eval("#publishes tbody tr", (rows) => rows.map((r) => [r.children[0]!.textContent, r.children[1]!.textContent]));
      expect(publishes).toEqual(s.recent_publishes.map((p) => [String(p.seq), CAUSE_TEXT[p.cause]]));
      const sizes = await page.$$eval("#bin-sizes tbody tr td.num", (cells) => cells.map((c) => Number(c.textContent)));
      expect(sizes).toEqual(s.bin_sizes.map((b) => b.bins));
      for (const href of ["/metadata/timestamp.json", "/api/v1/log", `/metadata/${s.roles.root.version}.root.json`, "/api/v1/openapi.json"])
        expect(await page.$(`nav a[href="${href}"]`), href).not.toBeNull();
      expect(await rowClass(page, "timestamp")).toBe("ok");
      const green = await page.$eval('#online tr[data-role="timestamp"] td.state', colorOf);
      await page.screenshot({ path: join(SHOTS, "desktop.png"), fullPage: true });
      if (process.env.UPDATE_DOCS_SCREENSHOT === "1") copyFileSync(join(SHOTS, "desktop.png"), join(ROOT, "docs", "status-page.png"));

      // A publish signed 5 h 45 min ago leaves the timestamp 18 h 15 min: above the 18 h floor, within half the slack of it.
      await submitAt(Date.now() - 5 * HOUR - 45 * MINUTE, "near-1.tar.gz");
      await page.waitForFunction(`document.querySelector('#online tr[data-role="timestamp"]')?.className === "near"`, undefined, { timeout: 40_000 });
      const near = await status();
      expect(await cell(page, '#online tr[data-role="timestamp"] td.num')).toBe(`v${near.roles.timestamp.version}`);
      expect(await cell(page, '#online tr[data-role="timestamp"] td.state')).toBe("nearing the floor");
      const amber = await page.$eval('#online tr[data-role="timestamp"] td.state', colorOf);
      expect(amber).not.toBe(green);
      await page.screenshot({ path: join(SHOTS, "near-floor.png"), fullPage: true });

      await submitAt(Date.now() - 7 * HOUR, "low-1.tar.gz");
      await page.waitForFunction(`document.querySelector('#online tr[data-role="timestamp"]')?.className === "low"`, undefined, { timeout: 40_000 });
      expect(await cell(page, '#online tr[data-role="timestamp"] td.state')).toBe("below the floor");
      const red = await page.$eval('#online tr[data-role="timestamp"] td.state', colorOf);
      expect(new Set([green, amber, red]).size).toBe(3);
      expect(await cell(page, '#online tr[data-role="timestamp"] td.num')).toBe(`v${(await status()).roles.timestamp.version}`);
      await page.screenshot({ path: join(SHOTS, "below-floor.png"), fullPage: true });
    } finally {
      await close();
    }
  });

  it("reads the same with JavaScript off, and reloads itself", async () => {
    const { context, close } = await browser(false);
    try {
      const page = await context.newPage();
      await page.goto(`${repo.worker.url}/`);
      const s = await status();
      expect(await cell(page, '#online tr[data-role="timestamp"] td.num')).toBe(`v${s.roles.timestamp.version}`);
      expect(await cell(page, "#log-seq")).toBe(String(s.log!.seq));
      expect(await cell(page, "#queue-depth")).toBe(String(s.queue_depth));
      expect(await rowClass(page, "timestamp")).toBe("low");
      const text = await page.innerText("body");
      expect(text).toContain("below the floor");
      expect(text).toMatch(/Online roles[\s\S]*Offline roles[\s\S]*Queue[\s\S]*Last publishes[\s\S]*Bin sizes/);
      expect(await page.$('noscript meta[http-equiv="refresh"]')).not.toBeNull();
      await page.screenshot({ path: join(SHOTS, "no-javascript.png"), fullPage: true });
    } finally {
      await close();
    }
  });

  it("fits a phone's width", async () => {
    const { context, close } = await browser(true, { width: 390, height: 844 });
    try {
      const page = await context.newPage();
      await page.goto(`${repo.worker.url}/`);
      expect(await page.evaluate<number>("document.documentElement.scrollWidth")).toBeLessThanOrEqual(390);
      await page.screenshot({ path: join(SHOTS, "phone.png"), fullPage: true });
    } finally {
      await close();
    }
  });
});
