import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, extname, join } from 'node:path';
import type { Writable } from 'node:stream';
import { UsageError } from '../errors.js';
import { alwaysPresentLists, flagsFor, listKey, writeEntry } from './forms.js';
import {
  ENCORD_MAX_ITEMS_PER_FILE,
  ENCORD_MAX_URLS_PER_FILE,
  ENTRY_KINDS,
  entryUrls,
  type SpecEntry,
  type SpecFlags,
  type SpecFormat,
} from './model.js';
import type { Finding } from '../validate/finding.js';
import { failOnInvalidItem, itemErrors } from './validation.js';

export interface SpecWriterOptions {
  format: SpecFormat;
  flags: SpecFlags;
  /** Output path; without one the spec goes to `stdout` (and must fit in one file). */
  output?: string;
  stdout?: Writable;
  /** Items per file (Encord: 500,000; plans may allow fewer at once, e.g. 10,000). */
  maxItems?: number;
  /** URLs per file (Encord: 1,000,000; a group counts each frame). */
  maxUrls?: number;
  /**
   * Called for an item that fails validation, which is then written as it is. Without it such
   * an item is a bug and throws: items this library builds must always validate. Specs that
   * carry the user's own items (verify --fix, retry) report them instead.
   */
  onInvalidItem?: (errors: Finding[], item: Record<string, unknown>) => void;
}

export interface WrittenSpec {
  files: string[];
  items: number;
  urls: number;
}

interface Part {
  path: string;
  stream: WriteStream;
  count: number;
}

interface Chunk {
  items: number;
  urls: number;
  parts: Map<string, Part>;
}

/**
 * Writes a spec without holding it: each entry is checked against the schema and appended to a
 * temporary file per list, and at the end each file is assembled from those lists. When a file
 * would pass the item or URL limit, the next entries start a new numbered file (spec-001.json,
 * spec-002.json, ...).
 */
export class SpecWriter {
  private readonly chunks: Chunk[] = [];
  private totalItems = 0;
  private totalUrls = 0;
  private readonly maxItems: number;
  private readonly maxUrls: number;

  private constructor(
    private readonly options: SpecWriterOptions,
    private readonly tempDir: string,
  ) {
    this.maxItems = Math.min(options.maxItems ?? ENCORD_MAX_ITEMS_PER_FILE, ENCORD_MAX_ITEMS_PER_FILE);
    this.maxUrls = Math.min(options.maxUrls ?? ENCORD_MAX_URLS_PER_FILE, ENCORD_MAX_URLS_PER_FILE);
    this.chunks.push(emptyChunk());
  }

  static async open(options: SpecWriterOptions): Promise<SpecWriter> {
    return new SpecWriter(options, await mkdtemp(join(tmpdir(), 'encord-media-spec-')));
  }

  async add(entry: SpecEntry): Promise<void> {
    const item = writeEntry(entry, this.options.format);
    const errors = itemErrors(listKey(entry.kind, this.options.format), item, this.options.format);
    if (errors.length > 0) (this.options.onInvalidItem ?? ((found) => failOnInvalidItem(found, item, this.options.format)))(errors, item);
    const urls = entryUrls(entry).length;
    if (urls > this.maxUrls) throw new UsageError(`${entry.title ?? 'an item'} has ${urls} URLs, more than ${this.maxUrls} allowed in one file`);
    let chunk = this.current();
    if (chunk.items > 0 && (chunk.items + 1 > this.maxItems || chunk.urls + urls > this.maxUrls)) chunk = await this.nextChunk();
    const part = this.part(chunk, listKey(entry.kind, this.options.format));
    await write(part.stream, `${part.count > 0 ? ',\n' : ''}    ${JSON.stringify(item)}`);
    part.count++;
    chunk.items++;
    chunk.urls += urls;
    this.totalItems++;
    this.totalUrls += urls;
  }

