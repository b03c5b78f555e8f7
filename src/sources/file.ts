import { open, type FileHandle } from 'node:fs/promises';
import { SourceError } from '../errors.js';
import { BaseSource, type SourceLimits } from './source.js';

/** A local file read with positional reads through one handle; never read whole to probe it. */
export class FileSource extends BaseSource {
  readonly path: string;
  private handle?: Promise<FileHandle>;
  private fileSize?: number;

  constructor(path: string, name = path, limits?: SourceLimits) {
    super(name, limits);
    this.path = path;
  }

  private async fd(): Promise<FileHandle> {
    this.handle ??= open(this.path, 'r').catch((error: NodeJS.ErrnoException) => {
      throw new SourceError(`cannot open ${this.name}: ${error.code ?? error.message}`, { cause: error });
    });
    return this.handle;
  }

  async size(): Promise<number> {
    if (this.fileSize === undefined) {
      const stat = await (await this.fd()).stat();
      if (!stat.isFile()) throw new SourceError(`${this.name} is not a regular file`);
      this.fileSize = stat.size;
    }
    return this.fileSize;
  }

  protected async readAt(offset: number, length: number): Promise<Uint8Array> {
    const size = await this.size();
    const wanted = Math.max(0, Math.min(length, size - offset));
    const buffer = Buffer.allocUnsafe(wanted);
    let filled = 0;
    const handle = await this.fd();
    while (filled < wanted) {
      const { bytesRead } = await handle.read(buffer, filled, wanted - filled, offset + filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    this.count(filled);
    return buffer.subarray(0, filled);
  }

  override async close(): Promise<void> {
    const handle = this.handle;
    this.handle = undefined;
    if (handle) await (await handle.catch(() => undefined))?.close();
  }
}
