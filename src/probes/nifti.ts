/**
 * NIfTI-1 and NIfTI-2 volumes (.nii, and .nii.gz of which only the first bytes are inflated).
 * Encord takes no metadata for them beyond the upload itself; the probe checks that the header
 * is a sound single-file header whose voxel data the file holds, and sizes the file.
 */
import { constants, gunzipSync } from 'node:zlib';
import { ProbeError, SourceError } from '../errors.js';
import type { ByteSource } from '../sources/source.js';
import type { Probe } from './types.js';

export const NIFTI_MIME = 'application/nifti';

const NIFTI1_HEADER = 348;
const NIFTI2_HEADER = 540;
/** Single-file data starts after the header and the 4-byte extension flag. */
const NIFTI1_MIN_OFFSET = 352;
const NIFTI2_MIN_OFFSET = 544;

/** NIfTI datatype codes and their bits per voxel. */
const BITS_PER_VOXEL: Record<number, number> = {
  2: 8, 4: 16, 8: 32, 16: 32, 32: 64, 64: 64, 128: 24, 256: 8, 512: 16, 768: 32, 1024: 64, 1280: 64, 1536: 128, 1792: 128,
  2048: 256, 2304: 32,
};

export interface NiftiHeader {
  version: 1 | 2;
  littleEndian: boolean;
  /** 'n+1'/'n+2' single file, 'ni1'/'ni2' the header of a .hdr/.img pair. */
  singleFile: boolean;
  dims: number[];
  datatype: number;
  bitpix: number;
  voxOffset: number;
}

function sizeofHeader(view: DataView): { version: 1 | 2; littleEndian: boolean } | undefined {
  if (view.byteLength < 4) return undefined;
  for (const littleEndian of [true, false]) {
    const size = view.getInt32(0, littleEndian);
    if (size === NIFTI1_HEADER) return { version: 1, littleEndian };
    if (size === NIFTI2_HEADER) return { version: 2, littleEndian };
  }
  return undefined;
}

function text(bytes: Uint8Array, at: number, length: number): string {
  return String.fromCharCode(...bytes.subarray(at, at + length));
}

/** The header fields, or undefined when the bytes carry no NIfTI magic. */
export function parseNiftiHeader(bytes: Uint8Array): NiftiHeader | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const kind = sizeofHeader(view);
  if (!kind) return undefined;
  const le = kind.littleEndian;
  if (kind.version === 1) {
    if (bytes.length < NIFTI1_HEADER) return undefined;
    const magic = text(bytes, 344, 4);
    if (magic !== 'n+1\0' && magic !== 'ni1\0') return undefined;
    const rank = view.getInt16(40, le);
    return {
      version: 1,
      littleEndian: le,
      singleFile: magic === 'n+1\0',
      dims: rank < 1 || rank > 7 ? [] : Array.from({ length: rank }, (_, i) => view.getInt16(42 + 2 * i, le)),
      datatype: view.getInt16(70, le),
      bitpix: view.getInt16(72, le),
      voxOffset: view.getFloat32(108, le),
    };
  }
  if (bytes.length < NIFTI2_HEADER) return undefined;
  const magic = text(bytes, 4, 8);
  if (magic !== 'n+2\0\r\n\x1a\n' && magic !== 'ni2\0\r\n\x1a\n') return undefined;
  const rank = Number(view.getBigInt64(16, le));
  return {
    version: 2,
    littleEndian: le,
    singleFile: magic.startsWith('n+2'),
    dims: rank < 1 || rank > 7 ? [] : Array.from({ length: rank }, (_, i) => Number(view.getBigInt64(24 + 8 * i, le))),
    datatype: view.getInt16(12, le),
    bitpix: view.getInt16(14, le),
    voxOffset: Number(view.getBigInt64(168, le)),
  };
}

/** A NIfTI-1/2 header at the start of these (uncompressed) bytes. */
export function isNifti(prefix: Uint8Array): boolean {
  return parseNiftiHeader(prefix) !== undefined;
}

export function isGzip(prefix: Uint8Array): boolean {
  return prefix.length >= 3 && prefix[0] === 0x1f && prefix[1] === 0x8b && prefix[2] === 0x08;
}

/** Inflates what a gzip prefix holds (a partial stream is fine); undefined when it does not inflate. */
function inflatePrefix(prefix: Uint8Array): Uint8Array | undefined {
  try {
    return gunzipSync(prefix, { finishFlush: constants.Z_SYNC_FLUSH });
  } catch {
    return undefined;
  }
}

/** A gzip stream whose first inflated bytes are a NIfTI header (.nii.gz). */
export function isGzippedNifti(prefix: Uint8Array): boolean {
  if (!isGzip(prefix)) return false;
  const inflated = inflatePrefix(prefix);
  return inflated !== undefined && isNifti(inflated);
}

