import { readIndirectObject, readStreamBytes, PdfStream, type CrossReference, type XrefEntry } from './objects.js';
import type { RangeReader } from './range.js';
import { decodeStream } from './streams.js';
import { isWhitespace, NeedMoreBytes, Parser, PdfDict, PdfDoubt, type PdfValue } from './syntax.js';

/** Most files end with `startxref` in their last 1 KiB; poppler looks this far back (measured). */
const TAIL_BYTES = 1024;
const STARTXREF_SEARCH_BYTES = 25216;
const FIRST_TABLE_WINDOW = 64 * 1024;
const MAX_TABLE_BYTES = 256 * 1024 * 1024;
const MAX_SECTIONS = 1000;
const MAX_OBJECT_NUMBER = 1 << 24;

interface Section {
  entries: Map<number, XrefEntry>;
  trailer: PdfDict;
}

/**
 * The cross-reference data of a well-formed file: the section `startxref` points at, then its
 * hybrid /XRefStm and its /Prev chain. Newer sections win; anything malformed is doubt.
 */
export async function readCrossReference(reader: RangeReader): Promise<CrossReference> {
  const entries = new Map<number, XrefEntry>();
  let trailer: PdfDict | undefined;
  const visited = new Set<number>();
  let next: number | undefined = await findStartXref(reader);
  while (next !== undefined && !visited.has(next)) {
    if (visited.size === MAX_SECTIONS) throw new PdfDoubt('too many cross-reference sections');
    visited.add(next);
    const section = await readSection(reader, next);
    for (const [num, entry] of section.entries) if (!entries.has(num)) entries.set(num, entry);
    trailer ??= section.trailer;
    next = offsetEntry(section.trailer, 'Prev');
  }
  if (!trailer) throw new PdfDoubt('no trailer');
  return { entries, trailer };
}

/** The offset after the last `startxref`; like poppler, no earlier one is tried when it is broken. */
async function findStartXref(reader: RangeReader): Promise<number> {
  for (const span of [TAIL_BYTES, STARTXREF_SEARCH_BYTES]) {
    const start = Math.max(0, reader.size - span);
    const tail = Buffer.from(await reader.read(start, span)).toString('latin1');
    const at = tail.lastIndexOf('startxref');
    if (at < 0) continue;
    const match = /^startxref[\0\t\n\f\r ]+(\d+)/.exec(tail.slice(at));
    if (!match) throw new PdfDoubt('no offset after startxref');
    return Number(match[1]);
  }
  throw new PdfDoubt(`no startxref in the last ${STARTXREF_SEARCH_BYTES} bytes`);
}

/** An optional integer entry that must be a file offset when present. */
function offsetEntry(dict: PdfDict, key: string): number | undefined {
  const value = dict.get(key);
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) throw new PdfDoubt(`bad /${key}`);
  return value;
}

async function readSection(reader: RangeReader, offset: number): Promise<Section> {
  if (offset >= reader.size) throw new PdfDoubt(`cross-reference offset ${offset} is past the end`);
  const head = Buffer.from(await reader.read(offset, 32)).toString('latin1');
  if (!/^[\0\t\n\f\r ]*xref/.test(head)) return readXrefStream(reader, offset);
  const table = await readTable(reader, offset);
  const hybrid = offsetEntry(table.trailer, 'XRefStm');
  if (hybrid === undefined) return table;
  // Hybrid file: the table's own entries first, then its stream (which may fill entries the
  // table lists as free for readers that predate object streams), then /Prev.
  const stream = await readXrefStream(reader, hybrid);
  for (const [num, entry] of stream.entries) {
    if (table.entries.get(num)?.kind !== 'offset' && table.entries.get(num)?.kind !== 'compressed') table.entries.set(num, entry);
  }
  return table;
}

async function readTable(reader: RangeReader, offset: number): Promise<Section> {
  for (let window = FIRST_TABLE_WINDOW; ; window *= 4) {
    const bytes = await reader.read(offset, window);
    try {
      return parseTable(new Parser(bytes, offset + bytes.length >= reader.size));
    } catch (error) {
      if (!(error instanceof NeedMoreBytes) || window >= MAX_TABLE_BYTES) throw error;
    }
  }
}

function parseTable(parser: Parser): Section {
  if (!parser.tryKeyword('xref')) throw new PdfDoubt('no xref keyword');
  const entries = new Map<number, XrefEntry>();
  while (!parser.tryKeyword('trailer')) {
    let first = parser.tryUnsignedInt();
    const count = first === undefined ? undefined : parser.tryUnsignedInt();
    if (first === undefined || count === undefined || first + count > MAX_OBJECT_NUMBER) throw new PdfDoubt('bad xref subsection');
    for (let i = 0; i < count; i++) {
      const entry = readTableEntry(parser);
      // Some writers number the subsection from 1 but start it with object 0's free entry (poppler fixes this).
      if (i === 0 && first === 1 && entry.kind === 'free' && entry.gen === 65535) first = 0;
      const num = first + i;
      if (!entries.has(num)) entries.set(num, entry.kind === 'free' ? { kind: 'free' } : entry);
    }
  }
  const trailer = parser.parseValue();
  if (!(trailer instanceof PdfDict)) throw new PdfDoubt('trailer is not a dictionary');
  return { entries, trailer };
}

