/**
 * src/client's Fetcher over what R2 stores: the Worker reads its own repository
 * with the same client that `tuf-edge verify` runs over HTTP (recover.ts).
 */
import { DownloadError, type Fetcher } from "../client/index.js";
import { readMetadata } from "./at-rest.js";
import type { R2Keys } from "./r2-keys.js";

/** The Updater's metadataBaseUrl for an r2Fetcher: it asks for `r2:metadata/<name>`. */
export const R2_METADATA_URL = "r2:metadata/";

/** Reads metadata by file name ("timestamp.json", "7.bin-3ff.json"); undefined when there is none. */
export type MetadataReader = (name: string) => Promise<Uint8Array | undefined>;

/** A repository's metadata in R2, decompressed as stored at rest. */
export const fromR2 = (bucket: R2Bucket, keys: R2Keys): MetadataReader => (name) => readMetadata(bucket, keys.metadata(name));

/** A Fetcher over `read`: a missing file is a 404, which ends a root walk (TUF spec 5.3.3) and fails any other download. */
export function r2Fetcher(read: MetadataReader): Fetcher {
  return {
    async fetch(url, maxLength) {
      const name = decodeURIComponent(url.slice(R2_METADATA_URL.length));
      const bytes = await read(name);
      if (!bytes) throw new DownloadError(url, `metadata/${name} is not in R2`, { status: 404 });
      if (bytes.length > maxLength) throw new DownloadError(url, `metadata/${name} is ${bytes.length} bytes, more than the ${maxLength} allowed`, { tooLarge: true });
      return bytes;
    },
  };
}
