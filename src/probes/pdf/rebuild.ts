import { ProbeError } from '../../errors.js';
import { applyEncryption } from './document.js';
import { parseAt, PdfFile, type XrefEntry } from './objects.js';
import type { RangeReader } from './range.js';
import { PdfDict, PdfRef } from './syntax.js';

const WS = '[\\0\\t\\n\\f\\r ]';
/**
 * poppler's and qpdf's reconstruction read the file line by line: `num gen obj` and `trailer`
 * count where a line starts (after blanks), or, for poppler, right after an `endobj`.
 */
const LINE_START = '(?:^|[\\r\\n]|endobj)[\\0\\t\\f ]*';
const OBJECT_HEADER = new RegExp(`(?<=${LINE_START})([1-9]\\d{0,9})${WS}+(\\d{1,5})${WS}+obj(?![0-9A-Za-z])`, 'g');
const TRAILER = new RegExp(`(?<=${LINE_START})trailer${WS}*<<`, 'g');
const typeMarker = (type: string): RegExp => new RegExp(`/Type${WS}*/${type}(?![0-9A-Za-z])`, 'g');

interface FoundObject {
  offset: number;
  num: number;
  gen: number;
}

/**
 * Rebuilds the cross-reference data of a damaged file from its bytes, the way poppler and
 * qpdf do: every `num gen obj` found (the last of equal generations wins), the members of
 * every object stream found, and for the trailer the last `trailer` dictionary whose /Root is
 * a dictionary. Without one both give up, and so does this.
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
  const trailer = await chooseTrailer(plain, trailerCandidates(text));
  if (!trailer) throw new ProbeError('corrupt_file', 'damaged file without a trailer dictionary');
  // Object streams may be encrypted: their members are added once the trailer's /Encrypt is known.
  const file = new PdfFile(reader, { entries, trailer }, true);
  await applyEncryption(file);
  await addObjectStreamMembers(file, containing(objects, text, 'ObjStm'));
  return file;
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
 * The newest `trailer` dictionary whose /Root is a dictionary (direct, or an object found; or
 * one not found as a plain object, since it may sit in an object stream). Cross-reference
 * streams are not trailers here: poppler and qpdf cannot rebuild from them either.
 */
async function chooseTrailer(file: PdfFile, trailerOffsets: number[]): Promise<PdfDict | undefined> {
  for (const offset of trailerOffsets) {
    const dict = await parseDictAt(file.reader, offset).catch(() => undefined);
    const root = dict?.get('Root');
    if (root instanceof PdfDict) return dict;
    if (!dict || !(root instanceof PdfRef)) continue;
    if (!file.xref.entries.has(root.num) || (await file.resolve(root).catch(() => undefined)) instanceof PdfDict) return dict;
  }
  return undefined;
}

/** A trailer dictionary, read as poppler reads it (leniently; the end of the file closes it). */
async function parseDictAt(reader: RangeReader, offset: number): Promise<PdfDict | undefined> {
  const value = await parseAt(reader, offset, (parser) => parser.parseValue(), true);
  return value instanceof PdfDict ? value : undefined;
}