function readTableEntry(parser: Parser): { kind: 'offset' | 'free'; offset: number; gen: number } {
  const offset = readDigits(parser);
  const gen = readDigits(parser);
  if (!parser.skipSpace()) throw new NeedMoreBytes();
  const type = parser.bytes[parser.pos++];
  const after = parser.bytes[parser.pos];
  if (after === undefined && !parser.complete) throw new NeedMoreBytes();
  if ((type !== 0x6e && type !== 0x66) || (after !== undefined && !isWhitespace(after))) throw new PdfDoubt('bad xref entry');
  // An in-use entry at offset 0 points nowhere; reading it is doubt, like any missing object.
  if (type === 0x66 || offset === 0) return { kind: 'free', offset, gen };
  return { kind: 'offset', offset, gen };
}

function readDigits(parser: Parser): number {
  if (!parser.skipSpace()) {
    if (parser.complete) throw new PdfDoubt('xref table ends early');
    throw new NeedMoreBytes();
  }
  const b = parser.bytes;
  let value = 0;
  const start = parser.pos;
  while (parser.pos < b.length && b[parser.pos]! >= 0x30 && b[parser.pos]! <= 0x39) value = value * 10 + b[parser.pos++]! - 0x30;
  if (parser.pos === b.length && !parser.complete) throw new NeedMoreBytes();
  if (parser.pos === start || parser.pos - start > 10) throw new PdfDoubt('bad xref entry');
  return value;
}

/** A cross-reference stream (PDF 1.5, §7.5.8): rows of /W-sized big-endian fields per /Index range. */
async function readXrefStream(reader: RangeReader, offset: number): Promise<Section> {
  const { value } = await readIndirectObject(reader, offset);
  if (!(value instanceof PdfStream) || value.dict.nameOf('Type') !== 'XRef') throw new PdfDoubt(`no cross-reference stream at ${offset}`);
  const length = value.dict.get('Length');
  if (typeof length !== 'number') throw new PdfDoubt('cross-reference stream /Length is not a direct number');
  const data = decodeStream(value.dict, await readStreamBytes(reader, value, length));
  return { entries: parseXrefStreamRows(value.dict, data), trailer: value.dict };
}

function parseXrefStreamRows(dict: PdfDict, data: Uint8Array): Map<number, XrefEntry> {
  const widths = integerArray(dict.get('W'));
  const size = dict.get('Size');
  const index = dict.has('Index') ? integerArray(dict.get('Index')) : [0, typeof size === 'number' ? size : -1];
  if (widths.length < 3 || widths.some((w) => w < 0 || w > 8) || index.length % 2 !== 0 || index.some((n) => n < 0)) {
    throw new PdfDoubt('bad cross-reference stream /W or /Index');
  }
  const [w0, w1, w2] = widths as [number, number, number];
  const rowBytes = w0 + w1 + w2;
  const entries = new Map<number, XrefEntry>();
  let pos = 0;
  for (let s = 0; s < index.length; s += 2) {
    const first = index[s]!;
    const count = index[s + 1]!;
    if (first + count > MAX_OBJECT_NUMBER || pos + count * rowBytes > data.length) throw new PdfDoubt('cross-reference stream is shorter than its /Index');
    for (let i = 0; i < count; i++, pos += rowBytes) {
      const type = w0 === 0 ? 1 : field(data, pos, w0);
      const a = field(data, pos + w0, w1);
      const b = field(data, pos + w0 + w1, w2);
      if (!entries.has(first + i)) entries.set(first + i, rowEntry(type, a, b));
    }
  }
  return entries;
}

/** Types other than 1 and 2 are free or reserved; both read as the null object. */
function rowEntry(type: number, a: number, b: number): XrefEntry {
  if (type === 1) return { kind: 'offset', offset: a, gen: b };
  if (type === 2) return { kind: 'compressed', stream: a, index: b };
  return { kind: 'free' };
}

function field(data: Uint8Array, pos: number, width: number): number {
  let value = 0;
  for (let i = 0; i < width; i++) value = value * 256 + data[pos + i]!;
  return value;
}

function integerArray(value: PdfValue | undefined): number[] {
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'number' || !Number.isSafeInteger(v))) {
    throw new PdfDoubt('expected an array of integers');
  }
  return value as number[];
}
