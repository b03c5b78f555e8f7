import type { Readable } from 'node:stream';
import { SourceError } from '../errors.js';
import { BaseSource, type SourceLimits } from './source.js';

export interface StreamSourceOptions extends SourceLimits {
  /** Known total length (e.g. from a Content-Length); saves draining the stream to count it. */
  size?: number;
  /** Bytes kept from the start of the stream for probes to read back; later bytes pass once. */
  retainBytes?: number;
}

const DEFAULT_RETAIN_BYTES = 64 * 1024 * 1024;

/**
 * A forward-only stream made random-access for what probes need: the first `retainBytes` are
 * kept, later reads may skip forward (the skipped bytes are counted, not kept), and `size()`
 * drains what is left to count it.
 */
interface Piece {
  start: number;
  bytes: Buffer;
}

export class StreamSource extends BaseSource {
  private readonly iterator: AsyncIterator<Buffer | string>;
  private readonly retainBytes: number;
  private readonly givenSize?: number;
  /** The first `retainBytes` of the stream, as received (never re-concatenated). */
  private readonly retained: Piece[] = [];
  private retainedLength = 0;
  /** Pieces past the prefix still needed by the read in progress. */
  private window: Piece[] = [];
  /** Bytes consumed from the stream so far (retained or passed over). */
  private consumed = 0;
  private ended = false;

  constructor(stream: Readable, name = '<stream>', options: StreamSourceOptions = {}) {
    super(name, options);
    this.iterator = stream[Symbol.asyncIterator]();
    this.retainBytes = options.retainBytes ?? DEFAULT_RETAIN_BYTES;
    this.givenSize = options.size;
  }

  /** The next non-empty chunk, counted; undefined at the end of the stream. */
  private async nextChunk(): Promise<Buffer | undefined> {
    while (!this.ended) {
      let result: IteratorResult<Buffer | string>;
      try {
        result = await this.iterator.next();
      } catch (error) {
        throw new SourceError(`reading ${this.name} failed: ${(error as Error).message}`, { cause: error });
      }
      if (result.done) {
        this.ended = true;
        break;
      }
      const chunk = typeof result.value === 'string' ? Buffer.from(result.value) : result.value;
      if (chunk.byteLength === 0) continue;
      this.count(chunk.byteLength);
      this.consumed += chunk.byteLength;
      return chunk;
    }
    return undefined;
  }

  /** Consumes the stream until `end` bytes have been seen; keeps the prefix and [from, end). */
  private async advanceTo(from: number, end: number): Promise<void> {
    this.window = this.window.filter((piece) => piece.start + piece.bytes.byteLength > from);
    while (this.consumed < end) {
      const start = this.consumed;
      const chunk = await this.nextChunk();
      if (!chunk) return;
      const kept = this.retain(start, chunk);
      if (kept < chunk.byteLength && start + chunk.byteLength > from) {
        this.window.push({ start: start + kept, bytes: chunk.subarray(kept) });
      }
    }
  }

  /** Keeps the part of a chunk that falls in the retained prefix; returns its length. */
  private retain(start: number, chunk: Buffer): number {
    const keep = Math.max(0, Math.min(chunk.byteLength, this.retainBytes - start));
    if (keep > 0) {
      this.retained.push({ start, bytes: chunk.subarray(0, keep) });
      this.retainedLength += keep;
    }
    return keep;
  }

  async size(): Promise<number> {
    if (this.givenSize !== undefined) return this.givenSize;
    // Draining still keeps the prefix, so a probe may read headers after asking the size.
    for (let start = this.consumed, chunk = await this.nextChunk(); chunk; start = this.consumed, chunk = await this.nextChunk()) {
      this.retain(start, chunk);
    }
    return this.consumed;
  }

  protected async readAt(offset: number, length: number): Promise<Uint8Array> {
    const end = offset + length;
    await this.advanceTo(offset, end);
    const available = Math.min(end, this.consumed);
    if (offset >= available) return new Uint8Array(0);
    const parts = [...overlapping(this.retained, offset, available), ...overlapping(this.window, Math.max(offset, this.retainedLength), available)];
    const got = parts.reduce((sum, part) => sum + part.byteLength, 0);
    if (got < available - offset) {
      throw new SourceError(
        `${this.name} is a stream: cannot read back to byte ${offset} (only the first ${this.retainBytes} bytes are kept)`,
      );
    }
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  }

  /** Stops the stream early: a probe that has what it needs must not keep a connection busy. */
  override async close(): Promise<void> {
    if (!this.ended) {
      this.ended = true;
      await this.iterator.return?.();
    }
  }
}

/** The parts of ordered, contiguous pieces that fall in [from, to). */
function overlapping(pieces: Piece[], from: number, to: number): Buffer[] {
  const parts: Buffer[] = [];
  for (const { start, bytes } of pieces) {
    const stop = start + bytes.byteLength;
    if (stop <= from || start >= to) continue;
    parts.push(bytes.subarray(Math.max(0, from - start), Math.min(bytes.byteLength, to - start)));
  }
  return parts;
}
