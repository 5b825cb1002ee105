/**
 * The Publisher: one Durable Object per repository, the single writer of its
 * TUF metadata. SQLite storage is the source of truth; R2 holds what clients read.
 *
 * Publishing is begin → write → commit (TUF spec 6.3, PEP 458 §Producing Consistent Snapshots):
 *  1. begin, one transactionSync: apply the queued changes to `artifacts`, pick
 *     the bins they touch plus the bins due for renewal, and reserve the next
 *     versions of those bins, the snapshot and the timestamp. The reservation
 *     is a `publishes` row with committed_at NULL.
 *  2. write to R2: bin-n files, then offline roles, then `N.snapshot.json`,
 *     then `timestamp.json` last, the commit point clients see.
 *  3. commit, one transactionSync: mark the publish and its receipts done.
 * A crash between 1 and 3 leaves the reservation in place; the next request or
 * the alarm resumes it and rewrites byte-identical files (Ed25519 is
 * deterministic, and expiries are fixed at begin). So versions are never reused
 * for different content, nothing accepted is lost, and timestamp.json only ever
 * points at files that were written before it.
 *
 * Publishes, offline-role updates and the retention sweep run one at a time
 * (`exclusive`): each spans R2 awaits, during which other requests may run,
 * and none may see another half done.
 *
 * RPC methods take plain data and return result unions; they throw only on
 * bugs and infrastructure failures, because RPC drops custom error fields.
 */
import { DurableObject } from "cloudflare:workers";
import {
  canonicalString,
  digestHex,
  Ed25519Signer,
  fromHex,
  Metadata,
  MetaFile,
  Root,
  Signature,
  SuccinctRoles,
  Targets,
  Timestamp,
  TufError,
  utf8,
} from "../tuf/index.js";
import { assertWithinClientLimit, BIN_ENVELOPE_BYTES, CLIENT_MAX_BYTES, entryBytes, RoleTooLarge, WARN_FRACTION } from "./client-limits.js";
import { parseOffline, succinctRolesOf, verifyOfflineSet, verifyOfflineUpdate, type OfflineRoles } from "./offline.js";
import { binsPerRun, isDue, isOverdue, policyFromEnv, staggeredExpiry, type Policy } from "./policy.js";
import { putMetadata } from "./at-rest.js";
import { binSignedBytes, hashesText, type ListedRow } from "./bin-bytes.js";
import { importView, ImportConflict, requestPublish, stageChunk, takeStaged } from "./import.js";
import { migrate } from "./schema.js";
import { SnapshotBytes } from "./snapshot-bytes.js";
import { targetKeys } from "./target-files.js";
import type {
  BootstrapResult,
  Change,
  ImportChunk,
  ImportChunkResult,
  ImportView,
  PublishResult,
  ReceiptView,
  StatusView,
  SubmitRequest,
  SubmitResult,
  UpdateResult,
} from "./types.js";

/** The most queued changes one publish takes; the rest go in the next one. */
const MAX_BATCH = 20_000;
/**
 * Bin-n signed and in flight at once. Each holds its rows and its bytes
 * (~0.3 MB at 10M artifacts over 16,384 bins), so this bounds the
 * publish's memory; production opens at most 6 connections at a time anyway.
 */
const PUT_CONCURRENCY = 32;
/**
 * Wall time one invocation spends writing bin-n before it hands the rest of
 * the publish to the alarm. Wall time bounds CPU time, and an invocation that
 * overruns its CPU limit (30 s by default) is killed without a chance to record progress.
 */
const WRITE_BUDGET_MS = 20_000;
/** How long `?wait=true` waits for a publish. */
const WAIT_MS = 10_000;
/** When a publish is left unfinished, the alarm retries it this soon. */
const RETRY_MS = 2_000;
/** Superseded files one sweep deletes at most (R2 deletes up to 1,000 keys per call). */
const SWEEP_CHUNK = 1_000;
const SWEEP_CHUNKS_PER_RUN = 10;
/** Tries at writing timestamp.json, a second apart (R2: one write per second per key). */
const TIMESTAMP_PUT_ATTEMPTS = 3;
/** Bin-n files written between two progress records of a publish. */
const WRITE_CHUNK = 1_024;

interface PublishPlan {
  timestampVersion: number;
  snapshotVersion: number;
  referenceTime: number;
  bins: Array<[index: number, version: number]>;
  offline: string[];
  receipts: Record<string, number[]>;
  /** Target files that no state after this publish lists. */
  superseded: string[];
}

