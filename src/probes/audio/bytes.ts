import { ProbeError } from '../../errors.js';
import type { ByteSource } from '../../sources/source.js';

/** Four (or n) bytes as Latin-1 text: chunk ids, magic strings. */
export function ascii(bytes: Uint8Array, offset: number, length = 4): string {
  let text = '';
  for (let i = offset; i < offset + length && i < bytes.byteLength; i++) text += String.fromCharCode(bytes[i]!);
  return text;
}

export function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export const u16be = (b: Uint8Array, o: number) => (b[o]! << 8) | b[o + 1]!;
export const u16le = (b: Uint8Array, o: number) => b[o]! | (b[o + 1]! << 8);
export const u24be = (b: Uint8Array, o: number) => (b[o]! << 16) | (b[o + 1]! << 8) | b[o + 2]!;
export const u32be = (b: Uint8Array, o: number) => ((b[o]! << 24) >>> 0) + ((b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!);
export const u32le = (b: Uint8Array, o: number) => (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16)) + b[o + 3]! * 2 ** 24;

/** A 64-bit size or count; past 2^53 no real file can hold it, so it is damage. */
export function u64(b: Uint8Array, o: number, littleEndian: boolean): number {
  const value = view(b).getBigUint64(o, littleEndian);
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new ProbeError('corrupt_file', `64-bit field ${value} is out of range`);
  return Number(value);
}

export function startsWith(bytes: Uint8Array, magic: readonly number[] | string, offset = 0): boolean {
  const expected = typeof magic === 'string' ? [...magic].map((c) => c.charCodeAt(0)) : magic;
  if (bytes.byteLength < offset + expected.length) return false;
  return expected.every((byte, i) => bytes[offset + i] === byte);
}

/** Reads exactly `length` bytes or reports that the file ends first. */
export async function readExactly(source: ByteSource, offset: number, length: number, what: string): Promise<Uint8Array> {
  const bytes = await source.read(offset, length);
  if (bytes.byteLength < length) {
    throw new ProbeError('truncated', `${what} at byte ${offset} needs ${length} bytes, the file holds ${bytes.byteLength}`);
  }
  return bytes;
}

/**
 * Sequential access to a source in large blocks, for walking frame after frame (MPEG, ADTS,
 * Ogg pages) without one read per header. Blocks only move forward, which a stream allows.
 */
export class BlockReader {
  private start = 0;
  private block: Uint8Array = new Uint8Array(0);
  private ended = false;

  constructor(
    private readonly source: ByteSource,
    private readonly blockSize = 1 << 18,
  ) {}

  /** Up to `length` bytes at `offset`; fewer only at the end of the file. */
  async bytes(offset: number, length: number): Promise<Uint8Array> {
    const end = offset + length;
    if (offset >= this.start && end <= this.start + this.block.byteLength) {
      return this.block.subarray(offset - this.start, end - this.start);
    }
    if (this.ended && offset >= this.start) {
      return this.block.subarray(Math.min(offset - this.start, this.block.byteLength), this.block.byteLength);
    }
    const wanted = Math.max(length, this.blockSize);
    this.block = await this.source.read(offset, wanted);
    this.start = offset;
    this.ended = this.block.byteLength < wanted;
    return this.block.subarray(0, Math.min(length, this.block.byteLength));
  }
}