  /** Assembles the output files and removes the temporary ones. */
  async finish(): Promise<WrittenSpec> {
    try {
      await closeParts(this.current());
      const many = this.chunks.length > 1;
      if (many && this.options.output === undefined) {
        throw new UsageError(`the spec needs ${this.chunks.length} files (over ${this.maxItems} items or ${this.maxUrls} URLs each): give -o FILE`);
      }
      const files: string[] = [];
      for (const [index, chunk] of this.chunks.entries()) {
        const path = this.options.output === undefined ? undefined : many ? numbered(this.options.output, index + 1) : this.options.output;
        await this.assemble(chunk, path);
        files.push(path ?? '-');
      }
      return { files, items: this.totalItems, urls: this.totalUrls };
    } finally {
      await this.discard();
    }
  }

  /** Drops everything written so far (the run failed). */
  async discard(): Promise<void> {
    for (const chunk of this.chunks) for (const part of chunk.parts.values()) part.stream.destroy();
    await rm(this.tempDir, { recursive: true, force: true });
  }

  private current(): Chunk {
    return this.chunks[this.chunks.length - 1] as Chunk;
  }

  private async nextChunk(): Promise<Chunk> {
    await closeParts(this.current());
    const chunk = emptyChunk();
    this.chunks.push(chunk);
    return chunk;
  }

  private part(chunk: Chunk, key: string): Part {
    let part = chunk.parts.get(key);
    if (!part) {
      const path = join(this.tempDir, `${this.chunks.length}-${key}.part`);
      part = { path, stream: createWriteStream(path), count: 0 };
      chunk.parts.set(key, part);
    }
    return part;
  }

  private async assemble(chunk: Chunk, path: string | undefined): Promise<void> {
    const out = path === undefined ? (this.options.stdout ?? process.stdout) : await openOutput(path);
    const { format, flags } = this.options;
    const always = alwaysPresentLists(format);
    const lists = [...new Set([...ENTRY_KINDS.map((kind) => listKey(kind, format)), ...always])];
    let separator = '';
    await write(out, '{\n');
    for (const key of lists) {
      const part = chunk.parts.get(key);
      if (!part && !always.includes(key)) continue;
      await write(out, `${separator}  ${JSON.stringify(key)}: [`);
      separator = ',\n';
      if (part) {
        await write(out, '\n');
        for await (const bytes of createReadStream(part.path)) await write(out, bytes as Buffer);
        await write(out, '\n  ');
      }
      await write(out, ']');
    }
    for (const [key, value] of Object.entries(flagsFor(flags, format))) {
      await write(out, `${separator}  ${JSON.stringify(key)}: ${JSON.stringify(value)}`);
      separator = ',\n';
    }
    await write(out, '\n}\n');
    if (path !== undefined) await new Promise<void>((resolve, reject) => (out as WriteStream).end(() => resolve()).on('error', reject));
  }
}

function emptyChunk(): Chunk {
  return { items: 0, urls: 0, parts: new Map() };
}

async function closeParts(chunk: Chunk): Promise<void> {
  await Promise.all([...chunk.parts.values()].map((part) => new Promise<void>((resolve, reject) => part.stream.end(() => resolve()).on('error', reject))));
}

/** Waits when the reader is slower than the writer, so memory stays bounded. */
async function write(stream: Writable, data: string | Buffer): Promise<void> {
  if (!stream.write(data)) await new Promise<void>((resolve) => stream.once('drain', resolve));
}

/** Creates `path` (and its folder) for writing; a path that cannot be written is a usage error. */
export async function openOutput(path: string): Promise<WriteStream> {
  try {
    await mkdir(dirname(path), { recursive: true });
    const stream = createWriteStream(path);
    await new Promise<void>((resolve, reject) => stream.once('open', () => resolve()).once('error', reject));
    return stream;
  } catch (error) {
    throw new UsageError(`cannot write ${path}: ${(error as Error).message}`);
  }
}

/** `out/spec.json` -> `out/spec-001.json`. */
export function numbered(path: string, n: number): string {
  const extension = extname(path);
  return join(dirname(path), `${basename(path, extension)}-${String(n).padStart(3, '0')}${extension}`);
}
