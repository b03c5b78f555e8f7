import { ProbeError } from '../../errors.js';
import { normaliseOrientation } from './format.js';
import { corrupt, ignoringDamage, u16be, u16le, u32be, u32le, type ByteReader } from './reader.js';

/** Byte size of one value of each TIFF field type (TIFF 6.0 and BigTIFF). */
const TYPE_BYTES: Record<number, number> = {
  1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4, 16: 8, 17: 8, 18: 8,
};
const SHORT = 3;
const TAG_ORIENTATION = 0x0112;
/** IFDs are read whole; a count beyond this is a damaged header, not a real directory. */
const MAX_IFD_ENTRIES = 4096;

export interface IfdEntry {
  tag: number;
  type: number;
  count: number;
  /** Offset of the value from the TIFF header (inline values point into the entry itself). */
  valueOffset: number;
}

export type Ifd = Map<number, IfdEntry>;

/**
 * A TIFF structure inside a file: the whole file for TIFF, or an EXIF block (JPEG APP1, PNG
 * eXIf, WebP EXIF) that starts at `base` and must end by `end`. Offsets are relative to `base`.
 */
export class TiffStructure {
  private constructor(
    private readonly reader: ByteReader,
    private readonly base: number,
    private readonly end: number,
    readonly littleEndian: boolean,
    readonly big: boolean,
    readonly firstIfd: number,
  ) {}

  /** Reads the 8- or 16-byte header; `end` bounds every later read (Infinity: the file's end). */
  static async open(reader: ByteReader, base: number, end = Infinity): Promise<TiffStructure> {
    const head = await reader.bytes(base, 16);
    if (head.byteLength < 8) throw new ProbeError('truncated', `${reader.name}: the TIFF header is cut short`);
    const order = String.fromCharCode(head[0]!, head[1]!);
    if (order !== 'II' && order !== 'MM') throw corrupt(reader, 'TIFF header lacks its byte order mark');
    const le = order === 'II';
    const magic = le ? u16le(head, 2) : u16be(head, 2);
    if (magic === 42) return new TiffStructure(reader, base, end, le, false, read32(head, 4, le));
    if (magic === 43 && head.byteLength >= 16) return new TiffStructure(reader, base, end, le, true, read64(head, 8, le));
    throw corrupt(reader, `TIFF header magic ${magic} is neither 42 nor 43`);
  }

  /** The directory at `offset`, keyed by tag, with the offset of the next one. */
  async ifd(offset: number): Promise<{ entries: Ifd; next: number }> {
    const countBytes = this.big ? 8 : 2;
    const entryBytes = this.big ? 20 : 12;
    const count = this.big ? read64(await this.at(offset, 8), 0, this.littleEndian) : this.u16(await this.at(offset, 2), 0);
    if (count === 0 || count > MAX_IFD_ENTRIES) throw corrupt(this.reader, `IFD at ${offset} claims ${count} entries`);
    const offsetBytes = this.big ? 8 : 4;
    const table = await this.at(offset + countBytes, count * entryBytes + offsetBytes);
    const entries: Ifd = new Map();
    for (let i = 0; i < count; i++) {
      const at = i * entryBytes;
      const entry = this.entry(table, at, offset + countBytes + at);
      if (!entries.has(entry.tag)) entries.set(entry.tag, entry);
    }
    const next = this.big ? read64(table, count * entryBytes, this.littleEndian) : this.u32(table, count * entryBytes);
    return { entries, next };
  }

  private entry(table: Uint8Array, at: number, absolute: number): IfdEntry {
    const tag = this.u16(table, at);
    const type = this.u16(table, at + 2);
    const count = this.big ? read64(table, at + 4, this.littleEndian) : this.u32(table, at + 4);
    const valueAt = this.big ? at + 12 : at + 8;
    const inlineBytes = this.big ? 8 : 4;
    const bytes = (TYPE_BYTES[type] ?? 1) * count;
    const valueOffset = bytes <= inlineBytes
      ? absolute + (valueAt - at)
      : this.big ? read64(table, valueAt, this.littleEndian) : this.u32(table, valueAt);
    return { tag, type, count, valueOffset };
  }

  /** Unsigned integer values of a BYTE/SHORT/LONG/LONG8 field (at most `max` of them). */
  async uints(entry: IfdEntry, max = Infinity): Promise<number[]> {
    const size = TYPE_BYTES[entry.type];
    if (size === undefined || ![1, 3, 4, 16].includes(entry.type)) {
      throw corrupt(this.reader, `TIFF tag ${entry.tag} has type ${entry.type}, not an unsigned integer`);
    }
    const count = Math.min(entry.count, max);
    const bytes = await this.at(entry.valueOffset, count * size);
    const values: number[] = [];
    for (let i = 0; i < count; i++) {
      const at = i * size;
      values.push(size === 1 ? bytes[at]! : size === 2 ? this.u16(bytes, at) : size === 4 ? this.u32(bytes, at) : read64(bytes, at, this.littleEndian));
    }
    return values;
  }

  /** The first value of an unsigned integer field, or undefined when the tag is absent. */
  async uint(ifd: Ifd, tag: number): Promise<number | undefined> {
    const entry = ifd.get(tag);
    if (!entry || entry.count < 1) return undefined;
    return (await this.uints(entry, 1))[0];
  }

  /** Orientation as browsers read it (Skia's SkExif): one SHORT in range 1-8, anything else means 1. */
  async orientation(ifd: Ifd): Promise<number> {
    const entry = ifd.get(TAG_ORIENTATION);
    if (!entry || entry.type !== SHORT || entry.count !== 1) return 1;
    return normaliseOrientation((await this.uints(entry, 1))[0]);
  }

  private async at(offset: number, length: number): Promise<Uint8Array> {
    if (!Number.isSafeInteger(offset + length)) throw corrupt(this.reader, `TIFF offset ${offset} points past any file`);
    if (offset + length > this.end) {
      throw new ProbeError('truncated', `${this.reader.name}: TIFF data at ${offset}+${length} lies past the end of its block`);
    }
    return this.reader.exact(this.base + offset, length, 'TIFF directory');
  }

  private u16(b: Uint8Array, i: number): number {
    return this.littleEndian ? u16le(b, i) : u16be(b, i);
  }

  private u32(b: Uint8Array, i: number): number {
    return read32(b, i, this.littleEndian);
  }
}

function read32(b: Uint8Array, i: number, le: boolean): number {
  return le ? u32le(b, i) : u32be(b, i);
}

/** A 64-bit offset or count; values past 2^53 cannot address a real file, so they become Infinity. */
function read64(b: Uint8Array, i: number, le: boolean): number {
  const low = le ? u32le(b, i) : u32be(b, i + 4);
  const high = le ? u32le(b, i + 4) : u32be(b, i);
  return high >= 0x200000 ? Infinity : high * 0x1_0000_0000 + low;
}

/**
 * EXIF orientation from a TIFF block embedded in another format. A damaged EXIF block is what
 * browsers ignore, so it counts as no orientation; read failures of the medium still throw.
 */
export async function exifOrientation(reader: ByteReader, base: number, end: number): Promise<number> {
  const read = async (): Promise<number> => {
    const tiff = await TiffStructure.open(reader, base, end);
    return tiff.orientation((await tiff.ifd(tiff.firstIfd)).entries);
  };
  return (await ignoringDamage(read())) ?? 1;
}
