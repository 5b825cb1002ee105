/**
 * Runs inside workerd: the CPU cost of each step the Publisher takes to sign
 * one bin-n, the snapshot and timestamp.json, with the Publisher's own code
 * (src/publisher/signing.ts, bin-bytes.ts, snapshot-bytes.ts, at-rest.ts's
 * compression and the snapshot's gzip in segments), but no R2 and no SQLite.
 * Bundled and run by scripts/bench/benchmarks/signing.ts.
 */
import { Ed25519Signer, fromHex } from "../../../src/tuf/index.js";
import { binSignedBytes, hashesText, type ListedRow } from "../../../src/publisher/bin-bytes.js";
import { envelope, loggedFile, selfCheckSnapshot, signTimestamp, verifyEnvelope } from "../../../src/publisher/signing.js";
import { SnapshotBytes } from "../../../src/publisher/snapshot-bytes.js";
import { gzip } from "../../../src/publisher/at-rest.js";

async function time(n: number, fn: (i: number) => Promise<unknown> | unknown): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await fn(i);
  return (performance.now() - t0) / n;
}

export default {
  async fetch(request: Request): Promise<Response> {
    const u = new URL(request.url);
    const bins = Number(u.searchParams.get("bins") ?? 16384);
    const n = Number(u.searchParams.get("n") ?? 500);
    const signers = [await Ed25519Signer.fromSeed(fromHex("07".repeat(32)))];
    const expires = new Date(Date.now() + 86_400_000);
    const out: Record<string, number> = {};

    // 0, 1, 10 targets: a bin at 0 to 100,000 artifacts; 600: a bin at 10M artifacts and 16,384 bins.
    for (const k of [0, 1, 10, 600]) {
      const rows: ListedRow[] = Array.from({ length: k }, (_, j) => ({
        path: `packages/project-${j}/project_${j}-1.${j % 7}.0-py3-none-any.whl`,
        length: 1000 + j,
        hashes: hashesText({ sha256: j.toString(16).padStart(64, "a") }),
        custom: null,
      }));
      let bytes: Uint8Array = new Uint8Array();
      const runs = k >= 600 ? Math.max(5, Math.floor(n / 20)) : n;
      out[`bin_sign_ms_${k}_targets`] = await time(runs, async (i) => {
        bytes = await envelope(binSignedBytes(i + 1, expires, rows), signers);
      });
      out[`bin_selfcheck_ms_${k}_targets`] = await time(runs, () => verifyEnvelope(bytes, signers));
      out[`bin_log_sha256_ms_${k}_targets`] = await time(runs, () => loggedFile("bin-0", 1, bytes.slice(), signers));
      out[`bin_size_bytes_${k}_targets`] = bytes.length;
    }

    const meta = new Map<string, number>();
    for (let i = 0; i < bins; i++) meta.set(`bin-${i.toString(16).padStart(Math.ceil(Math.log2(bins) / 4), "0")}.json`, 1);
    meta.set("targets.json", 1);
    meta.set("bins.json", 1);
    const t0 = performance.now();
    const snapshot = new SnapshotBytes(meta);
    out.snapshot_cache_build_ms = performance.now() - t0;
    const m = Math.max(5, Math.floor(n / 20));
    let signed: Uint8Array = new Uint8Array();
    out.snapshot_bytes_ms = await time(m, (i) => {
      snapshot.set("bins.json", i + 2);
      signed = snapshot.signedBytes(i + 2, expires);
    });
    out.snapshot_size_bytes = signed.length;
    let file: Uint8Array = new Uint8Array();
    out.snapshot_sign_ms = await time(m, async () => {
      file = await envelope(signed, signers);
    });
    out.snapshot_selfcheck_ms = await time(m, () => selfCheckSnapshot(file, signers));
    // A new array each time: the digest of a file is cached by identity for the publish that wrote it.
    out.snapshot_sha256_ms = await time(m, () => loggedFile("snapshot", 1, file.slice(), signers));
    out.timestamp_sign_and_check_ms = await time(n, (i) => signTimestamp(i + 1, expires, 1, file, signers));
    let gz = 0;
    out.snapshot_gzip_ms = await time(m, () => {
      gz = gzip(file).byteLength;
    });
    out.snapshot_gzip_bytes = gz;
    // What a publish that changes one bin pays: the other segments are kept (snapshot-bytes.ts).
    let segmented = 0;
    let spent = 0;
    for (let i = 0; i < m; i++) {
      snapshot.set(`bin-${(i * 7919 % bins).toString(16).padStart(Math.ceil(Math.log2(bins) / 4), "0")}.json`, 2 + (i % 5));
      const next = await envelope(snapshot.signedBytes(i + 2, expires), signers);
      const t = performance.now();
      segmented = snapshot.gzip(next).byteLength;
      spent += performance.now() - t;
    }
    out.snapshot_gzip_one_bin_changed_ms = spent / m;
    out.snapshot_gzip_segmented_bytes = segmented;
    return Response.json(Object.fromEntries(Object.entries(out).map(([k, v]) => [k, Math.round(v * 1000) / 1000])));
  },
};
