/** Plain-data requests and result unions of the Publisher's RPC methods (RPC keeps no custom error fields). */
import type { JSONObject } from "../tuf/index.js";

export type Change =
  | { op: "add"; path: string; length: number; hashes: Record<string, string>; custom?: JSONObject }
  | { op: "remove"; path: string };

export interface SubmitRequest {
  changes: Change[];
  /** SHA-256 of the raw request body, so a reused Idempotency-Key with another body is caught. */
  bodySha256: string;
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
}

export type UpdateResult =
  | { status: "published" | "publishing"; timestamp: number; snapshot: number; roles: { root: number; targets: number; bins: number } }
  | { status: "not_bootstrapped" }
  | { status: "rejected"; code: string; message: string };

/** An upload to the Python index: published or queued as a receipt, a no-op for the same bytes again, or refused. */
export type PythonUploadResult =
  | SubmitResult
  | { status: "exists" }
  | { status: "refused"; code: string; message: string };

export type PythonReleaseResult = SubmitResult | { status: "not_found"; message: string };