export class Publisher extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  private readonly policy: Policy;
  private signers?: Promise<Ed25519Signer[]>;
  private layout?: { succinct: SuccinctRoles; snapshot: SnapshotBytes };
  private draining?: Promise<PublishResult>;
  private tail: Promise<unknown> = Promise.resolve();
  /** When the current invocation's work began: WRITE_BUDGET_MS counts from here. */
  private budgetFrom = 0;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.policy = policyFromEnv(env);
    ctx.blockConcurrencyWhile(async () => migrate(this.sql, Date.now()));
  }

  // ---- RPC: bootstrap -------------------------------------------------------

  /**
   * Accepts the ceremony's root, targets and bins, then publishes every bin-n, snapshot 1 and timestamp 1.
   * Every RPC method takes an optional `now` (ms): given, it is the reference time of all the work the
   * call does (tests drive a simulated clock this way); left out, each publish reads the clock.
   */
  async bootstrap(input: { root: string; targets: string; bins: string }, at?: number): Promise<BootstrapResult> {
    const now = at ?? Date.now();
    if (this.isBootstrapped()) return { status: "already_bootstrapped" };
    let roles: OfflineRoles;
    try {
      roles = parseOffline(input.root, input.targets, input.bins);
      if (roles.root.signed.version !== 1)
        throw new TufError("rollback", `bootstrap takes root v1, got v${roles.root.signed.version}; upload later roots with tuf-edge upload`);
      await verifyOfflineSet(roles, (await this.configuredOnlineKeys())[0]!.key, new Date(now));
    } catch (e) {
      if (e instanceof TufError) return { status: "rejected", code: e.code, message: e.message };
      throw e;
    }
    if (this.isBootstrapped()) return { status: "already_bootstrapped" };
    const succinct = succinctRolesOf(roles.bins.signed);
    const n = succinct.numberOfBins;
    this.ctx.storage.transactionSync(() => {
      this.sql.exec(
        "INSERT INTO repository (id, bit_length, name_prefix, bootstrapped_at) VALUES (1, ?, ?, ?)",
        succinct.bitLength,
        succinct.namePrefix,
        now,
      );
      for (const [name, md] of Object.entries(roles)) this.storeOfflineRole(name, md);
      for (let i = 0; i < n; i++)
        this.sql.exec("INSERT INTO bins (idx, version, expires) VALUES (?, 1, ?)", i, staggeredExpiry(i, n, now, this.policy));
      this.sql.exec("INSERT INTO roles (name, version, expires) VALUES ('snapshot', 1, ?), ('timestamp', 1, ?)",
        now + this.policy.onlineExpiryMs, now + this.policy.onlineExpiryMs);
      const plan: PublishPlan = {
        timestampVersion: 1,
        snapshotVersion: 1,
        referenceTime: now,
        bins: Array.from({ length: n }, (_, i) => [i, 1]),
        offline: ["bins", "targets", "root"],
        receipts: {},
        superseded: [],
      };
      this.insertPlan(plan, "bootstrap");
      this.audit(now, "bootstrap", { root: 1, bins: n, bit_length: succinct.bitLength });
    });
    this.forgetCaches();
    const published = await this.drain(clockAt(at)).then(
      (r) => r.status !== "unfinished",
      () => false, // the alarm resumes it from the recorded progress
    );
    return { status: "bootstrapped", bins: n, snapshot: 1, timestamp: 1, published };
  }

  // ---- RPC: artifacts -------------------------------------------------------

  /** Queues validated changes durably; with `wait`, returns once a timestamp covers them (or the wait runs out). */
  async submit(request: SubmitRequest, at?: number): Promise<SubmitResult> {
    const now = at ?? Date.now();
    if (!this.isBootstrapped()) return { status: "not_bootstrapped" };
    const { succinct } = this.currentLayout();
    if (request.idempotencyKey !== undefined) {
      const prior = this.sql
        .exec<{ id: string; body_sha256: string }>(
          "SELECT id, body_sha256 FROM receipts WHERE idempotency_key = ?",
          request.idempotencyKey,
        )
        .toArray()[0];
      if (prior) {
        if (prior.body_sha256 !== request.bodySha256) return { status: "idempotency_conflict" };
        return this.awaitReceipt(prior.id, request.wait, clockAt(at));
      }
    }
    const id = crypto.randomUUID();
    try {
      this.ctx.storage.transactionSync(() => {
        this.sql.exec(
          "INSERT INTO receipts (id, idempotency_key, body_sha256, received_at) VALUES (?, ?, ?, ?)",
          id,
          request.idempotencyKey ?? null,
          request.bodySha256,
          now,
        );
        for (const change of request.changes) this.enqueue(id, change, succinct);
      });
    } catch (e) {
      // The transaction rolled back: the request changed nothing.
      if (e instanceof RoleTooLarge) return { status: "rejected", code: "role_too_large", message: `${e.message}; see "A bin is nearly full" in docs/operations.md` };
      throw e;
    }
    await this.ctx.storage.setAlarm(now + RETRY_MS);
    return this.awaitReceipt(id, request.wait, clockAt(at));
  }

  async receipt(id: string): Promise<ReceiptView | undefined> {
    const row = this.sql
      .exec<{ result: string | null }>("SELECT result FROM receipts WHERE id = ?", id)
      .toArray()[0];
    if (!row) return undefined;
    return row.result ? { receipt: id, status: "published", ...JSON.parse(row.result) } : { receipt: id, status: "queued" };
  }

  // ---- RPC: renewal and recovery -------------------------------------------

  /** The cron's entry point: publishes queued changes and re-signs what is due; publishes nothing if nothing is. */
  async renew(at?: number): Promise<PublishResult> {
    if (!this.isBootstrapped()) return { status: "unchanged" };
    const clock = clockAt(at);
    // A publish already under way (say, for an upload) takes no due bins: wait for it, then run the renewal pass.
    await this.draining?.catch(() => undefined);
    const result = await this.drain(clock, true);
    await this.exclusive(() => this.sweep(clock()));
    return result;
  }

  // ---- RPC: offline roles ---------------------------------------------------

  /**
   * Publishes new offline-signed versions of root, targets and/or bins (the
   * yearly renewal, a key rotation). When the online key changes, every bin-n
   * is re-signed in the same consistent snapshot.
   */
  async updateOfflineRoles(input: { root?: string; targets?: string; bins?: string }, at?: number): Promise<UpdateResult> {
    const now = at ?? Date.now();
    if (!this.isBootstrapped()) return { status: "not_bootstrapped" };
    return this.exclusive(async () => {
      this.budgetFrom = Date.now();
      await this.finishPendingPlan();
      const enc = new TextEncoder();
      let verified: Awaited<ReturnType<typeof verifyOfflineUpdate>>;
      let update: Partial<OfflineRoles>;
      try {
        update = {
          ...(input.root === undefined ? {} : { root: Metadata.fromBytes("root", enc.encode(input.root)) }),
          ...(input.targets === undefined ? {} : { targets: Metadata.fromBytes("targets", enc.encode(input.targets)) }),
          ...(input.bins === undefined ? {} : { bins: Metadata.fromBytes("targets", enc.encode(input.bins)) }),
        };
        verified = await verifyOfflineUpdate(this.currentOfflineRoles(), update, (await this.configuredOnlineKeys()).map((s) => s.key), new Date(now));
      } catch (e) {
        if (e instanceof TufError) return { status: "rejected", code: e.code, message: e.message };
        throw e;
      }
      const before = this.currentOfflineRoles();
      const onlineKeyChanged = !sameKeyids(
        succinctRolesOf(before.bins.signed).keyids,
        succinctRolesOf(verified.roles.bins.signed).keyids,
      ) || !sameKeyids(before.root.signed.roles.timestamp.keyids, verified.roles.root.signed.roles.timestamp.keyids);
      const p = this.policy;
      const plan = this.ctx.storage.transactionSync(() => {
        const changed = (["bins", "targets", "root"] as const).filter((r) => update[r] !== undefined);
        for (const role of changed) this.storeOfflineRole(role, update[role]!);
        const expires = now + p.onlineExpiryMs;
        const bins: Array<[number, number]> = [];
        if (onlineKeyChanged) {
          // Every bin-n must carry the new key's signature; expiries are staggered again as at bootstrap.
          const n = succinctRolesOf(verified.roles.bins.signed).numberOfBins;
          for (const row of this.sql.exec<{ idx: number; version: number }>("SELECT idx, version FROM bins ORDER BY idx").toArray()) {
            this.sql.exec("UPDATE bins SET version = ?, expires = ? WHERE idx = ?", row.version + 1, staggeredExpiry(row.idx, n, now, p), row.idx);
            bins.push([row.idx, row.version + 1]);
          }
        }
        const planned: PublishPlan = {
          snapshotVersion: this.bumpRole("snapshot", expires),
          timestampVersion: this.bumpRole("timestamp", expires),
          referenceTime: now,
          bins,
          offline: changed,
          receipts: {},
          superseded: [],
        };
        this.insertPlan(planned, onlineKeyChanged ? "online_key_rotation" : "offline_roles");
        this.audit(now, "offline_roles", Object.fromEntries(changed.map((r) => [r, update[r]!.signed.version])));
        return planned;
      });
      this.forgetCaches();
      const published = await this.finishPendingPlan().then(
        () => true,
        async () => {
          await this.ctx.storage.setAlarm(Date.now() + RETRY_MS); // resumes from the recorded progress
          return false;
        },
      );
      const roles = this.currentOfflineRoles();
      return {
        status: published ? "published" : "publishing",
        timestamp: plan.timestampVersion,
        snapshot: plan.snapshotVersion,
        roles: { root: roles.root.signed.version, targets: roles.targets.signed.version, bins: roles.bins.signed.version },
      };
    });
  }

  // ---- RPC: bulk import ----------------------------------------------------

  /** Stages one chunk of a bulk import durably, without publishing it (import.ts). */
  async importLines(chunk: ImportChunk, at?: number): Promise<ImportChunkResult> {
    const now = at ?? Date.now();
    if (!this.isBootstrapped()) return { status: "not_bootstrapped" };
    const { succinct } = this.currentLayout();
    try {
      return this.ctx.storage.transactionSync(() => stageChunk(this.sql, succinct, chunk, now));
    } catch (e) {
      if (e instanceof ImportConflict) return { status: "conflict", line: e.line, path: e.path };
      if (e instanceof RoleTooLarge) return { status: "rejected", code: "role_too_large", message: `${e.message}; see "A bin is nearly full" in docs/operations.md` };
      throw e;
    }
  }

  async importStatus(id: string): Promise<ImportView | undefined> {
    return this.isBootstrapped() ? importView(this.sql, id) : undefined;
  }

  /**
   * Asks for the one publish that signs every staged bin, and returns at once:
   * the alarm writes it in invocations of at most WRITE_BUDGET_MS each.
   */
  async publishImport(id: string, at?: number): Promise<ImportView | undefined> {
    if (!this.isBootstrapped()) return undefined;
    const view = requestPublish(this.sql, id);
    if (view.state === "publishing") await this.ctx.storage.setAlarm(at ?? Date.now());
    return view;
  }

  override async alarm(): Promise<void> {
    await this.drain(Date.now);
  }

  async status(at?: number): Promise<StatusView | undefined> {
    const now = at ?? Date.now();
    if (!this.isBootstrapped()) return undefined;
    const roles = this.sql.exec<{ name: string; version: number; expires: number }>("SELECT name, version, expires FROM roles").toArray();
    const view = (r: { version: number; expires: number }) => ({
      version: r.version,
      expires: new Date(r.expires).toISOString(),
      seconds_left: Math.floor((r.expires - now) / 1000),
    });
    const byName = Object.fromEntries(roles.map((r) => [r.name, view(r)]));
    const oldest = this.sql.exec<{ idx: number; version: number; expires: number }>(
      "SELECT idx, version, expires FROM bins ORDER BY expires ASC LIMIT 1",
    ).one();
    const last = this.sql
      .exec<{ committed_at: number }>("SELECT committed_at FROM publishes WHERE committed_at IS NOT NULL ORDER BY timestamp_version DESC LIMIT 1")
      .toArray()[0];
    // The queue is FIFO: its head is the oldest change. Counters, not COUNT(*): status is public.
    const oldestQueued =
      this.sql.exec<{ at: number }>("SELECT r.received_at AS at FROM queue q JOIN receipts r ON r.id = q.receipt ORDER BY q.seq LIMIT 1").toArray()[0]?.at ?? null;
    return {
      roles: {
        timestamp: byName.timestamp!,
        snapshot: byName.snapshot!,
        oldest_bin: { role: this.currentLayout().succinct.roleName(oldest.idx), ...view(oldest) },
        bins: byName.bins!,
        targets: byName.targets!,
        root: byName.root!,
      },
      last_publish: last ? new Date(last.committed_at).toISOString() : null,
      queue_depth: this.counter("queued"),
      oldest_queued_seconds: oldestQueued === null ? null : Math.floor((now - oldestQueued) / 1000),
      publishing: this.pendingPlan() !== undefined,
      artifacts: this.counter("artifacts"),
      bins: this.currentLayout().succinct.numberOfBins,
      warnings: this.sizeWarnings(),
    };
  }

  // ---- the publish loop -----------------------------------------------------

  /**
   * Runs publishes until nothing is queued or due. Only one loop runs at a
   * time: requests that arrive meanwhile are taken by its next publish
   * (group commit). A failure leaves the alarm set, which resumes the work.
   */
  private drain(clock: () => number, renewDue = false): Promise<PublishResult> {
    this.draining ??= this.exclusive(async () => {
      this.budgetFrom = Date.now();
      try {
        let last: PublishResult = { status: "unchanged" };
        // Due bins are the cron run's work, bounded per run: only its first publish takes them.
        // Other publishes re-sign what they touch, plus any overdue bin (the floor comes first).
        for (let first = renewDue; ; first = false) {
          const result = await this.publishOnce(clock(), first);
          if (result.status === "unchanged") break;
          last = result;
        }
        await this.ctx.storage.deleteAlarm();
        return last;
      } catch (e) {
        if (e instanceof Unfinished) {
          await this.ctx.storage.setAlarm(Date.now());
          return { status: "unfinished" };
        }
        await this.ctx.storage.setAlarm(Date.now() + RETRY_MS);
        console.error(JSON.stringify({ event: "publish_failed", error: e instanceof Error ? e.message : String(e) }));
        throw e;
      } finally {
        this.draining = undefined;
      }
    });
    return this.draining;
  }

  /** Runs `work` after every earlier exclusive task has finished. */
  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = this.tail.then(work, work);
    this.tail = run.catch(() => undefined);
    return run;
  }

  /** Completes a publish that a crash or failure left reserved but unwritten. */
  private async finishPendingPlan(): Promise<void> {
    const plan = this.pendingPlan();
    if (plan) {
      await this.write(plan);
      this.commit(plan);
    }
  }

  private async publishOnce(now: number, renewDue: boolean): Promise<PublishResult> {
    const plan = this.pendingPlan() ?? this.begin(now, renewDue);
    if (!plan) return { status: "unchanged" };
    await this.write(plan);
    this.commit(plan);
    return { status: "published", timestamp: plan.timestampVersion, snapshot: plan.snapshotVersion };
  }

  /** Reserves the next consistent snapshot, or returns undefined when nothing changed or is due. */
  private begin(now: number, renewDue: boolean): PublishPlan | undefined {
    const { succinct, snapshot } = this.currentLayout();
    const p = this.policy;
    return this.ctx.storage.transactionSync(() => {
      const queued = this.sql
        .exec<{ seq: number; receipt: string; op: string; path: string; bin: number; length: number | null; hashes: string | null; custom: string | null; size: number | null }>(
          "SELECT * FROM queue ORDER BY seq LIMIT ?",
          MAX_BATCH,
        )
        .toArray();
      const touched = new Set<number>();
      const receipts: Record<string, number[]> = {};
      const staged = takeStaged(this.sql);
      for (const idx of staged?.bins ?? []) touched.add(idx);
      const stagedBins = new Set(staged?.bins);
      const superseded = new Set<string>();
      for (const item of queued) {
        const prior = this.sql
          .exec<{ hashes: string; size: number }>("SELECT hashes, size FROM artifacts WHERE bin = ? AND path = ?", item.bin, item.path)
          .toArray()[0];
        const size = item.op === "add" ? item.size! : 0;
        this.sql.exec("UPDATE bins SET bytes = bytes + ?, queued_bytes = queued_bytes - ? WHERE idx = ?", size - (prior?.size ?? 0), size, item.bin);
        this.bumpCounter("artifacts", (item.op === "add" ? 1 : 0) - (prior ? 1 : 0));
        if (prior) for (const key of targetKeys(item.path, JSON.parse(prior.hashes))) superseded.add(key);
        if (item.op === "add")
          // Still listed, so none of its copies may be swept, even if an earlier change superseded them.
          for (const key of targetKeys(item.path, JSON.parse(item.hashes!))) {
            superseded.delete(key);
            this.sql.exec("DELETE FROM superseded WHERE key = ?", key);
          }
        if (item.op === "add")
          this.sql.exec(
            "INSERT INTO artifacts (bin, path, length, hashes, custom, size) VALUES (?, ?, ?, ?, ?, ?) " +
              "ON CONFLICT (bin, path) DO UPDATE SET length = excluded.length, hashes = excluded.hashes, custom = excluded.custom, size = excluded.size",
            item.bin, item.path, item.length, item.hashes, item.custom, item.size,
          );
        else this.sql.exec("DELETE FROM artifacts WHERE bin = ? AND path = ?", item.bin, item.path);
        touched.add(item.bin);
        (receipts[item.receipt] ??= []).push(item.bin);
      }
      if (queued.length > 0) {
        this.sql.exec("DELETE FROM queue WHERE seq <= ?", queued[queued.length - 1]!.seq);
        this.bumpCounter("queued", -queued.length);
      }

      // PEP 458 §Metadata Expiry Times: bin-n expire daily, so they are re-signed
      // on a rolling schedule. Overdue bins are always renewed; due ones up to the per-run bound.
      const bound = binsPerRun(succinct.numberOfBins, p);
      const due = this.sql
        .exec<{ idx: number; expires: number }>("SELECT idx, expires FROM bins WHERE expires <= ? ORDER BY expires", now + p.floorMs + p.slackMs)
        .toArray();
      const renewed: number[] = [];
      for (const bin of due) {
        if (touched.has(bin.idx)) continue;
        if ((!renewDue || renewed.length >= bound) && !isOverdue(bin.expires, now, p)) break;
        touched.add(bin.idx);
        renewed.push(bin.idx);
      }
      // A backlog (after an outage) re-signed at once would fall due again at once:
      // spread its expiries over the next renewal period, as bootstrap does.
      const backlog = renewed.length > bound ? new Map(renewed.map((idx, k) => [idx, staggeredExpiry(k, renewed.length, now, p)])) : undefined;
      const online = this.sql.exec<{ expires: number }>("SELECT MIN(expires) AS expires FROM roles WHERE name IN ('snapshot', 'timestamp')").one();
      if (touched.size === 0 && !staged && !isDue(online.expires, now, p)) return undefined;

      const expires = now + p.onlineExpiryMs;
      const bins: Array<[number, number]> = [];
      for (const idx of [...touched].sort((a, b) => a - b)) {
        // Imported bins are new to renewal: stagger them as bootstrap does, so they do not all fall due at once.
        const binExpires = backlog?.get(idx) ?? (stagedBins.has(idx) ? staggeredExpiry(idx, succinct.numberOfBins, now, p) : expires);
        const version = this.sql.exec<{ version: number }>("UPDATE bins SET version = version + 1, expires = ? WHERE idx = ? RETURNING version", binExpires, idx).one().version;
        bins.push([idx, version]);
      }
      const plan: PublishPlan = {
        snapshotVersion: this.bumpRole("snapshot", expires),
        timestampVersion: this.bumpRole("timestamp", expires),
        referenceTime: now,
        bins,
        offline: [],
        receipts,
        superseded: [...superseded],
      };
      for (const id of Object.keys(receipts))
        this.sql.exec("UPDATE receipts SET published_in = ? WHERE id = ?", plan.timestampVersion, id);
      staged?.commit(plan.timestampVersion);
      this.insertPlan(plan, staged ? "import" : queued.length > 0 ? "artifacts" : "renewal");
      for (const [idx, version] of bins) snapshot.set(`${succinct.roleName(idx)}.json`, version);
      return plan;
    });
  }

  /** Writes the plan's files to R2: bin-n, offline roles, snapshot, and timestamp.json last. */
  private async write(plan: PublishPlan): Promise<void> {
    const { snapshot } = this.currentLayout();
    const signers = await this.onlineSigners();
    const bucket = this.env.BUCKET;

    const snapshotExpires = new Date(this.roleRow("snapshot").expires);
    const snapshotBytes = await envelope(snapshot.signedBytes(plan.snapshotVersion, snapshotExpires), signers);
    assertWithinClientLimit("snapshot", "snapshot", snapshotBytes.length);
    // Bins, offline roles and the snapshot are independent new names; only timestamp.json must wait for all of them.
    await Promise.all([
      this.writeBins(plan, signers),
      ...plan.offline.filter((role) => role !== "root").map((role) => {
        const { version, body } = this.offlineRoleBody(role);
        return putMetadata(bucket, `metadata/${version}.${role}.json`, body);
      }),
      putMetadata(bucket, `metadata/${plan.snapshotVersion}.snapshot.json`, snapshotBytes),
    ]);

    const timestamp = new Metadata(
      new Timestamp(
        { version: plan.timestampVersion, expires: new Date(this.roleRow("timestamp").expires) },
        new MetaFile(plan.snapshotVersion, snapshotBytes.length, await digestHex(snapshotBytes, ["sha256"])),
      ),
    );
    const timestampBytes = (await signAll(timestamp, signers)).toBytes();
    await selfCheck("timestamp", timestampBytes, signers);
    assertWithinClientLimit("timestamp", "timestamp", timestampBytes.length);
    // The commit point: every file it references is already in R2. R2 takes one
    // write per second to a key, so a refused write is retried after a second.
    const meta = { version: String(plan.timestampVersion), expires: String(this.roleRow("timestamp").expires) };
    for (let attempt = 1; ; attempt++) {
      try {
        await putMetadata(bucket, "metadata/timestamp.json", timestampBytes, meta);
        break;
      } catch (e) {
        if (attempt === TIMESTAMP_PUT_ATTEMPTS) throw e;
        await new Promise((r) => setTimeout(r, 1_000));
      }
    }
    // Clients fetch N+1.root.json before timestamp.json, so a new root goes
    // last: until it appears, every file above still verifies under root N.
    if (plan.offline.includes("root")) {
      const { version, body } = this.offlineRoleBody("root");
      await putMetadata(bucket, `metadata/${version}.root.json`, body);
    }
  }

  /**
   * Writes the plan's bin-n in chunks and records progress after each, so a
   * publish larger than one invocation's subrequest limit (bootstrap and key
   * rotation write every bin) resumes where it stopped instead of starting over.
   */
  private async writeBins(plan: PublishPlan, signers: readonly Ed25519Signer[]): Promise<void> {
    const { succinct } = this.currentLayout();
    const done = this.sql
      .exec<{ bins_written: number }>("SELECT bins_written FROM publishes WHERE timestamp_version = ?", plan.timestampVersion)
      .one().bins_written;
    for (let start = done; start < plan.bins.length; start += WRITE_CHUNK) {
      const chunk = plan.bins.slice(start, start + WRITE_CHUNK);
      await mapLimit(chunk, PUT_CONCURRENCY, async ([idx, version]) => {
        const bytes = await this.signBin(idx, version, signers);
        await putMetadata(this.env.BUCKET, `metadata/${version}.${succinct.roleName(idx)}.json`, bytes);
      });
      this.sql.exec("UPDATE publishes SET bins_written = ? WHERE timestamp_version = ?", start + chunk.length, plan.timestampVersion);
      if (start + chunk.length < plan.bins.length && Date.now() - this.budgetFrom > WRITE_BUDGET_MS) throw new Unfinished();
    }
  }

  private commit(plan: PublishPlan): void {
    const { succinct } = this.currentLayout();
    const versions = new Map(plan.bins);
    const committedAt = Math.max(Date.now(), plan.referenceTime);
    // Files the new state no longer references; kept for the retention window (PEP 458 §Cleaning up old metadata).
    const superseded = [
      ...plan.superseded,
      ...plan.bins.filter(([, v]) => v > 1).map(([idx, v]) => `metadata/${v - 1}.${succinct.roleName(idx)}.json`),
      ...(plan.snapshotVersion > 1 ? [`metadata/${plan.snapshotVersion - 1}.snapshot.json`] : []),
      ...plan.offline
        .filter((role) => role !== "root") // PEP 458: old root versions are never deleted.
        .map((role) => `metadata/${this.currentVersion(role) - 1}.${role}.json`),
    ];
    this.ctx.storage.transactionSync(() => {
      this.sql.exec("UPDATE publishes SET committed_at = ? WHERE timestamp_version = ?", committedAt, plan.timestampVersion);
      for (const key of superseded) this.sql.exec("INSERT OR IGNORE INTO superseded (key, since) VALUES (?, ?)", key, committedAt);
      for (const [id, bins] of Object.entries(plan.receipts)) {
        const result = {
          bins: Object.fromEntries(bins.map((idx) => [succinct.roleName(idx), versions.get(idx)!])),
          snapshot: plan.snapshotVersion,
          timestamp: plan.timestampVersion,
        };
        this.sql.exec("UPDATE receipts SET result = ? WHERE id = ?", JSON.stringify(result), id);
      }
    });
    // PEP 458 §Managing online keys: every use of the online key is logged, also outside the
    // Durable Object (wrangler tail, Logpush), where a compromised Publisher cannot erase it.
    console.log(JSON.stringify({
      event: "published",
      timestamp: plan.timestampVersion,
      snapshot: plan.snapshotVersion,
      bins: plan.bins.length,
      offline: plan.offline,
      changes: Object.values(plan.receipts).reduce((n, bins) => n + bins.length, 0),
    }));
  }

  // ---- signing --------------------------------------------------------------

  private async signBin(idx: number, version: number, signers: readonly Ed25519Signer[]): Promise<Uint8Array> {
    // The (bin, path) primary key hands the rows over in path order: canonical order.
    const rows = this.sql
      .exec<ListedRow>("SELECT path, length, hashes, custom FROM artifacts WHERE bin = ? ORDER BY path", idx)
      .toArray();
    const expires = this.sql.exec<{ expires: number }>("SELECT expires FROM bins WHERE idx = ?", idx).one().expires;
    const bytes = await envelope(binSignedBytes(version, new Date(expires), rows), signers);
    assertWithinClientLimit("targets", this.currentLayout().succinct.roleName(idx), bytes.length);
    await verifyEnvelope(bytes, signers);
    return bytes;
  }

  private offlineRoleBody(role: string): { version: number; body: Uint8Array } {
    const row =
      role === "root"
        ? this.sql.exec<{ version: number; body: ArrayBuffer }>("SELECT version, body FROM root_history ORDER BY version DESC LIMIT 1").one()
        : this.sql.exec<{ version: number; body: ArrayBuffer }>("SELECT version, body FROM roles WHERE name = ?", role).one();
    return { version: row.version, body: new Uint8Array(row.body) };
  }

  /**
   * The keys that sign online roles: each configured key (ONLINE_KEY,
   * ONLINE_KEY_NEXT) that the current or the previous root names for
   * timestamp. Right after an online-key rotation that is both keys, so a
   * client still on the previous root and one on the new root both verify.
   */
  private onlineSigners(): Promise<Ed25519Signer[]> {
    this.signers ??= (async () => {
      const roots = this.sql
        .exec<{ body: ArrayBuffer }>("SELECT body FROM root_history ORDER BY version DESC LIMIT 2")
        .toArray()
        .map((r) => Metadata.fromBytes("root", new Uint8Array(r.body)).signed);
      const named = new Set(roots.flatMap((root) => root.roles.timestamp.keyids));
      const signers = (await this.configuredOnlineKeys()).filter((s) => named.has(s.key.keyid));
      // Signing only with keys the current root has dropped would publish files no client accepts:
      // fail instead, so the alarm retries and /healthz reports the roles running out.
      if (!signers.some((s) => roots[0]!.roles.timestamp.keyids.includes(s.key.keyid)))
        throw new Error(`no configured online key (ONLINE_KEY, ONLINE_KEY_NEXT) is the key root v${roots[0]!.version} names for timestamp`);
      return signers.sort((a, b) => (a.key.keyid < b.key.keyid ? -1 : 1));
    })().catch((e) => {
      this.signers = undefined;
      throw e;
    });
    return this.signers;
  }

  private configuredOnlineKeys(): Promise<Ed25519Signer[]> {
    // Mid-rotation both secrets may hold the same seed; each key signs once (keyids are unique per file).
    const seeds = [...new Set([this.env.ONLINE_KEY, this.env.ONLINE_KEY_NEXT].filter((s): s is string => !!s).map((s) => s.toLowerCase()))];
    return Promise.all(seeds.map((hex) => Ed25519Signer.fromSeed(fromHex(hex))));
  }

  /** Drops what is derived from the offline roles, after they change. */
  private forgetCaches(): void {
    this.layout = undefined;
    this.signers = undefined;
  }

  private currentOfflineRoles(): OfflineRoles {
    const body = (role: string) => this.offlineRoleBody(role).body;
    return {
      root: Metadata.fromBytes("root", body("root")),
      targets: Metadata.fromBytes("targets", body("targets")),
      bins: Metadata.fromBytes("targets", body("bins")),
    };
  }

  /** Deletes files superseded longer ago than the retention window, in bounded chunks; the rest waits for the next run. */
  private async sweep(now: number): Promise<void> {
    const cutoff = now - this.policy.retentionMs;
    for (let chunk = 0; chunk < SWEEP_CHUNKS_PER_RUN; chunk++) {
      const keys = this.sql
        .exec<{ key: string }>("SELECT key FROM superseded WHERE since <= ? ORDER BY since LIMIT ?", cutoff, SWEEP_CHUNK)
        .toArray()
        .map((r) => r.key);
      if (keys.length === 0) return;
      await this.env.BUCKET.delete(keys);
      this.ctx.storage.transactionSync(() => {
        for (const key of keys) this.sql.exec("DELETE FROM superseded WHERE key = ?", key);
      });
    }
  }

  // ---- storage helpers ------------------------------------------------------

  private isBootstrapped(): boolean {
    return this.sql.exec("SELECT 1 FROM repository").toArray().length > 0;
  }

  /** The bin layout and the snapshot bytes cache, rebuilt from SQLite after a restart. */
  private currentLayout(): { succinct: SuccinctRoles; snapshot: SnapshotBytes } {
    if (!this.layout) {
      const bins = this.sql.exec<{ body: ArrayBuffer }>("SELECT body FROM roles WHERE name = 'bins'").one();
      const succinct = succinctRolesOf(Metadata.fromBytes("targets", new Uint8Array(bins.body)).signed);
      const meta = new Map<string, number>();
      for (const row of this.sql.exec<{ idx: number; version: number }>("SELECT idx, version FROM bins"))
        meta.set(`${succinct.roleName(row.idx)}.json`, row.version);
      for (const role of ["targets", "bins"]) meta.set(`${role}.json`, this.currentVersion(role));
      this.layout = { succinct, snapshot: new SnapshotBytes(meta) };
    }
    return this.layout;
  }

  private enqueue(receipt: string, change: Change, succinct: SuccinctRoles): void {
    const bin = succinct.binIndexFor(change.path);
    this.bumpCounter("queued", 1);
    if (change.op === "remove") {
      this.sql.exec("INSERT INTO queue (receipt, op, path, bin) VALUES (?, 'remove', ?, ?)", receipt, change.path, bin);
      return;
    }
    const size = entryBytes(change.path, change.length, change.hashes, change.custom);
    this.sql.exec(
      "INSERT INTO queue (receipt, op, path, bin, length, hashes, custom, size) VALUES (?, 'add', ?, ?, ?, ?, ?, ?)",
      receipt,
      change.path,
      bin,
      change.length,
      hashesText(change.hashes), // canonical text: bin-bytes.ts embeds it as is
      change.custom === undefined ? null : canonicalString(change.custom),
      size,
    );
    // Counted as if nothing queued replaces anything: a bound from above, so no accepted change can overfill a bin.
    const { bytes } = this.sql
      .exec<{ bytes: number }>("UPDATE bins SET queued_bytes = queued_bytes + ? WHERE idx = ? RETURNING bytes + queued_bytes AS bytes", size, bin)
      .one();
    assertWithinClientLimit("targets", succinct.roleName(bin), bytes + BIN_ENVELOPE_BYTES);
  }

  private async awaitReceipt(id: string, wait: boolean | undefined, clock: () => number): Promise<SubmitResult> {
    const work = this.drain(clock);
    if (wait) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([work.catch(() => undefined), new Promise((r) => (timer = setTimeout(r, WAIT_MS)))]);
      clearTimeout(timer);
    } else {
      // The publish goes on in the background; the alarm set in submit() covers a crash.
      this.ctx.waitUntil(work.catch(() => undefined));
    }
    const view = await this.receipt(id);
    return view!.status === "published" ? { ...view!, status: "published" } : { status: "queued", receipt: id };
  }

  private pendingPlan(): PublishPlan | undefined {
    const row = this.sql
      .exec<{ timestamp_version: number; snapshot_version: number; reference_time: number; bins: string; offline: string; receipts: string; superseded: string }>(
        "SELECT * FROM publishes WHERE committed_at IS NULL ORDER BY timestamp_version LIMIT 1",
      )
      .toArray()[0];
    return (
      row && {
        timestampVersion: row.timestamp_version,
        snapshotVersion: row.snapshot_version,
        referenceTime: row.reference_time,
        bins: JSON.parse(row.bins),
        offline: JSON.parse(row.offline),
        receipts: JSON.parse(row.receipts),
        superseded: JSON.parse(row.superseded),
      }
    );
  }

  private insertPlan(plan: PublishPlan, reason: string): void {
    this.sql.exec(
      "INSERT INTO publishes (timestamp_version, snapshot_version, reference_time, bins, offline, receipts, superseded, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
      plan.timestampVersion,
      plan.snapshotVersion,
      plan.referenceTime,
      JSON.stringify(plan.bins),
      JSON.stringify(plan.offline),
      JSON.stringify(plan.receipts),
      JSON.stringify(plan.superseded),
      reason,
    );
  }

  private storeOfflineRole(name: string, md: Metadata<Root> | Metadata<Targets>): void {
    const body = md.toBytes();
    this.sql.exec(
      "INSERT INTO roles (name, version, expires, body) VALUES (?, ?, ?, ?) " +
        "ON CONFLICT (name) DO UPDATE SET version = excluded.version, expires = excluded.expires, body = excluded.body",
      name,
      md.signed.version,
      md.signed.expires.getTime(),
      name === "root" ? null : body,
    );
    if (name === "root") this.sql.exec("INSERT INTO root_history (version, body) VALUES (?, ?)", md.signed.version, body);
  }

  private bumpRole(name: "snapshot" | "timestamp", expires: number): number {
    return this.sql.exec<{ version: number }>("UPDATE roles SET version = version + 1, expires = ? WHERE name = ? RETURNING version", expires, name).one().version;
  }

  private roleRow(name: string): { version: number; expires: number } {
    return this.sql.exec<{ version: number; expires: number }>("SELECT version, expires FROM roles WHERE name = ?", name).one();
  }

  private currentVersion(name: string): number {
    return this.roleRow(name).version;
  }

  private counter(name: "artifacts" | "queued"): number {
    return this.sql.exec<{ value: number }>("SELECT value FROM counters WHERE name = ?", name).one().value;
  }

  private bumpCounter(name: "artifacts" | "queued", delta: number): void {
    if (delta !== 0) this.sql.exec("UPDATE counters SET value = value + ? WHERE name = ?", delta, name);
  }

  /** Bins past WARN_FRACTION of the clients' targets limit, largest first (bins_by_bytes: reads only those). */
  private sizeWarnings(): string[] {
    const limit = CLIENT_MAX_BYTES.targets;
    const { succinct } = this.currentLayout();
    return this.sql
      .exec<{ idx: number; bytes: number }>("SELECT idx, bytes FROM bins WHERE bytes > ? ORDER BY bytes DESC LIMIT 10", WARN_FRACTION * limit - BIN_ENVELOPE_BYTES)
      .toArray()
      .map((b) => `${succinct.roleName(b.idx)} lists about ${b.bytes + BIN_ENVELOPE_BYTES} bytes, ${Math.round((100 * (b.bytes + BIN_ENVELOPE_BYTES)) / limit)}% of the ${limit} bytes TUF clients download by default: see "A bin is nearly full" in docs/operations.md`);
  }

  private audit(at: number, event: string, detail: object): void {
    this.sql.exec("INSERT INTO audit (at, event, detail) VALUES (?, ?, ?)", at, event, JSON.stringify(detail));
  }
}

