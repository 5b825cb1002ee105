/**
 * Reads the `.dist-info/METADATA` of a wheel (a zip, PEP 427) by random access, so only the
 * central directory and that one member are read: the upload itself is never copied.
 */
export interface RandomAccess {
  size: number;
  read(offset: number, length: number): Promise<Uint8Array>;
}

export class WheelError extends Error {}

/** The largest METADATA accepted (PyPI's long descriptions stay far below it). */
export const MAX_METADATA_BYTES = 8 * 1024 * 1024;

const EOCD = 0x06054b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;

/** The bytes of `{name}-{version}.dist-info/METADATA`: the one top-level `*.dist-info/METADATA` member. */
export async function wheelMetadata(zip: RandomAccess): Promise<Uint8Array> {
  const tailLength = Math.min(zip.size, 22 + 0xffff);
  const tail = await zip.read(zip.size - tailLength, tailLength);
  let eocd = -1;
  for (let i = tail.length - 22; i >= 0; i--)
    if (u32(tail, i) === EOCD) {
      eocd = i;
      break;
    }
  if (eocd < 0) throw new WheelError("the wheel is not a zip file (no end of central directory)");
  const entries = u16(tail, eocd + 10);
  const cdSize = u32(tail, eocd + 12);
  const cdOffset = u32(tail, eocd + 16);
  if (cdOffset === 0xffffffff || cdSize === 0xffffffff) throw new WheelError("zip64 wheels are not accepted");
  if (cdOffset + cdSize > zip.size) throw new WheelError("the wheel's central directory is out of range");
  const cd = await zip.read(cdOffset, cdSize);
  const decoder = new TextDecoder();
  const found: Array<{ method: number; compressed: number; size: number; local: number }> = [];
  for (let p = 0, n = 0; n < entries; n++) {
    if (p + 46 > cd.length || u32(cd, p) !== CENTRAL) throw new WheelError("the wheel's central directory is corrupt");
    const nameLength = u16(cd, p + 28);
    const name = decoder.decode(cd.subarray(p + 46, p + 46 + nameLength));
    if (/^[^/]+\.dist-info\/METADATA$/.test(name))
      found.push({ method: u16(cd, p + 10), compressed: u32(cd, p + 20), size: u32(cd, p + 24), local: u32(cd, p + 42) });
    p += 46 + nameLength + u16(cd, p + 30) + u16(cd, p + 32);
  }
  if (found.length !== 1)
    throw new WheelError(found.length === 0 ? "the wheel has no .dist-info/METADATA" : "the wheel has more than one .dist-info directory");
  const entry = found[0]!;
  if (entry.size > MAX_METADATA_BYTES) throw new WheelError(`the wheel's METADATA is larger than ${MAX_METADATA_BYTES} bytes`);
  const header = await zip.read(entry.local, 30);
  if (header.length < 30 || u32(header, 0) !== LOCAL) throw new WheelError("the wheel's METADATA entry is corrupt");
  const start = entry.local + 30 + u16(header, 26) + u16(header, 28);
  if (start + entry.compressed > zip.size) throw new WheelError("the wheel's METADATA entry is out of range");
  const data = await zip.read(start, entry.compressed);
  let bytes: Uint8Array;
  if (entry.method === 0) bytes = data;
  else if (entry.method === 8) bytes = await inflate(data, entry.size);
  else throw new WheelError(`the wheel's METADATA uses zip compression method ${entry.method}; use deflate or none`);
  if (bytes.length !== entry.size) throw new WheelError("the wheel's METADATA does not have the size its zip entry states");
  return bytes;
}

/** Inflates at most `expected` bytes: a zip bomb stops at its stated size, not at memory's end. */
async function inflate(data: Uint8Array, expected: number): Promise<Uint8Array> {
  const reader = new Blob([data]).stream().pipeThrough(new DecompressionStream("deflate-raw")).getReader();
  const out = new Uint8Array(expected);
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (size + value.length > expected) {
        await reader.cancel();
        throw new WheelError("the wheel's METADATA inflates past its stated size");
      }
      out.set(value, size);
      size += value.length;
    }
  } catch (e) {
    if (e instanceof WheelError) throw e;
    throw new WheelError("the wheel's METADATA does not inflate");
  }
  return out.subarray(0, size);
}

const u16 = (b: Uint8Array, i: number) => b[i]! | (b[i + 1]! << 8);
const u32 = (b: Uint8Array, i: number) => (b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24)) >>> 0;
