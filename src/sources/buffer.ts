import { BaseSource, type SourceLimits } from './source.js';

/** Bytes already in memory. */
export class BufferSource extends BaseSource {
  private readonly bytes: Uint8Array;

  constructor(bytes: Uint8Array, name = '<buffer>', limits?: SourceLimits) {
    super(name, limits);
    this.bytes = bytes;
  }

  async size(): Promise<number> {
    return this.bytes.byteLength;
  }

  protected async readAt(offset: number, length: number): Promise<Uint8Array> {
    const slice = this.bytes.subarray(offset, Math.min(offset + length, this.bytes.byteLength));
    this.count(slice.byteLength);
    return slice;
  }
}
