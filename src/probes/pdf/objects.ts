import type { RangeReader } from './range.js';
import { decodeStream } from './streams.js';
import { NeedMoreBytes, Parser, PdfDict, PdfDoubt, PdfRef, type PdfValue } from './syntax.js';

/** Where the cross-reference data says an object lives. */
export type XrefEntry =
  | { kind: 'offset'; offset: number; gen: number }
  | { kind: 'compressed'; stream: number; index: number }
  | { kind: 'free' };

export interface CrossReference {
  entries: Map<number, XrefEntry>;
  trailer: PdfDict;
}

/** A stream object: its dictionary and where its data starts in the file. */
export class PdfStream {
  constructor(
    readonly dict: PdfDict,
    readonly dataStart: number,
  ) {}
}

export type PdfObject = PdfValue | PdfStream;

/** Decrypts one object's stream data (object streams are encrypted like any stream). */
export type StreamDecryptor = (ref: PdfRef, data: Uint8Array) => Uint8Array;

const FIRST_WINDOW = 2048;
const MAX_OBJECT_BYTES = 32 * 1024 * 1024;
const MAX_REFERENCE_CHAIN = 16;

export interface IndirectObject {
  ref: PdfRef;
  value: PdfObject;
}

/** Runs `parse` on the bytes at `offset`, reading a larger window while the value runs on. */
export async function parseAt<T>(reader: RangeReader, offset: number, parse: (parser: Parser) => T, lenient = false): Promise<T> {
  for (let window = FIRST_WINDOW; ; window *= 4) {
    const bytes = await reader.read(offset, window);
    try {
      return parse(new Parser(bytes, offset + bytes.length >= reader.size, lenient));
    } catch (error) {
      if (!(error instanceof NeedMoreBytes) || window >= MAX_OBJECT_BYTES) throw error;
    }
  }
}

/** Parses `num gen obj value [stream]` at `offset`. */
export async function readIndirectObject(reader: RangeReader, offset: number, lenient = false): Promise<IndirectObject> {
  return parseAt(reader, offset, (parser) => parseIndirectObject(parser, offset), lenient);
}

function parseIndirectObject(parser: Parser, offset: number): IndirectObject {
  const num = parser.tryUnsignedInt();
  const gen = num === undefined ? undefined : parser.tryUnsignedInt();
  if (num === undefined || gen === undefined || !parser.tryKeyword('obj')) {
    throw new PdfDoubt(`no object header at offset ${offset}`);
  }
  const ref = new PdfRef(num, gen);
  const value = parser.parseValue();
  if (!(value instanceof PdfDict) || (parser.complete && !parser.skipSpace()) || !parser.tryKeyword('stream')) return { ref, value };
  // The data starts after the end-of-line that follows the keyword (CRLF or LF; a lone CR is tolerated).
  if (parser.peekByte() === 0x0d) parser.pos++;
  if (parser.peekByte() === 0x0a) parser.pos++;
  return { ref, value: new PdfStream(value, offset + parser.pos) };
}

/** Raw (still encoded) stream data; the declared length must be backed by an `endstream`. */
export async function readStreamBytes(reader: RangeReader, stream: PdfStream, length: number): Promise<Uint8Array> {
  if (!Number.isSafeInteger(length) || length < 0 || stream.dataStart + length > reader.size) {
    throw new PdfDoubt(`bad stream length ${length}`);
  }
  const bytes = await reader.read(stream.dataStart, length + 32);
  const after = Buffer.from(bytes.subarray(length)).toString('latin1');
  if (!/^[\0\t\n\f\r ]*endstream/.test(after)) throw new PdfDoubt(`stream at ${stream.dataStart} does not end after /Length ${length}`);
  return bytes.subarray(0, length);
}

interface ObjectStreamIndex {
  data: Uint8Array;
  /** Object number and offset (from the data start) of each object, in header order. */
  members: Array<[number, number]>;
}

/**
 * Objects of one PDF through its cross-reference data. In strict mode anything missing or
 * inconsistent is doubt (the caller rebuilds the file); in recovering mode (a rebuilt file)
 * objects are parsed leniently and a missing one is null, as the PDF standard reads a
 * reference to an object that does not exist.
 */
export class PdfFile {
  decryptor?: StreamDecryptor;
  private readonly objectStreams = new Map<number, ObjectStreamIndex>();
  /** Object streams being read, so one whose /Length lives inside itself cannot loop. */
  private readonly loading = new Set<number>();

