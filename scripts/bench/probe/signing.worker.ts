/**
 * Runs inside workerd: the CPU cost of each step the Publisher takes to sign
 * one bin-n, the snapshot and timestamp.json, with the real src/tuf code
 * (no R2, no SQLite). `selfCheck` below mirrors the Publisher's check before
 * every write: parse the bytes back, verify the signature, re-serialize and compare.
 * Bundled and run by scripts/bench/benchmarks/signing.ts.
 */
import { digestHex, Ed25519Signer, fromHex, Metadata, MetaFile, TargetFile, Targets, Timestamp, utf8 } from "../../../src/tuf/index.js";
import { SnapshotBytes } from "../../../src/publisher/snapshot-bytes.js";

async function time(n: number, fn: (i: number) => Promise<unknown> | unknown): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await fn(i);
  return (performance.now() - t0) / n;
}

async function selfCheck(type: "targets" | "timestamp", bytes: Uint8Array, signer: Ed25519Signer): Promise<void> {
  const md = Metadata.fromBytes(type, bytes);
  const sig = md.signatures.find((s) => s.keyid === signer.key.keyid)!;
  if (!(await signer.key.verify(md.signedBytes(), sig.sig))) throw new Error("verify");
  const again = md.toBytes();
  if (again.length !== bytes.length) throw new Error("round trip");
}

export default {
  async fetch(request: Request): Promise<Response> {
    const u = new URL(request.url);
    const bins = Number(u.searchParams.get("bins") ?? 16384);
    const n = Number(u.searchParams.get("n") ?? 500);
    const signer = await Ed25519Signer.fromSeed(fromHex("07".repeat(32)));
    const expires = new Date(Date.now() + 86_400_000);
    const out: Record<string, number> = {};

    for (const k of [0, 1, 10]) {
      const targets = Object.fromEntries(
        Array.from({ length: k }, (_, j) => {
          const path = `pkg/name-${j}/name-${j}-1.0.tar.gz`;
          return [path, new TargetFile(path, 1000 + j, { sha256: "ab".repeat(32), sha512: "cd".repeat(64) })];
        }),
      );
      let bytes: Uint8Array = new Uint8Array();
      out[`bin_sign_ms_${k}_targets`] = await time(n, async (i) => {
        const md = await new Metadata(new Targets({ version: i + 1, expires }, targets)).sign(signer);
        bytes = md.toBytes();
      });
      out[`bin_selfcheck_ms_${k}_targets`] = await time(n, () => selfCheck("targets", bytes, signer));
      out[`bin_verify_only_ms_${k}_targets`] = await time(n, async () => {
        const sig = (JSON.parse(new TextDecoder().decode(bytes)) as { signatures: Array<{ sig: string }> }).signatures[0]!.sig;
        return signer.key.verify(bytes, sig);
      });
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
    out.snapshot_sign_ms = await time(m, () => signer.sign(signed));
    out.snapshot_sha256_ms = await time(m, () => digestHex(signed, ["sha256"]));
    out.timestamp_sign_and_check_ms = await time(n, async (i) => {
      const ts = new Metadata(new Timestamp({ version: i + 1, expires }, new MetaFile(i + 1, signed.length, { sha256: "ef".repeat(32) })));
      const bytes = (await ts.sign(signer)).toBytes();
      await selfCheck("timestamp", bytes, signer);
    });
    // What storing the snapshot pre-compressed (and serving it with encodeBody: "manual") would cost per publish.
    let gz = 0;
    out.snapshot_gzip_ms = await time(m, async () => {
      const stream = new Blob([signed as BufferSource]).stream().pipeThrough(new CompressionStream("gzip"));
      gz = (await new Response(stream).arrayBuffer()).byteLength;
    });
    out.snapshot_gzip_bytes = gz;
    out.utf8_encode_snapshot_ms = await time(m, () => utf8(new TextDecoder().decode(signed)));
    return Response.json(Object.fromEntries(Object.entries(out).map(([k, v]) => [k, Math.round(v * 1000) / 1000])));
  },
};
