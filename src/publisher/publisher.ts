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
  sha256Sync,
  toHex,
  utf8,
} from "../tuf/index.js";
import { assertWithinClientLimit, BIN_ENVELOPE_BYTES, CLIENT_MAX_BYTES, entryBytes, RoleTooLarge, WARN_FRACTION } from "./client-limits.js";
import { parseOffline, succinctRolesOf, verifyOfflineSet, verifyOfflineUpdate, type OfflineRoles } from "./offline.js";
import { binsPerRun, isDue, isOverdue, staggeredExpiry, type Policy } from "./policy.js";
import { settingsFromEnv, type Settings } from "./config.js";
import { crashPoint } from "./crash-point.js";
import { healthProblems } from "./health.js";
import { PublishState } from "./publish-state.js";
import { putMetadata } from "./at-rest.js";
import { binSignedBytes, hashesText, type ListedRow } from "./bin-bytes.js";
import { importView, ImportConflict, requestPublish, stageChunk, takeStaged } from "./import.js";
import { migrate } from "./schema.js";
import { migratePythonIndex, PythonIndex, type FileCheck, type IndexChange, type PythonReleaseInput, type PythonUploadInput } from "./python-index.js";
import { SnapshotBytes } from "./snapshot-bytes.js";
import { r2Keys, type R2Keys } from "./r2-keys.js";
import { readRepository, type RecoveredRepository } from "./recover.js";
import { SigningLog, type LogPage } from "./signing-log.js";
import type { LogCause, LoggedFile } from "./log-entry.js";
import { binSizeDistribution, binTargetsChanged, initBinSizes } from "./bin-sizes.js";
import { requireKeyPolicy } from "./key-policy.js";
import type {
  BootstrapResult,
  Change,
  HealthView,
  ImportChunk,
  ImportChunkResult,
  ImportView,
  PublishResult,
  ReceiptView,
  RecoverResult,
  StatusView,
  SubmitRequest,
  SubmitResult,
  UpdateResult,
} from "./types.js";
import type { PythonReleaseResult, PythonUploadResult } from "./types.js";

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
/** A key R2 would not delete is tried again this much later, so it never holds up the others. */
const SWEEP_RETRY_MS = 86_400_000;
/** Tries at writing timestamp.json, a second apart (R2: one write per second per key). */
const TIMESTAMP_PUT_ATTEMPTS = 3;
/** Publishes status lists, newest first. */
const RECENT_PUBLISHES = 10;
/** Bin-n files written between two progress records of a publish. */
const WRITE_CHUNK = 1_024;
/**
 * Bin-n files signed and written between two pauses on a timer. While a publish
 * has work ready, the event loop never waits for new I/O, so requests that
 * arrive meanwhile (health, status) would wait for the whole publish.
 */
