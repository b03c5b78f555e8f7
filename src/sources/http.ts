import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { LimitError, ProbeError, SourceError } from '../errors.js';
import { BaseSource, type SourceLimits } from './source.js';
import { StreamSource } from './stream.js';

export interface HttpSourceOptions extends SourceLimits {
  /** Per-request time limit. */
  timeoutMs?: number;
  /** Smallest range fetched per request; small reads near each other share one request. */
  blockSize?: number;
  headers?: Record<string, string>;
}

const DEFAULT_BLOCK = 64 * 1024;
const MAX_CACHED_BLOCKS = 64;

/**
 * An http(s) URL read with Range requests in aligned blocks (cached, so a probe's many small
 * header reads cost few round trips). A server that ignores ranges answers 200 with the
 * whole body: from then on the response is read as a forward-only stream.
 */
export class HttpSource extends BaseSource {
  private total?: number;
  private readonly blocks = new Map<number, Uint8Array>();
  private fallback?: StreamSource;
  private readonly blockSize: number;
  private readonly timeoutMs: number;

  constructor(
    readonly url: string,
    private readonly options: HttpSourceOptions = {},
  ) {
    super(url, options);
    this.blockSize = options.blockSize ?? DEFAULT_BLOCK;
    this.timeoutMs = options.timeoutMs ?? 30_000;
  }

  override get bytesRead(): number {
    return this.counted + (this.fallback?.bytesRead ?? 0);
  }

  async size(): Promise<number> {
    if (this.total === undefined && !this.fallback) await this.fetchBlock(0);
    // fetchBlock may have found a server that ignores ranges and switched to streaming.
    const fallback = this.fallback as StreamSource | undefined;
    return fallback ? fallback.size() : this.total!;
  }

  protected async readAt(offset: number, length: number): Promise<Uint8Array> {
    if (this.fallback) return this.fallback.read(offset, length);
    const first = Math.floor(offset / this.blockSize);
    const last = Math.floor((offset + length - 1) / this.blockSize);
    const parts: Uint8Array[] = [];
    for (let index = first; index <= last; index++) {
      const block = await this.fetchBlock(index, last - index + 1);
      if (this.fallback) return (this.fallback as StreamSource).read(offset, length);
      parts.push(block);
      if (block.byteLength < this.blockSize) break;
    }
    const joined = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
    const start = offset - first * this.blockSize;
    return joined.subarray(start, start + length);
  }

  /** Returns block `index`, fetching it and up to `ahead - 1` following blocks in one request. */
  private async fetchBlock(index: number, ahead = 1): Promise<Uint8Array> {
    const cached = this.blocks.get(index);
    if (cached) return cached;
    const start = index * this.blockSize;
    if (this.total !== undefined && start >= this.total) return new Uint8Array(0);
    const end = start + this.blockSize * Math.max(1, ahead) - 1;
    const response = await this.request({ Range: `bytes=${start}-${end}` });
    if (response.status === 416) {
      await response.body?.cancel();
      this.total = Number(/\/(\d+)/.exec(response.headers.get('content-range') ?? '')?.[1] ?? 0);
      return new Uint8Array(0);
    }
    if (response.status === 200) {
      this.switchToStream(response);
      return new Uint8Array(0);
    }
    if (response.status !== 206) {
      await response.body?.cancel();
      throw httpError(this.url, response.status);
    }
    this.total = totalFromContentRange(response.headers.get('content-range'), this.url);
    const body = new Uint8Array(await response.arrayBuffer());
    this.count(body.byteLength);
    for (let offset = 0, i = index; offset < body.byteLength || i === index; offset += this.blockSize, i++) {
      this.remember(i, body.subarray(offset, offset + this.blockSize));
    }
    return this.blocks.get(index)!;
  }

  private remember(index: number, block: Uint8Array): void {
    if (this.blocks.size >= MAX_CACHED_BLOCKS) this.blocks.delete(this.blocks.keys().next().value!);
    this.blocks.set(index, block);
  }

  private switchToStream(response: Response): void {
    const length = response.headers.get('content-length');
    const body = response.body
      ? Readable.fromWeb(response.body as unknown as WebReadableStream<Uint8Array>)
      : Readable.from([]);
    this.fallback = new StreamSource(body, this.url, {
      maxBytesRead: this.options.maxBytesRead,
      size: length !== null && /^\d+$/.test(length) ? Number(length) : undefined,
    });
  }

  private async request(headers: Record<string, string>): Promise<Response> {
    try {
      return await fetch(this.url, {
        headers: { ...this.options.headers, ...headers, 'Accept-Encoding': 'identity' },
        signal: AbortSignal.timeout(this.timeoutMs),
        redirect: 'follow',
      });
    } catch (error) {
      if ((error as Error).name === 'TimeoutError') {
        throw new LimitError('timeout', `no answer from ${this.url} within ${this.timeoutMs} ms`);
      }
      throw new SourceError(`fetching ${this.url} failed: ${(error as Error).message}`, { cause: error });
    }
  }

  override async close(): Promise<void> {
    await this.fallback?.close();
    this.blocks.clear();
  }
}

function totalFromContentRange(header: string | null, url: string): number {
  const match = /^bytes \d+-\d+\/(\d+)$/.exec(header?.trim() ?? '');
  if (!match) throw new SourceError(`${url}: partial response without a usable Content-Range (${header ?? 'none'})`);
  return Number(match[1]);
}

function httpError(url: string, status: number): ProbeError {
  return new SourceError(`${url}: HTTP ${status}`);
}
