import { ProbeError } from '../../errors.js';
import type { ByteSource } from '../../sources/source.js';
import { StreamSource } from '../../sources/stream.js';

/** Header parsers ask for a few bytes at a time; one fetch serves many of them. */
const BLOCK_BYTES = 16 * 1024;
/** Step of the forward scan that finds the end of a stream of unknown length. */
const STREAM_STEP_BYTES = 16 * 1024 * 1024;

/**
 * Random access for header parsers over any ByteSource: small reads are served from one cached
 * block, and short reads become typed errors that name what the header promised.
 */
export class ByteReader {
  private window: { start: number; bytes: Uint8Array } = { start: 0, bytes: new Uint8Array(0) };
  private knownSize?: number;

  constructor(readonly source: ByteSource) {}

  get name(): string {
    return this.source.name;
  }

  /** Up to `length` bytes at `offset`; fewer only at the end of the data. */
  async bytes(offset: number, length: number): Promise<Uint8Array> {
    const { start, bytes } = this.window;
    const end = offset + length;
    if (offset >= start && end <= start + bytes.byteLength) return bytes.subarray(offset - start, end - start);
    const fetched = await this.source.read(offset, Math.max(length, BLOCK_BYTES));
    this.window = { start: offset, bytes: fetched };
    return fetched.subarray(0, length);
  }

  /** Exactly `length` bytes at `offset`, or `truncated` naming what needed them. */
  async exact(offset: number, length: number, what: string): Promise<Uint8Array> {
    const bytes = await this.bytes(offset, length);
    if (bytes.byteLength < length) {
      throw new ProbeError('truncated', `${this.name}: ${what} needs bytes ${offset}-${offset + length} but the file ends before byte ${offset + length}`);
    }
    return bytes;
  }

  async size(): Promise<number> {
    this.knownSize ??= await this.source.size();
    return this.knownSize;
  }

  /**
   * The last `length` bytes (fewer in a shorter file). A forward-only stream keeps only its
   * first bytes once drained, so its end is found by reading on rather than by `size()`.
   */
  async tail(length: number): Promise<Uint8Array> {
    if (this.source instanceof StreamSource && this.knownSize === undefined) return this.streamTail(length);
    const size = await this.size();
    const start = Math.max(0, size - length);
    return this.bytes(start, size - start);
  }

  private async streamTail(length: number): Promise<Uint8Array> {
    let kept: Uint8Array = new Uint8Array(0);
    let offset = 0;
    for (;;) {
      const chunk = await this.source.read(offset, STREAM_STEP_BYTES);
      offset += chunk.byteLength;
      kept = lastBytes(kept, chunk, length);
      if (chunk.byteLength < STREAM_STEP_BYTES) break;
    }
    this.knownSize = offset;
    return kept;
  }
}

function lastBytes(previous: Uint8Array, next: Uint8Array, length: number): Uint8Array {
  if (next.byteLength >= length) return next.slice(next.byteLength - length);
  const joined = new Uint8Array(Math.min(length, previous.byteLength + next.byteLength));
  const fromPrevious = joined.byteLength - next.byteLength;
  joined.set(previous.subarray(previous.byteLength - fromPrevious), 0);
  joined.set(next, fromPrevious);
  return joined;
}

export function u16be(b: Uint8Array, i: number): number {
  return (b[i]! << 8) | b[i + 1]!;
}

export function u16le(b: Uint8Array, i: number): number {
  return b[i]! | (b[i + 1]! << 8);
}

export function u24le(b: Uint8Array, i: number): number {
  return b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16);
}

export function u32be(b: Uint8Array, i: number): number {
  return ((b[i]! << 24) >>> 0) + ((b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!);
}

export function u32le(b: Uint8Array, i: number): number {
  return ((b[i + 3]! << 24) >>> 0) + ((b[i + 2]! << 16) | (b[i + 1]! << 8) | b[i]!);
}

export function i32le(b: Uint8Array, i: number): number {
  return u32le(b, i) | 0;
}

/** Four bytes as Latin-1 text: chunk and box types, brands. */
export function fourcc(b: Uint8Array, i: number): string {
  return String.fromCharCode(b[i]!, b[i + 1]!, b[i + 2]!, b[i + 3]!);
}

export function startsWith(b: Uint8Array, signature: ArrayLike<number>, at = 0): boolean {
  if (b.byteLength < at + signature.length) return false;
  for (let i = 0; i < signature.length; i++) if (b[at + i] !== signature[i]) return false;
  return true;
}

export function corrupt(reader: ByteReader, why: string): ProbeError {
  return new ProbeError('corrupt_file', `${reader.name}: ${why}`);
}

export function unsupported(reader: ByteReader, why: string): ProbeError {
  return new ProbeError('unsupported_format', `${reader.name}: ${why}`);
}

/**
 * The value, or undefined when reading it met a damaged or cut-off structure. For optional
 * facts (an EXIF orientation, a raw-file hint) that browsers also skip when damaged; failures
 * of the medium itself (io_error, limits) still throw.
 */
export async function ignoringDamage<T>(pending: Promise<T>): Promise<T | undefined> {
  try {
    return await pending;
  } catch (error) {
    if (error instanceof ProbeError && (error.code === 'truncated' || error.code === 'corrupt_file')) return undefined;
    throw error;
  }
}