/** The invocation's time is up; the alarm resumes the publish from its recorded progress. */
class Unfinished extends Error {}

/** `{"signatures":[…],"signed":…}` built around already-canonical signed bytes: the keys sort this way. */
async function envelope(signedBytes: Uint8Array, signers: readonly Ed25519Signer[]): Promise<Uint8Array> {
  const signatures: Signature[] = await Promise.all(signers.map((s) => s.sign(signedBytes)));
  const head = utf8(`{"signatures":[${signatures.map((s) => `{"keyid":"${s.keyid}","sig":"${s.sig}"}`).join(",")}],"signed":`);
  const out = new Uint8Array(head.length + signedBytes.length + 1);
  out.set(head);
  out.set(signedBytes, head.length);
  out[out.length - 1] = 0x7d; // "}"
  return out;
}

/**
 * Only write verified metadata: the bytes parse back as the role, are already
 * canonical, and carry a valid signature by the online key.
 */
async function selfCheck(type: "targets" | "timestamp", bytes: Uint8Array, signers: readonly Ed25519Signer[]): Promise<void> {
  const md = Metadata.fromBytes(type, bytes);
  for (const signer of signers) {
    const sig = md.signatures.find((s) => s.keyid === signer.key.keyid);
    if (!sig || !(await signer.key.verify(md.signedBytes(), sig.sig)) || !bytesEqual(md.toBytes(), bytes))
      throw new Error(`self-check failed: ${type} v${md.signed.version} does not round-trip or verify with the online key`);
  }
}