  constructor(
    readonly reader: RangeReader,
    readonly xref: CrossReference,
    readonly recovering: boolean,
  ) {}

  get trailer(): PdfDict {
    return this.xref.trailer;
  }

  /** poppler's XRef::getNumObjects: one past the highest object number listed. */
  get objectCount(): number {
    let highest = -1;
    for (const num of this.xref.entries.keys()) highest = Math.max(highest, num);
    return highest + 1;
  }

  /** The value with references followed. */
  async resolve(value: PdfObject | undefined): Promise<PdfObject | undefined> {
    for (let hops = 0; value instanceof PdfRef; hops++) {
      if (hops === MAX_REFERENCE_CHAIN) throw new PdfDoubt('reference chain too long');
      value = await this.fetch(value);
    }
    return value;
  }

  async fetch(ref: PdfRef): Promise<PdfObject> {
    const entry = this.xref.entries.get(ref.num);
    if (!entry || entry.kind === 'free') return this.missing(ref);
    if (entry.kind === 'compressed') return ref.gen === 0 ? this.fetchCompressed(ref.num, entry.stream, entry.index) : this.missing(ref);
    if (entry.gen !== ref.gen) return this.missing(ref);
    const object = await readIndirectObject(this.reader, entry.offset, this.recovering);
    if (object.ref.num !== ref.num || object.ref.gen !== ref.gen) {
      throw new PdfDoubt(`object ${ref.key} expected at ${entry.offset}, found ${object.ref.key}`);
    }
    return object.value;
  }

  private missing(ref: PdfRef): null {
    if (this.recovering) return null;
    throw new PdfDoubt(`object ${ref.key} is not in the cross-reference data`);
  }

  /** Decrypted, decoded stream data. */
  async streamData(stream: PdfStream, ref: PdfRef): Promise<Uint8Array> {
    const length = await this.resolve(stream.dict.get('Length'));
    if (typeof length !== 'number') throw new PdfDoubt('stream without a numeric /Length');
    const raw = await readStreamBytes(this.reader, stream, length);
    return decodeStream(stream.dict, this.decryptor ? this.decryptor(ref, raw) : raw);
  }

  private async fetchCompressed(num: number, streamNum: number, index: number): Promise<PdfObject> {
    const objectStream = await this.objectStream(streamNum);
    const member = objectStream.members[index]?.[0] === num ? objectStream.members[index] : objectStream.members.find(([n]) => n === num);
    if (!member) return this.missing(new PdfRef(num, 0));
    const parser = new Parser(objectStream.data, true);
    parser.pos = member[1];
    return parser.parseValue();
  }

  private async objectStream(num: number): Promise<ObjectStreamIndex> {
    const cached = this.objectStreams.get(num);
    if (cached) return cached;
    if (this.loading.has(num)) throw new PdfDoubt(`object stream ${num} needs itself to be read`);
    this.loading.add(num);
    try {
      const index = await this.readObjectStream(num);
      this.objectStreams.set(num, index);
      return index;
    } finally {
      this.loading.delete(num);
    }
  }

  private async readObjectStream(num: number): Promise<ObjectStreamIndex> {
    const entry = this.xref.entries.get(num);
    if (entry?.kind !== 'offset') throw new PdfDoubt(`object stream ${num} is not a plain object`);
    const ref = new PdfRef(num, entry.gen);
    const stream = await this.fetch(ref);
    if (!(stream instanceof PdfStream) || stream.dict.nameOf('Type') !== 'ObjStm') throw new PdfDoubt(`object ${num} is not an object stream`);
    const count = stream.dict.get('N');
    const first = stream.dict.get('First');
    if (typeof count !== 'number' || typeof first !== 'number') throw new PdfDoubt('object stream without /N or /First');
    const data = await this.streamData(stream, ref);
    return { data, members: readObjectStreamHeader(data, count, first) };
  }
}

function readObjectStreamHeader(data: Uint8Array, count: number, first: number): Array<[number, number]> {
  if (!Number.isInteger(count) || count < 0 || !Number.isInteger(first) || first < 0 || first > data.length) {
    throw new PdfDoubt('bad object stream header');
  }
  const parser = new Parser(data.subarray(0, first), true);
  const members: Array<[number, number]> = [];
  for (let i = 0; i < count; i++) {
    const num = parser.tryUnsignedInt();
    const offset = num === undefined ? undefined : parser.tryUnsignedInt();
    if (num === undefined || offset === undefined || first + offset >= data.length) throw new PdfDoubt('bad object stream header');
    members.push([num, first + offset]);
  }
  return members;
}
