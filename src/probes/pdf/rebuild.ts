import { ProbeError } from '../../errors.js';
import { applyEncryption } from './document.js';
import { parseAt, PdfFile, PdfStream, readIndirectObject, type XrefEntry } from './objects.js';
import type { RangeReader } from './range.js';
import { Parser, PdfDict, PdfRef, type PdfValue } from './syntax.js';

const WS = '[\\0\\t\\n\\f\\r ]';
/** `num gen obj` starting a token, as poppler's and pdf.js's reconstruction scan for it. */
const OBJECT_HEADER = new RegExp(`(?<![0-9A-Za-z.+-])(\\d{1,10})${WS}+(\\d{1,5})${WS}+obj(?![0-9A-Za-z])`, 'g');
const TRAILER = new RegExp(`trailer${WS}*<<`, 'g');
const typeMarker = (type: string): RegExp => new RegExp(`/Type${WS}*/${type}(?![0-9A-Za-z])`, 'g');

interface FoundObject {
  offset: number;
  num: number;
  gen: number;
}

/**
 * Rebuilds the cross-reference data of a damaged file from its bytes, the way recovering
 * readers do: every `num gen obj` found (the last of equal generations wins), the members of
 * every object stream found, and for the trailer the last `trailer` dictionary or
 * cross-reference stream whose /Root is a dictionary, else the last /Type /Catalog object.
 */
export async function rebuildFile(reader: RangeReader, bytes: Uint8Array): Promise<PdfFile> {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
  const objects = findObjects(text);
  if (objects.length === 0) {
    const isPdf = text.slice(0, 1024).includes('%PDF-');
    throw new ProbeError(isPdf ? 'corrupt_file' : 'unsupported_format', isPdf ? 'no objects found in the file' : 'not a PDF file');
  }
  const entries = new Map<number, XrefEntry>();
  for (const { offset, num, gen } of objects) {
    const existing = entries.get(num);
    if (existing?.kind !== 'offset' || gen >= existing.gen) entries.set(num, { kind: 'offset', offset, gen });
  }
  const plain = new PdfFile(reader, { entries, trailer: new PdfDict(new Map()) }, true);
  const objectStreams = containing(objects, text, 'ObjStm');
  const trailer = await chooseTrailer(plain, trailerCandidates(text), containing(objects, text, 'XRef'));
  if (trailer) {
    // Object streams may be encrypted: their members are added once the trailer's /Encrypt is known.
    const file = new PdfFile(reader, { entries, trailer }, true);
    await applyEncryption(file);
    await addObjectStreamMembers(file, objectStreams);
    return file;
  }
  await addObjectStreamMembers(plain, objectStreams);
  const catalog = await catalogTrailer(plain, containing(objects, text, 'Catalog'));
  if (!catalog) throw new ProbeError('corrupt_file', 'no trailer or document catalog found');
  return new PdfFile(reader, { entries, trailer: catalog }, true);
}

function findObjects(text: string): FoundObject[] {
  const found: FoundObject[] = [];
  for (const match of text.matchAll(OBJECT_HEADER)) {
    found.push({ offset: match.index, num: Number(match[1]), gen: Number(match[2]) });
  }
  return found;
}

/** The objects (last first) whose dictionary has /Type /`type`, as the nearest object header before each marker. */
function containing(objects: FoundObject[], text: string, type: string): FoundObject[] {
  const result: FoundObject[] = [];
  for (const match of text.matchAll(typeMarker(type))) {
    let lo = 0;
    let hi = objects.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (objects[mid]!.offset <= match.index) lo = mid;
      else hi = mid - 1;
    }
    const object = objects[lo]!;
    if (object.offset <= match.index && result.at(-1) !== object) result.push(object);
  }
  return result.reverse();
}

function trailerCandidates(text: string): number[] {
  return [...text.matchAll(TRAILER)].map((match) => match.index + match[0].length - 2).reverse();
}

async function addObjectStreamMembers(file: PdfFile, streams: FoundObject[]): Promise<void> {
  for (const stream of streams) {
    const members = await file.objectStreamMembers(stream.num).catch(() => []);
    for (const [index, num] of members.entries()) {
      if (!file.xref.entries.has(num)) file.xref.entries.set(num, { kind: 'compressed', stream: stream.num, index });
    }
  }
}

/**
 * The newest trailer (a `trailer` dictionary or a cross-reference stream's) whose /Root is a
 * dictionary (direct, or an object found; or one not found as a plain object, since it may
 * sit in an object stream).
 */
async function chooseTrailer(file: PdfFile, trailerOffsets: number[], xrefStreams: FoundObject[]): Promise<PdfDict | undefined> {
  const candidates: Array<{ offset: number; dict: () => Promise<PdfDict | undefined> }> = [
    ...trailerOffsets.map((offset) => ({ offset, dict: () => parseDictAt(file.reader, offset) })),
    ...xrefStreams.map((object) => ({ offset: object.offset, dict: () => streamDictAt(file.reader, object.offset) })),
  ].sort((a, b) => b.offset - a.offset);
  for (const candidate of candidates) {
    const dict = await candidate.dict().catch(() => undefined);
    const root = dict?.get('Root');
    if (root instanceof PdfDict) return dict;
    if (!dict || !(root instanceof PdfRef)) continue;
    if (!file.xref.entries.has(root.num) || (await file.resolve(root).catch(() => undefined)) instanceof PdfDict) return dict;
  }
  return undefined;
}

/** A trailer dictionary; one cut off by the end of the file is not taken (poppler does not take it). */
async function parseDictAt(reader: RangeReader, offset: number): Promise<PdfDict | undefined> {
  const parse = (parser: Parser): PdfValue | undefined => {
    const dict = parser.parseValue();
    return parser.truncated ? undefined : dict;
  };
  const value = await parseAt(reader, offset, parse, true);
  return value instanceof PdfDict ? value : undefined;
}

async function streamDictAt(reader: RangeReader, offset: number): Promise<PdfDict | undefined> {
  const { value } = await readIndirectObject(reader, offset, true);
  return value instanceof PdfStream ? value.dict : undefined;
}

/** No usable trailer: the last catalog object with a page tree stands in for one. */
async function catalogTrailer(file: PdfFile, catalogs: FoundObject[]): Promise<PdfDict | undefined> {
  for (const object of catalogs) {
    const ref = new PdfRef(object.num, object.gen);
    const catalog = await file.resolve(ref).catch(() => undefined);
    if (catalog instanceof PdfDict && catalog.has('Pages')) return new PdfDict(new Map([['Root', ref]]));
  }
  return undefined;
}
