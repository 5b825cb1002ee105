/** The TUF client (spec 5) on top of src/tuf. Like src/tuf it imports nothing from Node or Cloudflare. */
export { DEFAULT_CONFIG, type UpdaterConfig } from "./config.js";
export { isDelegatedPath, matchesPathPattern, rolesForTarget, type Delegation } from "./delegations.js";
export { DownloadError, UpdateError, type UpdateErrorCode } from "./errors.js";
export { lengthOrHashMismatch } from "./hashes.js";
export { MemoryStore, type Fetcher, type MetadataStore } from "./io.js";
export { TrustedMetadataSet, type MetadataParser } from "./trusted-metadata-set.js";
export { quote, Updater, verifyTarget, type UpdaterOptions } from "./updater.js";
