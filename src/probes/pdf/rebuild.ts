import { ProbeError } from '../../errors.js';
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

interface FoundObject {
  offset: number;
  num: number;
  gen: number;
}

/**
 * Rebuilds the cross-reference data of a damaged file from its bytes, the way poppler does:
 * every `num gen obj` found (the last of equal generations wins) and the last `trailer`
 * dictionary with a /Root. Objects inside object streams stay out of reach, as they do for
 * poppler and qpdf; without a trailer both give up, and so does this.
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
  const trailer = await lastTrailer(reader, text);
  if (!trailer) throw new ProbeError('corrupt_file', 'damaged file without a trailer dictionary');
  return new PdfFile(reader, { entries, trailer }, true);
}

function findObjects(text: string): FoundObject[] {
  const found: FoundObject[] = [];
  for (const match of text.matchAll(OBJECT_HEADER)) {
    found.push({ offset: match.index, num: Number(match[1]), gen: Number(match[2]) });
  }
  return found;
}

/**
 * The last `trailer` dictionary whose /Root is a reference, as poppler takes it (or a direct
 * dictionary, which qpdf takes). Cross-reference streams are not trailers here: poppler and
 * qpdf cannot rebuild from them either.
 */
async function lastTrailer(reader: RangeReader, text: string): Promise<PdfDict | undefined> {
  const offsets = [...text.matchAll(TRAILER)].map((match) => match.index + match[0].length - 2);
  for (const offset of offsets.reverse()) {
    const dict = await parseDictAt(reader, offset).catch(() => undefined);
    const root = dict?.get('Root');
    if (root instanceof PdfRef || root instanceof PdfDict) return dict;
  }
  return undefined;
}

/** A trailer dictionary, read as poppler reads it (leniently; the end of the file closes it). */
async function parseDictAt(reader: RangeReader, offset: number): Promise<PdfDict | undefined> {
  const value = await parseAt(reader, offset, (parser) => parser.parseValue(), true);
  return value instanceof PdfDict ? value : undefined;
}

