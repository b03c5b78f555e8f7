import { extname } from 'node:path';
import { LimitError, SourceError } from '../errors.js';

/**
 * Random-access bytes of one input, whatever it lives in. Probes read through this and only
 * this, so the same probe works on a path, a Buffer, a stream or a URL, and every byte fetched
 * is counted (the benchmarks check that probes read headers, not files).
 */
export interface ByteSource {
  /** The input as the caller named it (path, URL or label); used in results and messages. */
  readonly name: string;
  /** Lower-case extension of the name without the dot, '' when there is none. */
  readonly extension: string;
  /** Set when the bytes are a local file, so external tools (ffprobe) can open it themselves. */
  readonly path?: string;
  /** Bytes fetched from the underlying medium so far. */
  readonly bytesRead: number;
  /** Exact length in bytes. On a forward-only stream this drains the rest (counting only). */
  size(): Promise<number>;
  /** Up to `length` bytes starting at `offset`; fewer only at the end of the data. */
  read(offset: number, length: number): Promise<Uint8Array>;
  close(): Promise<void>;
}

export interface SourceLimits {
  /** Most bytes any probe may fetch from this source; protects against hostile headers. */
  maxBytesRead?: number;
}

export const DEFAULT_MAX_BYTES_READ = 512 * 1024 * 1024;

/** Shared bookkeeping: argument checks, the byte counter and the read limit. */
export abstract class BaseSource implements ByteSource {
  readonly extension: string;
  protected counted = 0;
  private readonly maxBytesRead: number;

  constructor(
    readonly name: string,
    limits: SourceLimits = {},
  ) {
    this.extension = extensionOf(name);
    this.maxBytesRead = limits.maxBytesRead ?? DEFAULT_MAX_BYTES_READ;
  }

  get bytesRead(): number {
    return this.counted;
  }

  abstract size(): Promise<number>;
  protected abstract readAt(offset: number, length: number): Promise<Uint8Array>;

  async read(offset: number, length: number): Promise<Uint8Array> {
    if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length < 0) {
      throw new SourceError(`invalid read of ${length} bytes at ${offset} from ${this.name}`);
    }
    if (length === 0) return new Uint8Array(0);
    return this.readAt(offset, length);
  }

  /** Subclasses call this for every byte they fetch from the medium. */
  protected count(bytes: number): void {
    this.counted += bytes;
    if (this.counted > this.maxBytesRead) {
      throw new LimitError('limit_exceeded', `read more than ${this.maxBytesRead} bytes of ${this.name}`);
    }
  }

  async close(): Promise<void> {}
}

export function extensionOf(name: string): string {
  const withoutQuery = /^[a-z][a-z0-9+.-]*:\/\//i.test(name) ? name.replace(/[?#].*$/, '') : name;
  return extname(withoutQuery).slice(1).toLowerCase();
}

/** Reads the whole source into memory; for formats whose readers need it, bounded by `maxBytes`. */
export async function readAll(source: ByteSource, maxBytes: number): Promise<Uint8Array> {
  const size = await source.size();
  if (size > maxBytes) {
    throw new LimitError('limit_exceeded', `${source.name} is ${size} bytes, over the ${maxBytes}-byte limit for a whole-file read`);
  }
  return source.read(0, size);
}
