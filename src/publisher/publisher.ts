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
 *
 * This class holds the RPC methods and the publish loop; the steps live next to it:
 * begin in plan.ts (reserve, reserveAnew, reserveOfflineUpdate), bootstrap.ts and
 * recover.ts (restore); write in write.ts, signing in signing.ts, R2 puts in r2-writes.ts; receipts
 * in receipts.ts; the queue in queue.ts; SQLite rows in store.ts; retention in
 * retention.ts; health and status in status.ts.
 */
import { DurableObject } from "cloudflare:workers";
import { UpdateError } from "../client/index.js";
import { Ed25519Signer, TufError } from "../tuf/index.js";
import { RoleTooLarge } from "./client-limits.js";
import { onlineKeyChanged, parseOffline, parseOfflineUpdate, rootWaitsForCaches, succinctRolesOf, verifyOfflineSet, verifyOfflineUpdate, type OfflineRoles } from "./offline.js";
import type { Policy } from "./policy.js";
import { settingsFromEnv, type Settings } from "./config.js";
import { PublishState } from "./publish-state.js";
import { importView, ImportConflict, requestPublish, stageChunk } from "./import.js";
import { migrate } from "./schema.js";
import { migratePythonIndex, PythonIndex, type FileCheck, type IndexChange, type PythonReleaseInput, type PythonUploadInput } from "./python-index.js";
import { r2Keys, type R2Keys } from "./r2-keys.js";
import { recoveryStep, type RecoveryStep } from "./recover.js";
import { SigningLog, type LogPage } from "./signing-log.js";
import type { LoggedFile } from "./log-entry.js";
import { requireKeyPolicy } from "./key-policy.js";
import { insertReceipt, receiptFor, receiptView, settleReceipts } from "./receipts.js";
import {
  loadLayout,
  logCause,
  pendingPlan,
  pendingRoot,
  previousVersions,
  reserve,
  reserveAnew,
  reserveOfflineUpdate,
  reserveRootRelease,
  settlePendingRoot,
  type Layout,
  type PublishPlan,
} from "./plan.js";
import { enqueue } from "./queue.js";
import { sweep } from "./retention.js";
import { Unfinished, writePlan } from "./write.js";
import { configuredOnlineKeys, onlineSigners } from "./signing.js";
import { currentOfflineRoles, insecureKeyPolicy, isBootstrapped, roleRow } from "./store.js";
import { bootstrapRows } from "./bootstrap.js";
import { healthView, statusView } from "./status.js";
import type {
  BootstrapResult,
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

/** How long an upload's staging object may live before retention deletes it (no upload runs this long). */
const UPLOAD_STAGING_MS = 86_400_000;
/** How long `?wait=true` waits for a publish. */
const WAIT_MS = 10_000;
/** When a publish is left unfinished, the alarm retries it this soon. */
const RETRY_MS = 2_000;

export class Publisher extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  private readonly policy: Policy;
  private readonly settings: Settings;
  private readonly state: PublishState;
  private signers?: Promise<Ed25519Signer[]>;
  private layout?: Layout;
  private draining?: Promise<PublishResult>;
  /** The retention sweep under way: an add accepted meanwhile waits for its R2 deletes (see submit). */
  private sweeping?: Promise<void>;
  private tail: Promise<unknown> = Promise.resolve();
  /** When the current invocation's work began: write.ts's WRITE_BUDGET_MS counts from here. */
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
    this.signingLog = new SigningLog(ctx.storage, env.BUCKET, () => this.keys);
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
    if (isBootstrapped(this.sql)) return { status: "already_bootstrapped" };
    let roles: OfflineRoles;
    try {
      roles = parseOffline(input.root, input.targets, input.bins);
      if (roles.root.signed.version !== 1)
        throw new TufError("rollback", `bootstrap takes root v1, got v${roles.root.signed.version}; upload later roots with tuf-edge upload`);
      const onlineKey = (await configuredOnlineKeys(this.env))[0]!.key;
      await verifyOfflineSet(roles, onlineKey, new Date(now));
      if (!input.insecureKeyPolicy) requireKeyPolicy(roles, onlineKey);
    } catch (e) {
      if (e instanceof TufError) return { status: "rejected", code: e.code, message: e.message };
      throw e;
    }
    // An empty Publisher over a bucket that serves this repository (its storage was lost, or a second
    // deployment): a new bootstrap would give published versions new bytes. `tuf-edge recover` continues it.
    if ((await this.env.BUCKET.list({ prefix: this.keys.metadataPrefix, limit: 1 })).objects.length > 0) return { status: "bucket_in_use" };
    if (isBootstrapped(this.sql)) return { status: "already_bootstrapped" };
    const succinct = succinctRolesOf(roles.bins.signed);
    const n = succinct.numberOfBins;
    this.ctx.storage.transactionSync(() => bootstrapRows(this.sql, roles, succinct, this.policy, !!input.insecureKeyPolicy, now));
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
   * One step of rebuilding an empty Publisher from what R2 serves (src/publisher/recover.ts): call
   * until it answers "recovered". The last step reserves the publish of every bin-n, the snapshot and
   * the timestamp one version above the highest R2 holds under each name, and starts it.
   */
  async recover(at?: number): Promise<RecoverResult> {
    const now = at ?? Date.now();
    const step = await this.exclusive(async (): Promise<RecoveryStep | RecoverResult> => {
      if (isBootstrapped(this.sql)) return { status: "already_bootstrapped" };
      const context = {
        sql: this.sql,
        transaction: <T>(work: () => T) => this.ctx.storage.transactionSync(work),
        bucket: this.env.BUCKET,
        keys: this.keys,
        policy: this.policy,
        onlineKeys: (await configuredOnlineKeys(this.env)).map((s) => s.key),
      };
      try {
        return await recoveryStep(context, now);
      } catch (e) {
        if (e instanceof TufError || e instanceof UpdateError) return { status: "rejected", code: e.code, message: e.message };
        throw e;
      }
    });
    if (step.status !== "finished") return step;
    // If the process dies mid-publish, the alarm is what resumes the reservation.
    await this.ctx.storage.setAlarm(now + RETRY_MS);
    this.forgetCaches();
    const published = await this.drain(clockAt(at)).then(
      (r) => r.status !== "unfinished",
      () => false,
    );
    return { status: "recovered", found: step.found, snapshot: step.plan.snapshotVersion, timestamp: step.plan.timestampVersion, published };
  }

  // ---- RPC: artifacts -------------------------------------------------------

  /** Queues validated changes durably; with `wait`, returns once a timestamp covers them (or the wait runs out). */
  async submit(request: SubmitRequest, at?: number): Promise<SubmitResult> {
    const now = at ?? Date.now();
    if (!isBootstrapped(this.sql)) return { status: "not_bootstrapped" };
    const { succinct } = this.currentLayout();
    if (request.idempotencyKey !== undefined) {
      const prior = receiptFor(this.sql, request.idempotencyKey);
      if (prior) {
        if (prior.body_sha256 !== request.bodySha256) return { status: "idempotency_conflict" };
        return this.awaitReceipt(prior.id, request.wait, clockAt(at));
      }
    }
    const id = crypto.randomUUID();
    try {
      this.ctx.storage.transactionSync(() => {
        insertReceipt(this.sql, id, request.idempotencyKey ?? null, request.bodySha256, now);
        for (const change of request.changes) enqueue(this.sql, id, change, succinct);
      });
    } catch (e) {
      // The transaction rolled back: the request changed nothing.
      if (e instanceof RoleTooLarge) return { status: "rejected", code: "role_too_large", message: `${e.message}; see "A bin is nearly full" in docs/operations.md` };
      throw e;
    }
    await this.ctx.storage.setAlarm(now + RETRY_MS);
    // A sweep that checked this add's copies before it was queued may still be deleting them. Answer after it
    // is done, so a caller that wrote the copies can check they are there (the hosted-target PUT does).
    if (request.changes.some((c) => c.op === "add")) await this.sweeping;
    return this.awaitReceipt(id, request.wait, clockAt(at));
  }

  /**
   * Records the staging object of an upload in flight (`PUT /api/v1/targets/…`, http/hosted-target.ts) as
   * superseded a day from now: the upload deletes it when done, and if it never gets there, retention does.
   * Not sooner: RETENTION_SECONDS may be shorter than a slow upload.
   */
  async uploadStarted(key: string, at?: number): Promise<void> {
    if (!key.startsWith(this.keys.upload(""))) throw new Error(`uploadStarted takes a staging key, not ${key}`);
    this.sql.exec("INSERT INTO superseded (key, since) VALUES (?, ?) ON CONFLICT (key) DO NOTHING", key, (at ?? Date.now()) + UPLOAD_STAGING_MS);
  }

  async receipt(id: string): Promise<ReceiptView | undefined> {
    return receiptView(this.sql, id);
  }

  // ---- RPC: the Python index (python-index.ts) -------------------------------

  /** Whether an upload's filename is new, already there with these bytes, or refused; checked before its bytes go to R2. */
  async pythonCheckFile(filename: string, sha256: string): Promise<FileCheck> {
    if (!isBootstrapped(this.sql)) return { status: "refused", code: "not_bootstrapped", message: "this repository is not bootstrapped yet: run tuf-edge bootstrap" };
    return this.python.checkFile(filename, sha256);
  }

  /** Records an upload whose file (and METADATA) are in R2 under their hash-named keys; signs it with its pages in one publish. */
  async pythonUpload(input: PythonUploadInput, wait: boolean, at?: number): Promise<PythonUploadResult> {
    if (!isBootstrapped(this.sql)) return { status: "not_bootstrapped" };
    return this.python.serialize(async () => {
      const check = this.python.checkFile(input.filename, input.sha256);
      if (check.status !== "new") return check;
      return this.accept(await this.python.upload(input, at ?? Date.now()), wait, at);
    });
  }

  /** Yanks, unyanks or deletes every file of a release (PEP 592), re-signing its pages in the same publish. */
  async pythonRelease(input: PythonReleaseInput, wait: boolean, at?: number): Promise<PythonReleaseResult> {
    if (!isBootstrapped(this.sql)) return { status: "not_bootstrapped" };
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
      insertReceipt(this.sql, id, null, "", now);
      for (const c of change.changes) enqueue(this.sql, id, c, succinct);
    });
    return id;
  }

  // ---- RPC: renewal and recovery -------------------------------------------

  /** The cron's entry point: publishes queued changes and re-signs what is due; publishes nothing if nothing is. */
  async renew(at?: number): Promise<PublishResult> {
    if (!isBootstrapped(this.sql)) return { status: "unchanged" };
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
    const sweeping = this.exclusive(() => sweep(this.ctx.storage, this.env, this.keys, this.currentLayout().succinct, this.policy.retentionMs, clock())).catch((e) =>
      console.error(JSON.stringify({ event: "sweep_failed", error: e instanceof Error ? e.message : String(e) })),
    );
    // exclusive() chains sweeps, so the newest one settles after every earlier one.
    this.sweeping = sweeping;
    await sweeping;
    if (this.sweeping === sweeping) this.sweeping = undefined;
    // So is moving full log pages to R2: a failure leaves them in SQLite for the next run.
    await this.exclusive(() => this.signingLog.archive()).catch((e) =>
      console.error(JSON.stringify({ event: "log_archive_failed", error: errorMessage(e) })),
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
    if (!isBootstrapped(this.sql)) return { status: "not_bootstrapped" };
    return this.exclusive(async () => {
      this.budgetFrom = Date.now();
      try {
        await this.finishPendingPlan(now);
      } catch (e) {
        const message = errorMessage(e);
        this.state.failed(Date.now(), message);
        const plan = pendingPlan(this.sql);
        return { status: "unavailable", code: "publish_failing", message: `the publish of timestamp v${plan?.timestampVersion} cannot finish, so nothing can be published on top of it: ${message}` };
      }
      const held = pendingRoot(this.sql);
      if (held)
        return {
          status: "root_pending",
          message: `root v${held.version} is not written yet (${held.serveAfter === undefined ? "its publish is still being written" : `it is written at ${new Date(held.serveAfter).toISOString()}`}, once no cache holds a timestamp.json signed before it); upload again after GET /api/v1/status shows root v${held.version}`,
        };
      let verified: Awaited<ReturnType<typeof verifyOfflineUpdate>>;
      let update: Partial<OfflineRoles>;
      try {
        update = parseOfflineUpdate(input);
        verified = await verifyOfflineUpdate(currentOfflineRoles(this.sql), update, (await configuredOnlineKeys(this.env)).map((s) => s.key), new Date(now));
        if (!insecureKeyPolicy(this.sql)) requireKeyPolicy(verified.roles, verified.onlineKey);
      } catch (e) {
        if (e instanceof TufError) return { status: "rejected", code: e.code, message: e.message };
        throw e;
      }
      const current = currentOfflineRoles(this.sql);
      const rekeyed = onlineKeyChanged(current, verified.roles);
      // A CDN may serve the last timestamp.json for TIMESTAMP_MAX_AGE: a root that moves the keys it
      // (or the targets it leads to) must carry is written only once every cacheable one carries them.
      const holdRoot = !!update.root && this.policy.timestampMaxAgeMs > 0 && rootWaitsForCaches(current.root.signed, update.root.signed);
      const n = succinctRolesOf(verified.roles.bins.signed).numberOfBins;
      const plan = this.ctx.storage.transactionSync(() => reserveOfflineUpdate(this.sql, this.policy, update, n, rekeyed, holdRoot, now));
      await this.ctx.storage.setAlarm(now + RETRY_MS);
      this.forgetCaches();
      const published = await this.finishPendingPlan().then(
        () => true,
        async () => {
          await this.ctx.storage.setAlarm(Date.now() + RETRY_MS); // resumes from the recorded progress
          return false;
        },
      );
      const roles = currentOfflineRoles(this.sql);
      const pending = pendingRoot(this.sql);
      return {
        status: published ? "published" : "publishing",
        timestamp: plan.timestampVersion,
        snapshot: plan.snapshotVersion,
        roles: { root: roles.root.signed.version, targets: roles.targets.signed.version, bins: roles.bins.signed.version },
        ...(pending ? { root_pending: { version: pending.version, serve_after: pending.serveAfter === undefined ? null : new Date(pending.serveAfter).toISOString() } } : {}),
      };
    });
  }

  // ---- RPC: bulk import ----------------------------------------------------

  /** Stages one chunk of a bulk import durably, without publishing it (import.ts). */
  async importLines(chunk: ImportChunk, at?: number): Promise<ImportChunkResult> {
    const now = at ?? Date.now();
    if (!isBootstrapped(this.sql)) return { status: "not_bootstrapped" };
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
    return isBootstrapped(this.sql) ? importView(this.sql, id) : undefined;
  }

  /**
   * Asks for the one publish that signs every staged bin, and returns at once:
   * the alarm writes it in invocations of at most WRITE_BUDGET_MS each.
   */
  async publishImport(id: string, at?: number): Promise<ImportView | undefined> {
    if (!isBootstrapped(this.sql)) return undefined;
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
    if (!isBootstrapped(this.sql)) return undefined;
    return healthView(this.state, this.settings, this.currentLayout().succinct, now);
  }

  async status(at?: number): Promise<StatusView | undefined> {
    const health = await this.health(at);
    if (!health) return undefined;
    return statusView(this.sql, health, this.signingLog, this.currentLayout().succinct);
  }

  /** The signing log's entries after `after` (GET /api/v1/log); undefined when its archived page is missing from R2. */
  async log(after: number): Promise<LogPage | undefined> {
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
        // A held root is written by a later publish (reserveRootRelease): wake up for it.
        const serveAfter = pendingRoot(this.sql)?.serveAfter;
        if (serveAfter === undefined) await this.ctx.storage.deleteAlarm();
        else await this.ctx.storage.setAlarm(serveAfter);
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
    const pending = pendingPlan(this.sql);
    if (pending) {
      const plan = await this.unlessStale(pending, now);
      const resumed = this.writeStarted(plan);
      await this.commit(plan, resumed, await this.write(plan));
    }
  }

  private async publishOnce(now: number, renewDue: boolean): Promise<PublishResult> {
    const pending = pendingPlan(this.sql);
    const plan = pending ? await this.unlessStale(pending, now) : this.begin(now, renewDue);
    if (!plan) return { status: "unchanged" };
    // A renewal from the cron has no alarm set yet; a crash must not wait for the next cron run.
    if (!pending) await this.ctx.storage.setAlarm(now + RETRY_MS);
    const resumed = this.writeStarted(plan);
    await this.commit(plan, resumed, await this.write(plan));
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
    const expiries = [
      roleRow(this.sql, "snapshot").expires,
      roleRow(this.sql, "timestamp").expires,
      ...plan.bins.map(([idx]) => this.sql.exec<{ expires: number }>("SELECT expires FROM bins WHERE idx = ?", idx).one().expires),
    ];
    const expired = Math.min(...expiries) <= now;
    const rekeyed = row.signers !== null && JSON.stringify(JSON.parse(row.signers)) !== JSON.stringify(keyids);
    if (!expired && !rekeyed) return plan;
    return this.ctx.storage.transactionSync(() => reserveAnew(this.sql, this.keys, this.policy, this.currentLayout(), plan, now, expired));
  }

  /**
   * Whether an earlier run began writing the plan (write() records its signers first), and so may
   * have logged it before a crash lost its commit. A plan reserved but never written, such as
   * bootstrap's first publish, is not a resumed one.
   */
  private writeStarted(plan: PublishPlan): boolean {
    return this.sql.exec<{ started: number }>("SELECT signers IS NOT NULL AS started FROM publishes WHERE timestamp_version = ?", plan.timestampVersion).one().started === 1;
  }

  /** Reserves the next consistent snapshot, or returns undefined when nothing changed or is due. */
  private begin(now: number, renewDue: boolean): PublishPlan | undefined {
    const layout = this.currentLayout();
    return this.ctx.storage.transactionSync(
      () => reserveRootRelease(this.sql, this.policy, now) ?? reserve(this.sql, this.keys, this.policy, layout, now, renewDue),
    );
  }

  /** Writes the plan's files to R2 (write.ts); returns those the commit logs. */
  private async write(plan: PublishPlan): Promise<LoggedFile[]> {
    const context = { env: this.env, storage: this.ctx.storage, keys: this.keys, layout: this.currentLayout(), signingLog: this.signingLog, python: this.python, budgetFrom: this.budgetFrom };
    return writePlan(context, plan, await this.onlineSigners());
  }

  /**
   * `resumed`: an earlier run began writing the plan, and may have logged it before a crash lost its commit.
   * `written`: the files writePlan wrote that no progress record staged.
   */
  private async commit(plan: PublishPlan, resumed: boolean, written: readonly LoggedFile[]): Promise<void> {
    const { succinct } = this.currentLayout();
    const committedAt = Math.max(Date.now(), plan.referenceTime);
    // Files the new state no longer references; kept for the retention window (PEP 458 §Cleaning up old metadata).
    const superseded = [
      ...plan.superseded,
      ...previousVersions(plan, this.keys, succinct),
      ...plan.offline
        .filter((role) => role !== "root") // PEP 458: old root versions are never deleted.
        .map((role) => this.keys.versioned(role, roleRow(this.sql, role).version - 1)),
    ];
    this.ctx.storage.transactionSync(() => {
      this.sql.exec("UPDATE publishes SET committed_at = ? WHERE timestamp_version = ?", committedAt, plan.timestampVersion);
      this.signingLog.append(plan.timestampVersion, plan.referenceTime, committedAt, logCause(this.sql, plan), written);
      // A key superseded again keeps the later time: its window runs from the last state that referenced it.
      for (const key of superseded)
        this.sql.exec("INSERT INTO superseded (key, since) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET since = MAX(since, excluded.since)", key, committedAt);
      settleReceipts(this.sql, plan, succinct);
      settlePendingRoot(this.sql, this.policy, plan, committedAt);
      // After settlePendingRoot: the served root is the held one's predecessor until the release commits.
      this.state.committed(committedAt);
    });
    // The signers' rule depends on whether the newest root is held (signing.ts onlineSigners).
    if (plan.offline.includes("root")) this.signers = undefined;
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

  // ---- caches ---------------------------------------------------------------

  /** The online signers (signing.ts), cached until the offline roles change. */
  private onlineSigners(): Promise<Ed25519Signer[]> {
    this.signers ??= onlineSigners(this.sql, this.env).catch((e) => {
      this.signers = undefined;
      throw e;
    });
    return this.signers;
  }

  /** Drops what is derived from the offline roles, after they change. */
  private forgetCaches(): void {
    this.layout = undefined;
    this.signers = undefined;
  }

  /** Read from env each time: the repository's name scopes every R2 key. */
  private get keys(): R2Keys {
    return r2Keys(this.env);
  }

  private currentLayout(): Layout {
    return (this.layout ??= loadLayout(this.sql));
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
}

/** The invocation's time is up; the alarm resumes the publish from its recorded progress. */

const errorMessage = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** A fixed reference time when the caller gives one, else the real clock. */
const clockAt = (at: number | undefined): (() => number) => (at === undefined ? Date.now : () => at);