/**
 * The first `wanted` inflated bytes of a gzip source, reading the compressed bytes in growing
 * steps. When the whole file has been read, the stream must also be complete.
 */
async function gunzipStart(source: ByteSource, wanted: number): Promise<Uint8Array> {
  for (let length = 16 * 1024; ; length *= 4) {
    const prefix = await source.read(0, length);
    if (prefix.length < length) return gunzipWhole(prefix);
    const inflated = inflatePrefix(prefix);
    if (!inflated) throw new ProbeError('corrupt_file', 'the gzip stream does not inflate');
    if (inflated.length >= wanted) return inflated;
  }
}

function gunzipWhole(bytes: Uint8Array): Uint8Array {
  try {
    return gunzipSync(bytes);
  } catch (error) {
    const message = (error as Error).message;
    if (/unexpected end/i.test(message)) throw new ProbeError('truncated', 'the gzip stream ends early');
    throw new ProbeError('corrupt_file', `the gzip stream does not inflate: ${message}`);
  }
}

/** Voxel bytes the header declares, or a reason it cannot. */
function checkHeader(header: NiftiHeader): number {
  if (!header.singleFile) {
    throw new ProbeError('unsupported_format', 'a NIfTI .hdr/.img pair header: upload the single-file .nii form');
  }
  if (header.dims.length === 0) throw new ProbeError('corrupt_file', 'NIfTI dim[0] is not between 1 and 7');
  if (header.dims.some((d) => !Number.isInteger(d) || d < 1)) {
    throw new ProbeError('corrupt_file', `NIfTI dimensions ${header.dims.join('x')} are not all positive`);
  }
  const bits = BITS_PER_VOXEL[header.datatype];
  if (bits === undefined) throw new ProbeError('corrupt_file', `unknown NIfTI datatype ${header.datatype}`);
  if (header.bitpix !== bits) {
    throw new ProbeError('corrupt_file', `NIfTI bitpix ${header.bitpix} does not match datatype ${header.datatype} (${bits} bits)`);
  }
  const minimum = header.version === 1 ? NIFTI1_MIN_OFFSET : NIFTI2_MIN_OFFSET;
  if (!Number.isFinite(header.voxOffset) || header.voxOffset < minimum || !Number.isInteger(header.voxOffset)) {
    throw new ProbeError('corrupt_file', `NIfTI vox_offset ${header.voxOffset} is not a whole number of bytes at or after ${minimum}`);
  }
  return (header.dims.reduce((product, d) => product * d, 1) * bits) / 8;
}

export const probeNifti: Probe<'nifti'> = async (source) => {
  const fileSize = await source.size();
  if (fileSize === 0) throw new ProbeError('empty_file', 'the file is empty');
  const head = await source.read(0, Math.min(fileSize, NIFTI2_MIN_OFFSET));
  const compressed = isGzip(head);
  const bytes = compressed ? await gunzipStart(source, NIFTI2_MIN_OFFSET) : head;
  const header = parseNiftiHeader(bytes);
  if (!header) throw new ProbeError('unsupported_format', 'no NIfTI-1 or NIfTI-2 header');
  const dataBytes = checkHeader(header);
  const needed = header.voxOffset + dataBytes;
  const holds = compressed ? await gzipInflatedSize(source, fileSize) : fileSize;
  if (holds !== undefined && needed <= 0xffffffff && holds < needed) {
    throw new ProbeError('truncated', `the NIfTI header declares ${needed} bytes of header and voxels, the ${compressed ? 'inflated ' : ''}file holds ${holds}`);
  }
  return {
    metadata: { file_size: fileSize, mime_type: NIFTI_MIME },
    warnings: [],
    details: {
      niftiVersion: header.version,
      gzip: compressed,
      littleEndian: header.littleEndian,
      dims: header.dims,
      datatype: header.datatype,
      voxOffset: header.voxOffset,
    },
  };
};

/**
 * gzip's ISIZE trailer: the inflated length modulo 2^32 (of the last member). Undefined when it
 * cannot be read: a forward-only stream drained to size it cannot go back to its end.
 */
async function gzipInflatedSize(source: ByteSource, fileSize: number): Promise<number | undefined> {
  if (fileSize < 18) return undefined;
  try {
    const trailer = await source.read(fileSize - 4, 4);
    return trailer.length === 4 ? new DataView(trailer.buffer, trailer.byteOffset, 4).getUint32(0, true) : undefined;
  } catch (error) {
    if (error instanceof SourceError) return undefined;
    throw error;
  }
}
