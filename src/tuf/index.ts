/** The pure TUF core shared by the Worker and the CLI. It imports nothing from Node or Cloudflare. */
export { TufError, type TufErrorCode } from "./errors.js";
export { assertCanonicalSubset, canonicalBytes, canonicalString, olpcCanonicalString, type JSONObject, type JSONValue } from "./canonical.js";
export { digestHex, fromHex, fromUtf8, sha256Sync, timingSafeEqual, toHex, utf8, type HashAlgorithm } from "./bytes.js";
export { Ed25519Signer, Key, Signature, type Signer } from "./keys.js";
export { DelegatedRole, Role, SuccinctRoles } from "./role.js";
export { formatExpires, parseExpires, Signed, SPEC_VERSION, type RoleType, type SignedFields } from "./signed.js";
export { Root, TOP_LEVEL_ROLES, type TopLevelRole } from "./root.js";
export { Delegations, TargetFile, Targets } from "./targets.js";
export { MetaFile, Snapshot, Timestamp } from "./snapshot.js";
export { Metadata, type SignedByType } from "./metadata.js";
export { mapLimit } from "./map-limit.js";
export { countSignatures, verificationResult, verifyDelegate, verifyRootRotation, type Delegator, type VerificationResult } from "./verify.js";
