import { SourceError } from '../../errors.js';
import type { ByteSource } from '../../sources/source.js';

const BLOCK_SIZE = 64 * 1024;

/**
 * Cached block reads over a ByteSource. Page-tree objects sit close together, so reading
 * aligned 64 KiB blocks once turns hundreds of tiny object reads into a few source reads
 * (and a small file into a single one).
 *
 * Offsets count from `origin`: poppler counts a file's offsets from its `%PDF-` header, so
 * that bytes before the header do not break them.
 */
export class RangeReader {
  /** Bytes from the origin to the end of the file. */
  readonly size: number;

  constructor(
    private readonly source: ByteSource,
    private readonly fileSize: number,
    private readonly origin = 0,
    private readonly blocks = new Map<number, Uint8Array>(),
  ) {
    this.size = fileSize - origin;
  }

  /** The same bytes with offsets counted from `origin` (a file offset); the cache is shared. */
  from(origin: number): RangeReader {
    return new RangeReader(this.source, this.fileSize, origin, this.blocks);
  }

  /** Up to `length` bytes at `offset`; fewer only at the end of the file. */
  async read(offset: number, length: number): Promise<Uint8Array> {
    return this.readAbsolute(this.origin + offset, Math.min(length, this.size - offset));
  }

  private async readAbsolute(offset: number, length: number): Promise<Uint8Array> {
    const end = Math.min(this.fileSize, offset + length);
    if (offset >= end) return new Uint8Array(0);
    const first = Math.floor(offset / BLOCK_SIZE);
    const last = Math.floor((end - 1) / BLOCK_SIZE);
    await this.load(first, last);
    if (first === last) {
      const start = first * BLOCK_SIZE;
      return this.blocks.get(first)!.subarray(offset - start, end - start);
    }
    const out = new Uint8Array(end - offset);
    for (let index = first; index <= last; index++) {
      const block = this.blocks.get(index)!;
      const blockStart = index * BLOCK_SIZE;
      const from = Math.max(offset, blockStart);
      const to = Math.min(end, blockStart + block.length);
      out.set(block.subarray(from - blockStart, to - blockStart), from - offset);
    }
    return out;
  }

  /** Fetches the missing blocks of [first, last], each run of missing blocks in one read. */
  private async load(first: number, last: number): Promise<void> {
    let index = first;
    while (index <= last) {
      if (this.blocks.has(index)) {
        index++;
        continue;
      }
      let runEnd = index;
      while (runEnd + 1 <= last && !this.blocks.has(runEnd + 1)) runEnd++;
      const start = index * BLOCK_SIZE;
      const wanted = Math.min(this.fileSize, (runEnd + 1) * BLOCK_SIZE) - start;
      const bytes = await this.source.read(start, wanted);
      if (bytes.length < wanted) throw new SourceError(`${this.source.name} ended at ${start + bytes.length}, before its size ${this.size}`);
      for (let i = index; i <= runEnd; i++) {
        this.blocks.set(i, bytes.subarray((i - index) * BLOCK_SIZE, (i - index + 1) * BLOCK_SIZE));
      }
      index = runEnd + 1;
    }
  }
}
