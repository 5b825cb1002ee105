import type { BinSizeBucket } from "./bin-sizes.js";
import type { LogHead, PublishSummary } from "./signing-log.js";

/** Plain-data requests and result unions of the Publisher's RPC methods (RPC keeps no custom error fields). */
import type { JSONObject } from "../tuf/index.js";

export type Change =
  | { op: "add"; path: string; length: number; hashes: Record<string, string>; custom?: JSONObject }
  | { op: "remove"; path: string };

export interface SubmitRequest {
  changes: Change[];
  /** The request's fingerprint (SHA-256 of the raw webhook body; of path and content for a PUT), so a reused key with another request is caught. */
  bodySha256: string;
  /** `webhook:<webhook-id>` or `put:<Idempotency-Key>`: a key seen before is never applied again. */
  idempotencyKey?: string;
  wait?: boolean;
}

export interface PublishedReceipt {
  receipt: string;
  status: "published";
  /** Each bin this request touched, at the version that first included the change. */
  bins: Record<string, number>;
  snapshot: number;
  timestamp: number;
}

export type ReceiptView = PublishedReceipt | { receipt: string; status: "queued" };

export type SubmitResult =
  | ReceiptView
  /** Accepted and durable, but publishing is failing: `problem` says why (as /healthz does). */
  | { receipt: string; status: "queued"; problem: string }
  | { status: "not_bootstrapped" }
  | { status: "idempotency_conflict" }
  | { status: "rejected"; code: string; message: string };

export type BootstrapResult =
  /** `published` is false when publishing goes on in the alarm (it stopped at the invocation's limits). */
  | { status: "bootstrapped"; bins: number; snapshot: number; timestamp: number; published: boolean }
  | { status: "already_bootstrapped" }
  /** The Publisher's storage is empty but R2 already serves this repository: recover instead. */
  | { status: "bucket_in_use" }
  | { status: "rejected"; code: string; message: string };

export type RecoverResult =
  /** One step done (recover.ts); call again to go on. */
  | { status: "recovering"; bins_read: number; bins: number; listed: boolean }
  | {
      status: "recovered";
      /** What R2 served, and the versions the recovery publish continues with. */
      found: { root: number; targets: number; bins: number; snapshot: number; timestamp: number; artifacts: number };
      snapshot: number;
      timestamp: number;
      published: boolean;
    }
  | { status: "already_bootstrapped" }
  | { status: "rejected"; code: string; message: string };

export type PublishResult =
  | { status: "published"; timestamp: number; snapshot: number }
  | { status: "unchanged" }
  /** The invocation's time budget ran out mid-publish; the alarm goes on from the recorded progress. */
  | { status: "unfinished" };

export interface RoleStatus {
  version: number;
  expires: string;
  seconds_left: number;
}

/** What clients are served: changed only when a publish commits (timestamp.json written). */
export interface ServedView {
  roles: {
    timestamp: RoleStatus;
    snapshot: RoleStatus;
    oldest_bin: RoleStatus & { role: string };
    bins: RoleStatus;
    targets: RoleStatus;
    root: RoleStatus;
  };
  last_publish: string | null;
}

/** The publish reserved but not yet committed. */
export interface InFlightView {
  timestamp: number;
  snapshot: number;
  bins: number;
  reason: string;
  /** When it was reserved, and how long ago. */
  since: string;
  seconds: number;
  /** Age of the oldest change it carries (null for renewals and offline-role updates). */
  oldest_change_seconds: number | null;
}

/** The current streak of failed publish attempts; cleared by the next commit. */
export interface FailureView {
  timestamp: number | null;
  since: string;
  last_attempt: string;
  attempts: number;
  error: string;
}

/** /healthz: cheap to compute, never waits for a publish. */
export interface HealthView extends ServedView {
  ok: boolean;
  problems: string[];
  in_flight: InFlightView | null;
  failing: FailureView | null;
  queue_depth: number;
  oldest_queued_seconds: number | null;
}

export interface StatusView extends HealthView {
  publishing: boolean;
  artifacts: number;
  bins: number;
  /** Bins nearing the size TUF clients download by default (client-limits.ts). */
  warnings: string[];
  /** The signing log's newest entry (docs/signing-log.md); null before the first publish is logged. */
  log: LogHead | null;
  recent_publishes: PublishSummary[];
  bin_sizes: BinSizeBucket[];
  /** "insecure" when bootstrap skipped the PEP 458 key policy (root threshold >= 2, no offline role on the online key). */
  key_policy: "pep458" | "insecure";
}

export type UpdateResult =
  | {
      status: "published" | "publishing";
      timestamp: number;
      snapshot: number;
      roles: { root: number; targets: number; bins: number };
      /** The uploaded root, held back until no cache holds a timestamp.json its clients cannot verify (serve_after null until the publish before it commits). */
      root_pending?: { version: number; serve_after: string | null };
    }
  | { status: "not_bootstrapped" }
  /** A held root is not written yet: nothing else is accepted until it is. */
  | { status: "root_pending"; message: string }
  | { status: "rejected"; code: string; message: string }
  /** The Publisher cannot finish the publish in flight (e.g. no usable online key), so nothing can go on top of it. */
  | { status: "unavailable"; code: string; message: string };

/** One chunk of a bulk import: validated lines, numbered as in the input file. */
export interface ImportChunk {
  id: string;
  /** The input line number of the chunk's first line; must be where the import stopped. */
  firstLine: number;
  /** The line number after the chunk's last line (blank lines count). */
  endLine: number;
  onConflict: "stop" | "skip";
  entries: Array<{ line: number; change: Extract<Change, { op: "add" }> }>;
}

export interface ImportView {
  id: string;
  /** The next input line the import expects: every line before it is staged. */
  next_line: number;
  added: number;
  unchanged: number;
  skipped: number;
  /** new: nothing staged yet; staging: lines staged, not published; publishing; published: a timestamp covers every staged line. */
  state: "new" | "staging" | "publishing" | "published";
  timestamp: number | null;
}

export type ImportChunkResult =
  | { status: "staged"; import: ImportView; skipped: Array<{ line: number; path: string }> }
  | { status: "out_of_order"; import: ImportView }
  | { status: "conflict"; line: number; path: string }
  | { status: "not_bootstrapped" }
  | { status: "rejected"; code: string; message: string };

/** An upload to the Python index: published or queued as a receipt, a no-op for the same bytes again, or refused. */
export type PythonUploadResult =
  | SubmitResult
  | { status: "exists" }
  | { status: "refused"; code: string; message: string };

export type PythonReleaseResult = SubmitResult | { status: "not_found"; message: string };
