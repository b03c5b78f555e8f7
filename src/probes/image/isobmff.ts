import { LimitError } from '../../errors.js';
import { corrupt, fourcc, u32be, type ByteReader } from './reader.js';

/** A box inside a buffer: its type and where its payload lies. */
export interface Box {
  type: string;
  /** Offset of the payload (after the size/type header). */
  body: number;
  end: number;
}

/** The meta and moov boxes are read whole; larger ones are hostile headers, not images. */
const MAX_HEADER_BOX_BYTES = 16 * 1024 * 1024;

/**
 * Reads the top-level boxes named in `wanted` whole (each must fit in the file: a cut-off
 * header box is `truncated`). Other boxes (mdat) are skipped by their declared size.
 */
export async function readTopLevelBoxes(reader: ByteReader, wanted: ReadonlySet<string>): Promise<Map<string, Uint8Array>> {
  const found = new Map<string, Uint8Array>();
  for (let at = 0; found.size < wanted.size; ) {
    const header = await reader.bytes(at, 16);
    if (header.byteLength < 8) break;
    const { type, headerBytes, size } = boxHeader(header);
    if (size !== 0 && size < headerBytes) break;
    if (wanted.has(type) && !found.has(type)) {
      const length = size === 0 ? (await reader.size()) - at : size;
      if (length > MAX_HEADER_BOX_BYTES) throw new LimitError('limit_exceeded', `${reader.name}: '${type}' box of ${length} bytes`);
      const box = await reader.exact(at, length, `'${type}' box`);
      found.set(type, box.slice(headerBytes));
    }
    if (size === 0) break;
    at += size;
  }
  return found;
}

function boxHeader(b: Uint8Array): { type: string; headerBytes: number; size: number } {
  const size32 = u32be(b, 0);
  const type = fourcc(b, 4);
  if (size32 !== 1) return { type, headerBytes: 8, size: size32 };
  if (b.byteLength < 16) return { type, headerBytes: 16, size: 0 };
  return { type, headerBytes: 16, size: u32be(b, 8) * 0x1_0000_0000 + u32be(b, 12) };
}

/** The child boxes of a payload held in memory; a child that overruns its parent is a damaged header. */
export function childBoxes(reader: ByteReader, buffer: Uint8Array, start: number, end = buffer.byteLength): Box[] {
  const boxes: Box[] = [];
  for (let at = start; at + 8 <= end; ) {
    const { type, headerBytes, size } = boxHeader(buffer.subarray(at, Math.min(end, at + 16)));
    const boxEnd = size === 0 ? end : at + size;
    if (size !== 0 && size < headerBytes) throw corrupt(reader, `'${type}' box of ${size} bytes`);
    if (boxEnd > end) throw corrupt(reader, `'${type}' box runs past its parent`);
    boxes.push({ type, body: at + headerBytes, end: boxEnd });
    at = boxEnd;
  }
  return boxes;
}

/** A sequential reader of big-endian fields in a buffer, failing as a damaged header when it runs out. */
export class FieldReader {
  constructor(
    private readonly reader: ByteReader,
    private readonly buffer: Uint8Array,
    public offset: number,
    private readonly end: number,
    private readonly what: string,
  ) {}

  uint(bytes: number): number {
    if (this.offset + bytes > this.end) throw corrupt(this.reader, `${this.what} is cut short`);
    let value = 0;
    for (let i = 0; i < bytes; i++) value = value * 256 + this.buffer[this.offset + i]!;
    this.offset += bytes;
    return value;
  }

  /** Version and flags of a FullBox. */
  fullBox(): { version: number; flags: number } {
    const word = this.uint(4);
    return { version: word >>> 24, flags: word & 0xffffff };
  }
}
