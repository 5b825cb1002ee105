/**
 * The status page at `/`: plain HTML rendered from the public status, with no
 * build step. Everything is in the HTML itself, so it reads the same with
 * scripts off, and a <noscript> meta refresh reloads it. With scripts on, a
 * small inline script counts the time left down every second, recolours it,
 * and swaps in a freshly rendered <main> every REFRESH_SECONDS.
 */
import type { StatusView } from "../publisher/types.js";

export const REFRESH_SECONDS = 15;

export interface PageOptions {
  repository: string;
  /** RENEW_FLOOR_HOURS: below it /healthz fails. */
  floorSeconds: number;
  /** Online roles with less than this left are shown as nearing the floor. */
  nearSeconds: number;
  /** Offline roles with less than this left are shown as due for their renewal ceremony. */
  offlineNearSeconds: number;
  now: number;
  docsUrl?: string;
}

type Level = "ok" | "near" | "low";

const esc = (s: string | number): string =>
  String(s).replace(/[&<>"']/g, (ch) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[ch]!);

/** "23 h 59 min", "41 d 3 h", "expired 2 h 5 min ago". */
export function duration(seconds: number): string {
  const abs = Math.abs(seconds);
  const d = Math.floor(abs / 86_400);
  const h = Math.floor((abs % 86_400) / 3_600);
  const m = Math.floor((abs % 3_600) / 60);
  const text = d > 0 ? `${d} d ${h} h` : h > 0 ? `${h} h ${m} min` : m > 0 ? `${m} min` : `${abs} s`;
  return seconds < 0 ? `expired ${text} ago` : text;
}

function level(secondsLeft: number, near: number, floor: number): Level {
  return secondsLeft < floor ? "low" : secondsLeft < near ? "near" : "ok";
}

/** What the page calls each cause of a publish (the signing log's `cause.kind`). */
export const CAUSE_TEXT: Record<string, string> = {
  bootstrap: "bootstrap",
  artifacts: "upload",
  renewal: "renewal",
  offline_roles: "offline roles",
  online_key_rotation: "online-key rotation",
};

const iso = (t: string): string => t.replace(/\.\d{3}Z$/, "Z");

const LEVEL_TEXT: Record<Level, string> = { ok: "ok", near: "nearing the floor", low: "below the floor" };
const OFFLINE_TEXT: Record<Level, string> = { ok: "ok", near: "renew soon", low: "expired" };

export function renderMain(status: StatusView, o: PageOptions): string {
  const online = [
    ["timestamp", status.roles.timestamp],
    ["snapshot", status.roles.snapshot],
    [`oldest bin-n (${status.roles.oldest_bin.role})`, status.roles.oldest_bin],
  ] as const;
  const offline = [["root", status.roles.root], ["targets", status.roles.targets], ["bins", status.roles.bins]] as const;
  const onlineRows = online
    .map(([name, r]) => {
      const l = level(r.seconds_left, o.nearSeconds, o.floorSeconds);
      return `<tr class="${l}" data-role="${esc(name)}" data-expires="${esc(r.expires)}" data-near="${o.nearSeconds}" data-floor="${o.floorSeconds}">` +
        `<th scope="row">${esc(name)}</th><td class="num">v${r.version}</td><td class="left">${esc(duration(r.seconds_left))}</td>` +
        `<td class="state">${LEVEL_TEXT[l]}</td><td><time datetime="${esc(r.expires)}">${esc(iso(r.expires))}</time></td></tr>`;
    })
    .join("");
  const offlineRows = offline
    .map(([name, r]) => {
      const l = level(r.seconds_left, o.offlineNearSeconds, 0);
      return `<tr class="${l}" data-role="${name}"><th scope="row">${name}</th><td class="num">v${r.version}</td>` +
        `<td class="left">${esc(duration(r.seconds_left))}</td><td class="state">${OFFLINE_TEXT[l]}</td><td><time datetime="${esc(r.expires)}">${esc(iso(r.expires))}</time></td></tr>`;
    })
    .join("");
  const publishes = status.recent_publishes
    .map((p) => `<tr><td class="num">${p.seq}</td><td>${esc(CAUSE_TEXT[p.cause] ?? p.cause)}</td><td class="num">${(p.duration_ms / 1000).toFixed(2)} s</td>` +
      `<td><time datetime="${esc(p.time)}">${esc(iso(p.time))}</time></td><td class="num">${p.files}</td></tr>`)
    .join("");
  const most = Math.max(1, ...status.bin_sizes.map((b) => b.bins));
  const sizes = status.bin_sizes
    .map((b) => `<tr><th scope="row">${b.min === b.max ? b.min : `${b.min}–${b.max}`}</th><td class="num">${b.bins}</td>` +
      `<td class="bar"><span style="width:${Math.max(1, Math.round((100 * b.bins) / most))}%"></span></td></tr>`)
    .join("");
  const queued = status.oldest_queued_seconds === null ? "none" : `${duration(status.oldest_queued_seconds)} ago`;
  return `
<p class="meta">Repository <b>${esc(o.repository)}</b>, as of <time id="as-of" datetime="${new Date(o.now).toISOString()}">${iso(new Date(o.now).toISOString())}</time>. Renewal floor: ${esc(duration(o.floorSeconds))}.</p>
<section><h2>Online roles</h2>
<div class="scroll"><table id="online"><thead><tr><th>role</th><th>version</th><th>left</th><th>state</th><th>expires</th></tr></thead><tbody>${onlineRows}</tbody></table></div></section>
<section><h2>Offline roles</h2>
<div class="scroll"><table id="offline"><thead><tr><th>role</th><th>version</th><th>left</th><th>state</th><th>expires</th></tr></thead><tbody>${offlineRows}</tbody></table></div></section>
<section><h2>Queue</h2>
<dl id="queue"><dt>queued changes</dt><dd id="queue-depth">${status.queue_depth}</dd><dt>oldest queued</dt><dd id="queue-oldest">${esc(queued)}</dd>
<dt>publish in flight</dt><dd id="publishing">${status.publishing ? "yes" : "no"}</dd><dt>targets</dt><dd id="artifacts">${status.artifacts}</dd><dt>bins</dt><dd id="bins">${status.bins}</dd></dl></section>
<section><h2>Last publishes</h2>
<p>Signing log head: ${status.log ? `entry <b id="log-seq">${status.log.seq}</b>, <code id="log-hash">${esc(status.log.hash)}</code>` : "empty"}</p>
<div class="scroll"><table id="publishes"><thead><tr><th>entry</th><th>why</th><th>took</th><th>committed</th><th>files</th></tr></thead><tbody>${publishes}</tbody></table></div></section>
<section><h2>Bin sizes</h2>
<div class="scroll"><table id="bin-sizes"><thead><tr><th>targets per bin</th><th>bins</th><th></th></tr></thead><tbody>${sizes}</tbody></table></div></section>`;
}

export function renderPage(status: StatusView, o: PageOptions): string {
  const links = [
    [`/metadata/${status.roles.root.version}.root.json`, `trusted root (v${status.roles.root.version})`],
    ["/metadata/1.root.json", "root v1"],
    ["/metadata/timestamp.json", "timestamp.json"],
    ["/api/v1/log", "signing log"],
    ["/api/v1/status", "status JSON"],
    ["/api/v1/openapi.json", "API (OpenAPI)"],
    ...(o.docsUrl ? [[o.docsUrl, "docs"]] : []),
  ];
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>tuf-edge status: ${esc(o.repository)}</title>
<noscript><meta http-equiv="refresh" content="60"></noscript>
<style>
:root{color-scheme:light dark;--ok:#1a7f37;--near:#9a6700;--low:#cf222e;font-family:system-ui,sans-serif;line-height:1.4}
body{margin:0 auto;max-width:60rem;padding:0.75rem}
h1{font-size:1.3rem;margin:0.2rem 0}h2{font-size:1.05rem;margin:1.1rem 0 0.3rem}
nav a{margin-right:0.9rem;white-space:nowrap;display:inline-block}
.scroll{overflow-x:auto}table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}
th,td{text-align:left;padding:0.25rem 0.5rem;border-bottom:1px solid #8884;white-space:nowrap}
td.num{text-align:right}code{font-size:0.8rem;word-break:break-all}
tr.ok td.state,tr.ok td.left{color:var(--ok)}tr.near td.state,tr.near td.left{color:var(--near);font-weight:600}
tr.low td.state,tr.low td.left{color:var(--low);font-weight:700}
tr.ok th::before,tr.near th::before,tr.low th::before{content:"●";margin-right:0.35rem}
tr.ok th::before{color:var(--ok)}tr.near th::before{color:var(--near)}tr.low th::before{color:var(--low)}
dl{display:grid;grid-template-columns:max-content 1fr;gap:0.15rem 1rem;margin:0}dd{margin:0;font-variant-numeric:tabular-nums}
td.bar{width:50%}td.bar span{display:block;height:0.7rem;background:#0969da;min-width:2px}
.meta{color:#666;font-size:0.9rem}
</style></head>
<body><header><h1>tuf-edge status</h1>
<nav>${links.map(([href, text]) => `<a href="${esc(href!)}">${esc(text!)}</a>`).join("")}</nav></header>
<main id="status">${renderMain(status, o)}</main>
<script>
(() => {
  const fmt = (s) => { const a = Math.abs(s), d = Math.floor(a / 86400), h = Math.floor(a % 86400 / 3600), m = Math.floor(a % 3600 / 60);
    const t = d > 0 ? d + " d " + h + " h" : h > 0 ? h + " h " + m + " min" : m > 0 ? m + " min" : a + " s"; return s < 0 ? "expired " + t + " ago" : t; };
  const text = { ok: "ok", near: "nearing the floor", low: "below the floor" };
  const tick = () => { for (const row of document.querySelectorAll("tr[data-expires]")) {
    const left = Math.floor((Date.parse(row.dataset.expires) - Date.now()) / 1000);
    const l = left < Number(row.dataset.floor) ? "low" : left < Number(row.dataset.near) ? "near" : "ok";
    row.className = l; row.querySelector(".left").textContent = fmt(left); row.querySelector(".state").textContent = text[l]; } };
  const refresh = async () => { try { const res = await fetch(location.pathname, { cache: "no-store" });
    if (res.ok) { const doc = new DOMParser().parseFromString(await res.text(), "text/html");
      document.getElementById("status").replaceWith(doc.getElementById("status")); tick(); document.body.dataset.refreshed = String(Date.now()); } } catch {} };
  setInterval(tick, 1000); setInterval(refresh, ${REFRESH_SECONDS * 1000});
})();
</script></body></html>`;
}
