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
  | { status: "not_bootstrapped" }
  | { status: "idempotency_conflict" };

export type BootstrapResult =
  /** `published` is false when publishing goes on in the alarm (it stopped at the invocation's limits). */
  | { status: "bootstrapped"; bins: number; snapshot: number; timestamp: number; published: boolean }
  | { status: "already_bootstrapped" }
  /** The Publisher's storage is empty but R2 already serves this repository: recover instead. */
  | { status: "bucket_in_use" }
  | { status: "rejected"; code: string; message: string };

export type RecoverResult =
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

export type PublishResult = { status: "published"; timestamp: number; snapshot: number } | { status: "unchanged" };

export interface RoleStatus {
  version: number;
  expires: string;
  seconds_left: number;
}

export interface StatusView {
  roles: {
    timestamp: RoleStatus;
    snapshot: RoleStatus;
    oldest_bin: RoleStatus & { role: string };
    bins: RoleStatus;
    targets: RoleStatus;
    root: RoleStatus;
  };
  last_publish: string | null;
  queue_depth: number;
  oldest_queued_seconds: number | null;
  publishing: boolean;
  artifacts: number;
  bins: number;
  /** "insecure" when bootstrap skipped the PEP 458 key policy (root threshold >= 2, no offline role on the online key). */
  key_policy: "pep458" | "insecure";
}

export type UpdateResult =
  | { status: "published" | "publishing"; timestamp: number; snapshot: number; roles: { root: number; targets: number; bins: number } }
  | { status: "not_bootstrapped" }
  | { status: "rejected"; code: string; message: string };
