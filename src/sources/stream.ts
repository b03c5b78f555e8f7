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
export class StreamSource extends BaseSource {
  private readonly iterator: AsyncIterator<Buffer | string>;
  private readonly retainBytes: number;
  private readonly givenSize?: number;
  private retained: Buffer[] = [];
  private retainedLength = 0;
  /** Bytes consumed from the stream so far (retained or passed over). */
  private consumed = 0;
  /** A chunk past the retained prefix, kept until the next one so adjacent reads can use it. */
  private window?: { start: number; bytes: Buffer };
  private ended = false;

  constructor(stream: Readable, name = '<stream>', options: StreamSourceOptions = {}) {
    super(name, options);
    this.iterator = stream[Symbol.asyncIterator]();
    this.retainBytes = options.retainBytes ?? DEFAULT_RETAIN_BYTES;
    this.givenSize = options.size;
  }

  private async nextChunk(): Promise<Buffer | undefined> {
    if (this.ended) return undefined;
    let result: IteratorResult<Buffer | string>;
    try {
      result = await this.iterator.next();
    } catch (error) {
      throw new SourceError(`reading ${this.name} failed: ${(error as Error).message}`, { cause: error });
    }
    if (result.done) {
      this.ended = true;
      return undefined;
    }
    const chunk = typeof result.value === 'string' ? Buffer.from(result.value) : result.value;
    this.count(chunk.byteLength);
    return chunk;
  }

  /** Consumes the stream until `end` bytes have been seen or it ends; keeps [from, end) past the prefix. */
  private async advanceTo(from: number, end: number): Promise<void> {
    while (this.consumed < end) {
      const chunk = await this.nextChunk();
      if (!chunk) return;
      const start = this.consumed;
      this.consumed += chunk.byteLength;
      const keep = Math.max(0, Math.min(chunk.byteLength, this.retainBytes - start));
      if (keep > 0) {
        this.retained.push(chunk.subarray(0, keep));
        this.retainedLength += keep;
      }
      if (keep < chunk.byteLength) this.keepInWindow(start + keep, chunk.subarray(keep), from);
    }
  }

  private keepInWindow(start: number, bytes: Buffer, from: number): void {
    const previous = this.window;
    let window =
      previous && previous.start + previous.bytes.byteLength === start
        ? { start: previous.start, bytes: Buffer.concat([previous.bytes, bytes]) }
        : { start, bytes };
    if (window.start < from) {
      const drop = Math.min(from - window.start, window.bytes.byteLength);
      window = { start: window.start + drop, bytes: window.bytes.subarray(drop) };
    }
    this.window = window;
  }

  async size(): Promise<number> {
    if (this.givenSize !== undefined) return this.givenSize;
    for (let chunk = await this.nextChunk(); chunk; chunk = await this.nextChunk()) {
      this.consumed += chunk.byteLength;
    }
    return this.consumed;
  }

  protected async readAt(offset: number, length: number): Promise<Uint8Array> {
    const end = offset + length;
    await this.advanceTo(offset, end);
    const parts: Uint8Array[] = [];
    let position = offset;
    if (position < this.retainedLength) {
      if (this.retained.length > 1) this.retained = [Buffer.concat(this.retained)];
      const prefix = this.retained[0] ?? Buffer.alloc(0);
      parts.push(prefix.subarray(position, Math.min(end, this.retainedLength)));
      position = Math.min(end, this.retainedLength);
    }
    if (position < end && position < this.consumed) {
      const window = this.window;
      if (!window || position < window.start) {
        throw new SourceError(
          `${this.name} is a stream: cannot read back to byte ${position} (only the first ${this.retainBytes} bytes are kept)`,
        );
      }
      parts.push(window.bytes.subarray(position - window.start, Math.min(end - window.start, window.bytes.byteLength)));
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
