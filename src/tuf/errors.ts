/**
 * The one error type of the TUF core. Bad data is a coded `TufError`;
 * calling the API in the wrong order is a bug and throws a plain Error.
 */
export type TufErrorCode =
  | "malformed" // JSON of the wrong shape or type
  | "not_canonical" // a value outside the signable canonical-JSON subset
  | "threshold" // too few valid signatures
  | "rollback" // a version that goes backwards, repeats or skips
  | "expired"
  | "length_or_hash"
  | "unknown_role"
  | "unknown_key"
  | "key_policy"; // a layout PEP 458's key policy forbids (src/publisher/key-policy.ts)

export class TufError extends Error {
  override readonly name = "TufError";
  constructor(
    readonly code: TufErrorCode,
    message: string,
  ) {
    super(message);
  }
}