/**
 * The cheap self-check of a bin-n: it parses as JSON and each online key's
 * signature verifies over the signed part. (bin-bytes.test.ts proves the bytes
 * are what the Metadata API would write; parsing every bin back through it
 * would double the cost of a publish at 10M artifacts.)
 */
async function verifyEnvelope(bytes: Uint8Array, signers: readonly Ed25519Signer[]): Promise<void> {
  const text = new TextDecoder().decode(bytes);
  const parsed = JSON.parse(text) as { signatures: Array<{ keyid: string; sig: string }> };
  // envelope() wrote an ASCII head, so its character offset is its byte offset.
  const signed = bytes.subarray(text.indexOf(',"signed":') + ',"signed":'.length, bytes.length - 1);
  for (const signer of signers) {
    const sig = parsed.signatures.find((s) => s.keyid === signer.key.keyid);
    if (!sig || !(await signer.key.verify(signed, sig.sig))) throw new Error("self-check failed: a bin-n does not verify with the online key");
  }
}

async function signAll<T extends Timestamp | Targets>(md: Metadata<T>, signers: readonly Ed25519Signer[]): Promise<Metadata<T>> {
  for (const signer of signers) md = await md.sign(signer);
  return md;
}

function sameKeyids(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((k) => b.includes(k));
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

async function mapLimit<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}


/** A fixed reference time when the caller gives one, else the real clock. */
const clockAt = (at: number | undefined): (() => number) => (at === undefined ? Date.now : () => at);