const YIELD_EVERY = 256;

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
  private readonly settings: Settings;
  private readonly state: PublishState;
  private signers?: Promise<Ed25519Signer[]>;
  private layout?: { succinct: SuccinctRoles; snapshot: SnapshotBytes };
  private draining?: Promise<PublishResult>;
  private tail: Promise<unknown> = Promise.resolve();
  /** When the current invocation's work began: WRITE_BUDGET_MS counts from here. */
  private budgetFrom = 0;
  private readonly signingLog: SigningLog;
  private readonly python: PythonIndex;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    // A bad [vars] combination must not make every call throw: it is reported by health and refuses publishing.
    this.settings = settingsFromEnv(env);
    this.policy = this.settings.policy;
    this.state = new PublishState(this.sql, ctx.storage.kv);
    this.signingLog = new SigningLog(this.sql);
    this.python = new PythonIndex(this.sql, env.BUCKET, this.keys);
    ctx.blockConcurrencyWhile(async () => {
      migrate(this.sql, Date.now());
      migratePythonIndex(this.sql);
    });
  }

  // ---- RPC: bootstrap -------------------------------------------------------

  /**
   * Accepts the ceremony's root, targets and bins, then publishes every bin-n, snapshot 1 and timestamp 1.
   * Every RPC method takes an optional `now` (ms): given, it is the reference time of all the work the
   * call does (tests drive a simulated clock this way); left out, each publish reads the clock.
   */
  async bootstrap(input: { root: string; targets: string; bins: string; insecureKeyPolicy?: boolean }, at?: number): Promise<BootstrapResult> {
    const now = at ?? Date.now();
    if (this.isBootstrapped()) return { status: "already_bootstrapped" };
    let roles: OfflineRoles;
    try {
      roles = parseOffline(input.root, input.targets, input.bins);
      if (roles.root.signed.version !== 1)
        throw new TufError("rollback", `bootstrap takes root v1, got v${roles.root.signed.version}; upload later roots with tuf-edge upload`);
      const onlineKey = (await this.configuredOnlineKeys())[0]!.key;
      await verifyOfflineSet(roles, onlineKey, new Date(now));
      if (!input.insecureKeyPolicy) requireKeyPolicy(roles, onlineKey);
    } catch (e) {
      if (e instanceof TufError) return { status: "rejected", code: e.code, message: e.message };
      throw e;
    }
    // An empty Publisher over a bucket that serves this repository (its storage was lost, or a second
    // deployment): a new bootstrap would give published versions new bytes. `tuf-edge recover` continues it.
    if ((await this.env.BUCKET.list({ prefix: this.keys.metadataPrefix, limit: 1 })).objects.length > 0) return { status: "bucket_in_use" };
    if (this.isBootstrapped()) return { status: "already_bootstrapped" };
    const succinct = succinctRolesOf(roles.bins.signed);
    const n = succinct.numberOfBins;
    this.ctx.storage.transactionSync(() => {
      this.sql.exec(
        "INSERT INTO repository (id, bit_length, name_prefix, bootstrapped_at, insecure_key_policy) VALUES (1, ?, ?, ?, ?)",
        succinct.bitLength,
        succinct.namePrefix,
        now,
        input.insecureKeyPolicy ? 1 : 0,
      );
      for (const [name, md] of Object.entries(roles)) this.storeOfflineRole(name, md);
      for (let i = 0; i < n; i++)
        this.sql.exec("INSERT INTO bins (idx, version, expires) VALUES (?, 1, ?)", i, staggeredExpiry(i, n, now, this.policy));
      initBinSizes(this.sql, n);
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
      this.audit(now, "bootstrap", { root: 1, bins: n, bit_length: succinct.bitLength, insecure_key_policy: !!input.insecureKeyPolicy });
    });
    // If the process dies mid-publish, the alarm is what resumes the reservation.
    await this.ctx.storage.setAlarm(now + RETRY_MS);
    this.forgetCaches();
    const published = await this.drain(clockAt(at)).then(
      (r) => r.status !== "unfinished",
      () => false, // the alarm resumes it from the recorded progress
    );
    return { status: "bootstrapped", bins: n, snapshot: 1, timestamp: 1, published };
  }

  /**
   * Rebuilds an empty Publisher from what R2 serves (src/publisher/recover.ts), then publishes every
   * bin-n, the snapshot and the timestamp one version above the highest R2 holds under each name.
   */
  async recover(at?: number): Promise<RecoverResult> {
    const now = at ?? Date.now();
    if (this.isBootstrapped()) return { status: "already_bootstrapped" };
    let found: RecoveredRepository;
    try {
      found = await readRepository(this.env.BUCKET, this.keys, this.policy.onlineExpiryMs);
      const roles = { root: found.roots[found.roots.length - 1]!, targets: found.targets, bins: found.bins };
      const named = roles.root.signed.roles.timestamp.keyids;
      const online = (await this.configuredOnlineKeys()).find((s) => named.includes(s.key.keyid));
      if (!online) throw new TufError("unknown_key", `root v${roles.root.signed.version} names ${named.join(", ")} for timestamp, but neither ONLINE_KEY nor ONLINE_KEY_NEXT is that key`);
      await verifyOfflineSet(roles, online.key, new Date(now));
      requireKeyPolicy(roles, online.key);
    } catch (e) {
      if (e instanceof TufError) return { status: "rejected", code: e.code, message: e.message };
      throw e;
    }
    if (this.isBootstrapped()) return { status: "already_bootstrapped" };
    const plan = this.ctx.storage.transactionSync(() => this.restore(found, now));
    this.forgetCaches();
    const published = await this.drain(clockAt(at)).then(() => true, () => false);
    return {
      status: "recovered",
      found: {
        root: found.roots.length,
        targets: found.targets.signed.version,
        bins: found.bins.signed.version,
        snapshot: found.snapshot.signed.version,
        timestamp: found.timestamp.signed.version,
        artifacts: found.artifacts.length,
      },
      snapshot: plan.snapshotVersion,
      timestamp: plan.timestampVersion,
      published,
    };
  }

  private restore(found: RecoveredRepository, now: number): PublishPlan {
    const succinct = succinctRolesOf(found.bins.signed);
    const n = succinct.numberOfBins;
    const above = (role: string, served: number) => Math.max(found.highest.get(role) ?? 0, served) + 1;
    this.sql.exec("INSERT INTO repository (id, bit_length, name_prefix, bootstrapped_at) VALUES (1, ?, ?, ?)", succinct.bitLength, succinct.namePrefix, now);
    for (const root of found.roots) this.storeOfflineRole("root", root);
    this.storeOfflineRole("targets", found.targets);
    this.storeOfflineRole("bins", found.bins);
    const bins: Array<[number, number]> = [];
    for (let i = 0; i < n; i++) {
      const role = succinct.roleName(i);
      const version = above(role, found.snapshot.signed.meta[`${role}.json`]!.version);
      this.sql.exec("INSERT INTO bins (idx, version, expires) VALUES (?, ?, ?)", i, version, staggeredExpiry(i, n, now, this.policy));
      bins.push([i, version]);
    }
    initBinSizes(this.sql, n);
    const listed = new Map<number, { bytes: number; targets: number }>();
    for (const a of found.artifacts) {
      const size = entryBytes(a.path, a.length, a.hashes, a.custom);
      this.sql.exec(
        "INSERT INTO artifacts (bin, path, length, hashes, custom, size) VALUES (?, ?, ?, ?, ?, ?)",
        a.bin, a.path, a.length, canonicalString(a.hashes), a.custom === undefined ? null : canonicalString(a.custom), size,
      );
      const bin = listed.get(a.bin) ?? { bytes: 0, targets: 0 };
      bin.bytes += size;
      bin.targets += 1;
      listed.set(a.bin, bin);
    }
    for (const [idx, bin] of listed) {
      this.sql.exec("UPDATE bins SET bytes = ? WHERE idx = ?", bin.bytes, idx);
      binTargetsChanged(this.sql, idx, bin.targets);
    }
    this.bumpCounter("artifacts", found.artifacts.length);
    const expires = now + this.policy.onlineExpiryMs;
    const plan: PublishPlan = {
      snapshotVersion: above("snapshot", found.snapshot.signed.version),
      timestampVersion: found.timestamp.signed.version + 1,
      referenceTime: now,
      bins,
      offline: [],
      receipts: {},
      superseded: [],
    };
    this.sql.exec("INSERT INTO roles (name, version, expires) VALUES ('snapshot', ?, ?), ('timestamp', ?, ?)", plan.snapshotVersion, expires, plan.timestampVersion, expires);
    this.insertPlan(plan, "recovery");
    this.audit(now, "recovery", { root: found.roots.length, timestamp: found.timestamp.signed.version, snapshot: found.snapshot.signed.version, artifacts: found.artifacts.length });
    return plan;
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
    const result = row.result === null ? undefined : JSON.parse(row.result);
    return result && !result.partial ? { receipt: id, status: "published", ...result } : { receipt: id, status: "queued" };
  }

  // ---- RPC: the Python index (python-index.ts) -------------------------------

  /** Whether an upload's filename is new, already there with these bytes, or refused; checked before its bytes go to R2. */
  async pythonCheckFile(filename: string, sha256: string): Promise<FileCheck> {
    if (!this.isBootstrapped()) return { status: "refused", code: "not_bootstrapped", message: "this repository is not bootstrapped yet: run tuf-edge bootstrap" };
    return this.python.checkFile(filename, sha256);
  }

  /** Records an upload whose file (and METADATA) are in R2 under their hash-named keys; signs it with its pages in one publish. */
  async pythonUpload(input: PythonUploadInput, wait: boolean, at?: number): Promise<PythonUploadResult> {
    if (!this.isBootstrapped()) return { status: "not_bootstrapped" };
    return this.python.serialize(async () => {
      const check = this.python.checkFile(input.filename, input.sha256);
      if (check.status !== "new") return check;
      return this.accept(await this.python.upload(input, at ?? Date.now()), wait, at);
    });
  }

  /** Yanks, unyanks or deletes every file of a release (PEP 592), re-signing its pages in the same publish. */
  async pythonRelease(input: PythonReleaseInput, wait: boolean, at?: number): Promise<PythonReleaseResult> {
    if (!this.isBootstrapped()) return { status: "not_bootstrapped" };
    return this.python.serialize(async () => {
      const change = await this.python.release(input);
      return "status" in change ? change : this.accept(change, wait, at);
    });
  }

  /** Queues an index change and its targets as one receipt, so one publish covers all of them. */
  private async accept(change: IndexChange, wait: boolean, at?: number): Promise<SubmitResult> {
    const now = at ?? Date.now();
    const id = this.queueIndexChange(change, now);
    await this.ctx.storage.setAlarm(now + RETRY_MS);
    return this.awaitReceipt(id, wait, clockAt(at));
  }

  private queueIndexChange(change: IndexChange, now: number): string {
    const { succinct } = this.currentLayout();
    const id = crypto.randomUUID();
    this.ctx.storage.transactionSync(() => {
      change.apply();
      this.sql.exec("INSERT INTO receipts (id, body_sha256, received_at) VALUES (?, '', ?)", id, now);
      for (const c of change.changes) this.enqueue(id, c, succinct);
    });
    return id;
  }

  // ---- RPC: renewal and recovery -------------------------------------------

  /** The cron's entry point: publishes queued changes and re-signs what is due; publishes nothing if nothing is. */
  async renew(at?: number): Promise<PublishResult> {
    if (!this.isBootstrapped()) return { status: "unchanged" };
    const clock = clockAt(at);
    // A publish already under way (say, for an upload) takes no due bins: wait for it, then run the renewal pass.
    await this.draining?.catch(() => undefined);
    // The project list is too large to re-sign per upload at PyPI's size: each cron run re-signs it if a project was added.
    await this.python.serialize(async () => {
      const list = await this.python.projectListChanges();
      if (list) this.queueIndexChange(list, clock()); // the drain below publishes it
    });
    const result = await this.drain(clock, true);
    // Retention is housekeeping: a failing sweep is logged and retried next run, and never fails renewal.
    await this.exclusive(() => this.sweep(clock())).catch((e) =>
      console.error(JSON.stringify({ event: "sweep_failed", error: e instanceof Error ? e.message : String(e) })),
    );
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
      try {
        await this.finishPendingPlan(now);
      } catch (e) {
        const message = errorMessage(e);
        this.state.failed(Date.now(), message);
        const plan = this.pendingPlan();
        return { status: "unavailable", code: "publish_failing", message: `the publish of timestamp v${plan?.timestampVersion} cannot finish, so nothing can be published on top of it: ${message}` };
      }
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
        if (!this.insecureKeyPolicy()) requireKeyPolicy(verified.roles, verified.onlineKey);
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
      await this.ctx.storage.setAlarm(now + RETRY_MS);
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

  /** Served versions, the publish in flight, failures and the queue: a few indexed lookups, so health stays cheap. */
  async health(at?: number): Promise<HealthView | undefined> {
    const now = at ?? Date.now();
    if (!this.isBootstrapped()) return undefined;
    const { succinct } = this.currentLayout();
    const served = this.state.served(now, (idx) => succinct.roleName(idx));
    const inFlight = this.state.inFlight(now);
    const failing = this.state.failure();
    const queue = this.state.queue(now);
    const problems = healthProblems({ served, inFlight, failing, oldestQueuedSeconds: queue.oldestSeconds }, this.settings);
    return {
      ok: problems.length === 0,
      problems,
      ...served,
      in_flight: inFlight,
      failing,
      queue_depth: queue.depth,
      oldest_queued_seconds: queue.oldestSeconds,
    };
  }

  async status(at?: number): Promise<StatusView | undefined> {
    const health = await this.health(at);
    if (!health) return undefined;
    return {
      ...health,
      publishing: health.in_flight !== null,
      artifacts: this.counter("artifacts"),
      bins: this.currentLayout().succinct.numberOfBins,
      warnings: this.sizeWarnings(),
      log: this.signingLog.head() ?? null,
      recent_publishes: this.signingLog.recent(RECENT_PUBLISHES),
      bin_sizes: binSizeDistribution(this.sql),
      key_policy: this.insecureKeyPolicy() ? "insecure" : "pep458",
    };
  }

  /** The signing log's entries after `after` (GET /api/v1/log). */
  async log(after: number): Promise<LogPage> {
    return this.signingLog.page(after);
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
        if (this.settings.problems.length > 0) throw new Error(`the Worker's settings are invalid: ${this.settings.problems.join("; ")}`);
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
        this.state.failed(Date.now(), errorMessage(e));
        await this.ctx.storage.setAlarm(Date.now() + RETRY_MS);
        console.error(JSON.stringify({ event: "publish_failed", error: errorMessage(e) }));
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
  private async finishPendingPlan(now = Date.now()): Promise<void> {
    const pending = this.pendingPlan();
    if (pending) {
      const plan = await this.unlessStale(pending, now);
      await this.write(plan);
      await this.commit(plan, true);
    }
  }

  private async publishOnce(now: number, renewDue: boolean): Promise<PublishResult> {
    const pending = this.pendingPlan();
    const plan = pending ? await this.unlessStale(pending, now) : this.begin(now, renewDue);
    if (!plan) return { status: "unchanged" };
    // A renewal from the cron has no alarm set yet; a crash must not wait for the next cron run.
    if (!pending) await this.ctx.storage.setAlarm(now + RETRY_MS);
    await this.write(plan);
    await this.commit(plan, pending !== undefined);
    return { status: "published", timestamp: plan.timestampVersion, snapshot: plan.snapshotVersion };
  }

  /**
   * A reservation resumed after its online expiry passed, or after the online keys changed, cannot be
   * published as reserved: it would publish expired metadata, or give a reserved version other bytes.
   * It is given up (its versions are never used again) and its work reserved anew, one version up.
   */
  private async unlessStale(plan: PublishPlan, now: number): Promise<PublishPlan> {
    const row = this.sql.exec<{ signers: string | null }>("SELECT signers FROM publishes WHERE timestamp_version = ?", plan.timestampVersion).one();
    const keyids = (await this.onlineSigners()).map((s) => s.key.keyid);
    const { succinct, snapshot } = this.currentLayout();
    const expiries = [
      this.roleRow("snapshot").expires,
      this.roleRow("timestamp").expires,
      ...plan.bins.map(([idx]) => this.sql.exec<{ expires: number }>("SELECT expires FROM bins WHERE idx = ?", idx).one().expires),
    ];
    const expired = Math.min(...expiries) <= now;
    const rekeyed = row.signers !== null && JSON.stringify(JSON.parse(row.signers)) !== JSON.stringify(keyids);
    if (!expired && !rekeyed) return plan;
    const p = this.policy;
    const n = succinct.numberOfBins;
    return this.ctx.storage.transactionSync(() => {
      this.sql.exec("UPDATE publishes SET committed_at = ?, abandoned = 1 WHERE timestamp_version = ?", now, plan.timestampVersion);
      const expires = now + p.onlineExpiryMs;
      const bins: Array<[number, number]> = plan.bins.map(([idx], k) => {
        const binExpires = plan.bins.length === n ? staggeredExpiry(k, n, now, p) : expires;
        return [idx, this.sql.exec<{ version: number }>("UPDATE bins SET version = version + 1, expires = ? WHERE idx = ? RETURNING version", binExpires, idx).one().version];
      });
      const next: PublishPlan = {
        ...plan,
        snapshotVersion: this.bumpRole("snapshot", expires),
        timestampVersion: this.bumpRole("timestamp", expires),
        referenceTime: now,
        bins,
        // What the given-up versions would have superseded goes too; their own files are superseded by the new ones.
        superseded: [
          ...plan.superseded,
          ...plan.bins.filter(([, v]) => v > 1).map(([idx, v]) => this.keys.versioned(succinct.roleName(idx), v - 1)),
          ...(plan.snapshotVersion > 1 ? [this.keys.versioned("snapshot", plan.snapshotVersion - 1)] : []),
        ],
      };
      for (const id of Object.keys(plan.receipts)) this.sql.exec("UPDATE receipts SET published_in = ? WHERE id = ?", next.timestampVersion, id);
      this.insertPlan(next, expired ? "expired_reservation" : "online_keys_changed");
      this.audit(now, "reservation_abandoned", { timestamp: plan.timestampVersion, snapshot: plan.snapshotVersion, reason: expired ? "expired" : "online keys changed" });
      for (const [idx, version] of bins) snapshot.set(`${succinct.roleName(idx)}.json`, version);
      return next;
    });
  }

  /** Reserves the next consistent snapshot, or returns undefined when nothing changed or is due. */
  private begin(now: number, renewDue: boolean): PublishPlan | undefined {
    const { succinct, snapshot } = this.currentLayout();
    const p = this.policy;
    return this.ctx.storage.transactionSync(() => {
      let queued = this.sql
        .exec<{ seq: number; receipt: string; op: string; path: string; bin: number; length: number | null; hashes: string | null; custom: string | null; size: number | null }>(
          "SELECT * FROM queue ORDER BY seq LIMIT ?",
          MAX_BATCH,
        )
        .toArray();
      // A receipt is published whole (a page and its files go together): a batch that cuts one leaves it to the next publish.
      if (queued.length === MAX_BATCH) {
        const cut = queued.findIndex((q) => q.receipt === queued[queued.length - 1]!.receipt);
        if (cut > 0) queued = queued.slice(0, cut);
      }
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
        if (prior) for (const key of this.keys.targetKeys(item.path, JSON.parse(prior.hashes))) superseded.add(key);
        if (item.op === "add")
          // Still listed, so none of its copies may be swept, even if an earlier change superseded them.
          for (const key of this.keys.targetKeys(item.path, JSON.parse(item.hashes!))) {
            superseded.delete(key);
            this.sql.exec("DELETE FROM superseded WHERE key = ?", key);
          }
        if (item.op === "add" && !prior) binTargetsChanged(this.sql, item.bin, 1);
        if (item.op === "remove" && prior) binTargetsChanged(this.sql, item.bin, -1);
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
    await crashPoint(this.env, this.ctx.storage, "after-begin");
    const { snapshot } = this.currentLayout();
    const signers = await this.onlineSigners();
    this.sql.exec("UPDATE publishes SET signers = ? WHERE timestamp_version = ? AND signers IS NULL", JSON.stringify(signers.map((s) => s.key.keyid)), plan.timestampVersion);
    const bucket = this.env.BUCKET;

    const snapshotExpires = new Date(this.roleRow("snapshot").expires);
    const snapshotBytes = await envelope(snapshot.signedBytes(plan.snapshotVersion, snapshotExpires), signers);
    await selfCheck("snapshot", snapshotBytes, signers);
    assertWithinClientLimit("snapshot", "snapshot", snapshotBytes.length);
    // Bins, offline roles and the snapshot are independent new names; only timestamp.json must wait for all of them.
    await Promise.all([
      this.writeBins(plan, signers),
      ...plan.offline.filter((role) => role !== "root").map(async (role) => {
        const { version, body } = this.offlineRoleBody(role);
        await putJSON(bucket, this.keys.versioned(role, version), body);
        this.signingLog.stage(plan.timestampVersion, [loggedFile(role, version, body)]);
      }),
      putJSON(bucket, this.keys.versioned("snapshot", plan.snapshotVersion), snapshotBytes).then(() =>
        this.signingLog.stage(plan.timestampVersion, [loggedFile("snapshot", plan.snapshotVersion, snapshotBytes, signers)]),
      ),
    ]);
    await crashPoint(this.env, this.ctx.storage, "after-snapshot");

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
        // The one mutable name.
        await putMetadata(bucket, this.keys.timestamp, timestampBytes, { createOnly: false, customMetadata: meta });
        this.signingLog.stage(plan.timestampVersion, [loggedFile("timestamp", plan.timestampVersion, timestampBytes, signers)]);
        break;
      } catch (e) {
        if (attempt === TIMESTAMP_PUT_ATTEMPTS) throw e;
        await new Promise((r) => setTimeout(r, 1_000));
      }
    }
    await crashPoint(this.env, this.ctx.storage, "after-timestamp");
    // Plain copies of Python files and pages, for clients without TUF, change only once a timestamp covers them.
    await this.python.copyPlain();
    // Clients fetch N+1.root.json before timestamp.json, so a new root goes
    // last: until it appears, every file above still verifies under root N.
    if (plan.offline.includes("root")) {
      const { version, body } = this.offlineRoleBody("root");
      await putJSON(bucket, this.keys.versioned("root", version), body);
      this.signingLog.stage(plan.timestampVersion, [loggedFile("root", version, body)]);
      await crashPoint(this.env, this.ctx.storage, "after-root");
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
      const written: LoggedFile[] = [];
      // Yield between parts, so health and status answer during a long publish.
      for (let part = 0; part < chunk.length; part += YIELD_EVERY) {
        if (start + part > done) await new Promise((resolve) => setTimeout(resolve, 0));
        await mapLimit(chunk.slice(part, part + YIELD_EVERY), PUT_CONCURRENCY, async ([idx, version]) => {
          const bytes = await this.signBin(idx, version, signers);
          await putJSON(this.env.BUCKET, this.keys.versioned(succinct.roleName(idx), version), bytes);
          written.push(loggedFile(succinct.roleName(idx), version, bytes, signers));
          await crashPoint(this.env, this.ctx.storage, "bins-partial");
        });
      }
      this.signingLog.stage(plan.timestampVersion, written);
      this.sql.exec("UPDATE publishes SET bins_written = ? WHERE timestamp_version = ?", start + chunk.length, plan.timestampVersion);
      if (start + chunk.length < plan.bins.length && Date.now() - this.budgetFrom > WRITE_BUDGET_MS) throw new Unfinished();
    }
  }

  /** `resumed`: the plan was reserved by an earlier run, which may have logged it before a crash lost its commit. */
  private async commit(plan: PublishPlan, resumed: boolean): Promise<void> {
    const { succinct } = this.currentLayout();
    const versions = new Map(plan.bins);
    const committedAt = Math.max(Date.now(), plan.referenceTime);
    // Files the new state no longer references; kept for the retention window (PEP 458 §Cleaning up old metadata).
    const superseded = [
      ...plan.superseded,
      ...plan.bins.filter(([, v]) => v > 1).map(([idx, v]) => this.keys.versioned(succinct.roleName(idx), v - 1)),
      ...(plan.snapshotVersion > 1 ? [this.keys.versioned("snapshot", plan.snapshotVersion - 1)] : []),
      ...plan.offline
        .filter((role) => role !== "root") // PEP 458: old root versions are never deleted.
        .map((role) => this.keys.versioned(role, this.currentVersion(role) - 1)),
    ];
    this.ctx.storage.transactionSync(() => {
      this.sql.exec("UPDATE publishes SET committed_at = ? WHERE timestamp_version = ?", committedAt, plan.timestampVersion);
      this.state.committed(committedAt);
      this.signingLog.append(plan.timestampVersion, plan.referenceTime, committedAt, this.logCause(plan));
      for (const key of superseded) this.sql.exec("INSERT OR IGNORE INTO superseded (key, since) VALUES (?, ?)", key, committedAt);
      for (const [id, bins] of Object.entries(plan.receipts)) {
        // A request with more changes than one publish takes (MAX_BATCH) is published only by the
        // publish that takes its last change; until then its receipt gathers bins and says queued.
        const prior = this.sql.exec<{ result: string | null }>("SELECT result FROM receipts WHERE id = ?", id).one().result;
        const merged = { ...(prior ? (JSON.parse(prior) as { bins: Record<string, number> }).bins : {}), ...Object.fromEntries(bins.map((idx) => [succinct.roleName(idx), versions.get(idx)!])) };
        const remaining = this.sql.exec("SELECT 1 FROM queue WHERE receipt = ? LIMIT 1", id).toArray().length > 0;
        const result = remaining ? { partial: true, bins: merged } : { bins: merged, snapshot: plan.snapshotVersion, timestamp: plan.timestampVersion };
        this.sql.exec("UPDATE receipts SET result = ? WHERE id = ?", JSON.stringify(result), id);
      }
    });
    // Logged once the commit is durable: a crash before that leaves no line, and the redo logs it.
    await this.ctx.storage.sync();
    // PEP 458 §Managing online keys: every use of the online key is logged, also outside the
    // Durable Object (wrangler tail, Logpush), where a compromised Publisher cannot erase it.
    console.log(JSON.stringify({
      event: "published",
      timestamp: plan.timestampVersion,
      snapshot: plan.snapshotVersion,
      bins: plan.bins.length,
      offline: plan.offline,
      changes: Object.values(plan.receipts).reduce((n, bins) => n + bins.length, 0),
      // A resumed publish re-signs the same versions byte for byte: the same use of the key, not a new one.
      ...(resumed ? { resumed: true } : {}),
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
      if (!signers.some((s) => roots[0]!.roles.timestamp.keyids.includes(s.key.keyid))) {
        const both = !!this.env.ONLINE_KEY_NEXT && !!this.env.ONLINE_KEY;
        const wanted = roots[0]!.roles.timestamp.keyids.map((k) => `${k.slice(0, 8)}…`).join(", ");
        throw new Error(`${both ? "neither ONLINE_KEY nor ONLINE_KEY_NEXT is" : this.env.ONLINE_KEY_NEXT ? "ONLINE_KEY_NEXT is not" : "ONLINE_KEY is not"} the key root v${roots[0]!.version} names for timestamp (${wanted}); set ONLINE_KEY to that key's seed (docs/operations.md section 7)`);
      }
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
      const failed = await deleteEach(this.env.BUCKET, keys);
      await crashPoint(this.env, this.ctx.storage, "sweep");
      this.ctx.storage.transactionSync(() => {
        for (const key of keys)
          if (failed.has(key)) this.sql.exec("UPDATE superseded SET since = ? WHERE key = ?", now + SWEEP_RETRY_MS, key);
          else this.sql.exec("DELETE FROM superseded WHERE key = ?", key);
      });
    }
  }

  // ---- storage helpers ------------------------------------------------------

  /** Read from env each time: the repository's name scopes every R2 key. */
  private get keys(): R2Keys {
    return r2Keys(this.env);
  }

  private insecureKeyPolicy(): boolean {
    return this.sql.exec<{ insecure: number }>("SELECT insecure_key_policy AS insecure FROM repository").one().insecure === 1;
  }

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
    if (view!.status === "published") return { ...view!, status: "published" };
    const failing = this.state.failure();
    return failing ? { status: "queued", receipt: id, problem: `publishing is failing since ${failing.since}: ${failing.error}` } : { status: "queued", receipt: id };
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

  private logCause(plan: PublishPlan): LogCause {
    const { reason } = this.sql.exec<{ reason: string }>("SELECT reason FROM publishes WHERE timestamp_version = ?", plan.timestampVersion).one();
    switch (reason) {
      case "artifacts":
        return { kind: "artifacts", receipts: Object.keys(plan.receipts).sort() };
      case "offline_roles":
      case "online_key_rotation":
        return { kind: reason, roles: [...plan.offline].sort() };
      default:
        return { kind: reason as "bootstrap" | "renewal" };
    }
  }

  private audit(at: number, event: string, detail: object): void {
    this.sql.exec("INSERT INTO audit (at, event, detail) VALUES (?, ?, ?)", at, event, JSON.stringify(detail));
  }
}

/** The invocation's time is up; the alarm resumes the publish from its recorded progress. */
class Unfinished extends Error {}

/** A written file as the signing log records it; `signers` signed it, else its own signatures name the keys. */
function loggedFile(role: string, version: number, bytes: Uint8Array, signers?: readonly Ed25519Signer[]): LoggedFile {
  const keyids = signers
    ? signers.map((s) => s.key.keyid)
    : (JSON.parse(new TextDecoder().decode(bytes)) as { signatures: Array<{ keyid: string }> }).signatures.map((s) => s.keyid);
  return { role, version, length: bytes.length, sha256: toHex(sha256Sync(bytes)), keyids: keyids.sort() };
}

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
async function selfCheck(type: "targets" | "snapshot" | "timestamp", bytes: Uint8Array, signers: readonly Ed25519Signer[]): Promise<void> {
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

/** Versioned metadata: create-only, so no storage accident can give a published version other bytes. */
async function putJSON(bucket: R2Bucket, key: string, bytes: Uint8Array): Promise<void> {
  await putMetadata(bucket, key, bytes, { createOnly: true });
}

/** Deletes `keys` in one call; if R2 refuses the batch, one by one. Returns the keys that could not be deleted. */
async function deleteEach(bucket: R2Bucket, keys: string[]): Promise<Set<string>> {
  try {
    await bucket.delete(keys);
    return new Set();
  } catch {
    const failed = new Set<string>();
    for (const key of keys)
      await bucket.delete(key).catch((e) => {
        failed.add(key);
        console.error(JSON.stringify({ event: "sweep_delete_failed", key, error: e instanceof Error ? e.message : String(e) }));
      });
    return failed;
  }
}

async function mapLimit<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}


const errorMessage = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** A fixed reference time when the caller gives one, else the real clock. */
const clockAt = (at: number | undefined): (() => number) => (at === undefined ? Date.now : () => at);
