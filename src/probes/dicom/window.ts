/**
 * The bytes a DICOM parse has fetched so far. The parser is synchronous: when it needs bytes
 * that have not been fetched it throws NeedBytes, the probe fetches them and parses again from
 * the start (cheap: a data set header is small, and values the output does not need are
 * skipped, never fetched).
 */

/** Thrown by a window when [offset, offset + length) is not fetched yet. */
export class NeedBytes {
  constructor(
    readonly offset: number,
    /** Infinity: everything to the end of the data. */
    readonly length: number,
  ) {}
}

/** Contiguous fetched bytes: `bytes[i]` is the byte at offset `start + i`. */
export interface Region {
  start: number;
  bytes: Uint8Array;
}

export interface ByteWindow {
  /** Bytes at [offset, offset + length); fewer only where the data ends (then `end` is set). */
  slice(offset: number, length: number): Uint8Array;
  /** The fetched region holding [offset, offset + length) (up to the end of the data), without copying. */
  region(offset: number, length: number): Region;
  /** Total length, once known. */
  readonly end: number | undefined;
}

const EMPTY = new Uint8Array(0);

/** All the bytes in memory (a decompressed data set, a test buffer). */
export class MemoryWindow implements ByteWindow {
  private readonly whole: Region;

  constructor(bytes: Uint8Array) {
    this.whole = { start: 0, bytes };
  }

  get end(): number {
    return this.whole.bytes.byteLength;
  }

  slice(offset: number, length: number): Uint8Array {
    const bytes = this.whole.bytes;
    if (offset >= bytes.byteLength || length <= 0) return EMPTY;
    return bytes.subarray(offset, Math.min(bytes.byteLength, offset + length));
  }

  region(): Region {
    return this.whole;
  }
}

/**
 * The parts of a file fetched so far: regions of contiguous bytes (the first starts at 0),
 * grown or added as the parse asks; `end` is set once a read reaches the end of the file.
 */
export class FetchedWindow implements ByteWindow {
  private readonly regions: Region[] = [];
  end: number | undefined;

  slice(offset: number, length: number): Uint8Array {
    if (length <= 0) return EMPTY;
    const wantedEnd = this.end === undefined ? offset + length : Math.min(offset + length, this.end);
    if (offset >= wantedEnd) return EMPTY;
    const region = this.region(offset, length);
    return region.bytes.subarray(offset - region.start, wantedEnd - region.start);
  }

  region(offset: number, length: number): Region {
    const wantedEnd = this.end === undefined ? offset + length : Math.min(offset + length, this.end);
    if (offset >= wantedEnd) return { start: offset, bytes: EMPTY };
    for (const region of this.regions) {
      if (offset >= region.start && wantedEnd <= region.start + region.bytes.byteLength) return region;
    }
    throw new NeedBytes(offset, length);
  }

  /** The fetched region that `offset` falls in or lies within `gap` bytes after, if any. */
  regionNear(offset: number, gap: number): { start: number; end: number } | undefined {
    const region = this.regions.find((r) => offset >= r.start && offset <= r.start + r.bytes.byteLength + gap);
    return region && { start: region.start, end: region.start + region.bytes.byteLength };
  }

  /** Adds `bytes` read at `offset`. */
  add(offset: number, bytes: Uint8Array): void {
    if (bytes.byteLength === 0) return;
    const touching = this.regions.find((r) => offset >= r.start && offset <= r.start + r.bytes.byteLength);
    if (!touching) {
      this.regions.push({ start: offset, bytes });
      return;
    }
    const newEnd = offset + bytes.byteLength;
    if (newEnd <= touching.start + touching.bytes.byteLength) return;
    const merged = new Uint8Array(newEnd - touching.start);
    merged.set(touching.bytes.subarray(0, offset - touching.start));
    merged.set(bytes, offset - touching.start);
    touching.bytes = merged;
  }
}
