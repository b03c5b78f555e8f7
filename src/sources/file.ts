import { close, closeSync, fstat, fstatSync, open, openSync, read, readSync, type Stats } from 'node:fs';
import { promisify } from 'node:util';
import { SourceError } from '../errors.js';
import { BaseSource, type SourceLimits } from './source.js';

export interface FileSourceOptions extends SourceLimits {
  /**
   * Read with blocking calls. Probing reads a few small ranges per file, and a thread-pool round
   * trip costs ten times the read itself: batch tools (the CLI) gain 3-10x on small files. A
   * server that must never block its event loop keeps the default.
   */
  blocking?: boolean;
}

/** The four file operations a source needs, in a blocking and a thread-pool flavour. */
interface FileIo {
  open(path: string): Promise<number>;
  stat(fd: number): Promise<Stats>;
  read(fd: number, buffer: Buffer, offset: number, length: number, position: number): Promise<number>;
  close(fd: number): Promise<void>;
}

const poolIo: FileIo = {
  open: (path) => promisify(open)(path, 'r'),
  stat: (fd) => promisify(fstat)(fd),
  read: (fd, buffer, offset, length, position) => promisify(read)(fd, buffer, offset, length, position).then((r) => r.bytesRead),
  close: (fd) => promisify(close)(fd),
};

const blockingIo: FileIo = {
  open: async (path) => openSync(path, 'r'),
  stat: async (fd) => fstatSync(fd),
  read: async (fd, buffer, offset, length, position) => readSync(fd, buffer, offset, length, position),
  close: async (fd) => closeSync(fd),
};

/** A local file read with positional reads through one descriptor; never read whole to probe it. */
export class FileSource extends BaseSource {
  readonly path: string;
  private readonly io: FileIo;
  private descriptor?: Promise<number>;
  private fileSize?: number;

  constructor(path: string, name = path, options: FileSourceOptions = {}) {
    super(name, options);
    this.path = path;
    this.io = options.blocking ? blockingIo : poolIo;
  }

  private fd(): Promise<number> {
    this.descriptor ??= this.io.open(this.path).catch((error: NodeJS.ErrnoException) => {
      throw new SourceError(`cannot open ${this.name}: ${error.code ?? error.message}`, { cause: error });
    });
    return this.descriptor;
  }

  async size(): Promise<number> {
    if (this.fileSize === undefined) {
      const stats = await this.io.stat(await this.fd());
      if (!stats.isFile()) throw new SourceError(`${this.name} is not a regular file`);
      this.fileSize = stats.size;
    }
    return this.fileSize;
  }

  protected async readAt(offset: number, length: number): Promise<Uint8Array> {
    const size = await this.size();
    const wanted = Math.max(0, Math.min(length, size - offset));
    const buffer = Buffer.allocUnsafe(wanted);
    const fd = await this.fd();
    let filled = 0;
    while (filled < wanted) {
      const got = await this.io.read(fd, buffer, filled, wanted - filled, offset + filled).catch((error: Error) => {
        throw new SourceError(`reading ${this.name} failed: ${error.message}`, { cause: error });
      });
      if (got === 0) break;
      filled += got;
    }
    this.count(filled);
    return buffer.subarray(0, filled);
  }

  override async close(): Promise<void> {
    const descriptor = this.descriptor;
    this.descriptor = undefined;
    const fd = await descriptor?.catch(() => undefined);
    if (fd !== undefined) await this.io.close(fd);
  }
}
