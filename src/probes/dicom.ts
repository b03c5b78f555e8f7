/**
 * DICOM: the 22 elements Encord requires, each as pydicom 3's `Dataset.to_json_dict()` writes it
 * after `dcmread(force=True, stop_before_pixels=True)`. The file is read in growing prefixes and
 * values the output does not need are skipped, so only the header up to Pixel Data is fetched.
 */
import { constants, inflateRawSync } from 'node:zlib';
import { LimitError, ProbeError, SourceError } from '../errors.js';
import { REQUIRED_DICOM_TAGS } from '../schema/dicom.js';
import type { DicomJsonElement } from '../schema/metadata.js';
import type { ByteSource } from '../sources/source.js';
import { hasDicmPrefix, isDicom, startsLikeDataSet, startsMidElement } from './dicom/detect.js';
import { JsonDecoder } from './dicom/json.js';
import { DataSetError, ElementError, readFile, UNDEFINED_LENGTH, type ParsedFile } from './dicom/reader.js';
import { FetchedWindow, MemoryWindow, NeedBytes, type ByteWindow } from './dicom/window.js';
import type { Probe, ProbeWarning } from './types.js';

export { isDicom, hasDicmPrefix };

/** The required tags with their numbers, in the SDK's order. */
const REQUIRED = REQUIRED_DICOM_TAGS.map(({ tag, keyword }) => ({ hex: tag, keyword, tag: parseInt(tag, 16) }));

const FIRST_READ = 64 * 1024;
/** A value shorter than this is fetched along with the header around it rather than skipped. */
const SKIP_GAP = 64 * 1024;
const MAX_ROUNDS = 10_000;

interface Decoded {
  parsed: ParsedFile;
  tags: Record<string, DicomJsonElement | null>;
  warnings: ProbeWarning[];
}

export const probeDicom: Probe<'dicom'> = async (source) => {
  const window = new FetchedWindow();
  const inflated = new Map<number, ByteWindow>();
  let decoded: Decoded | undefined;
  for (let round = 0; !decoded; round++) {
    try {
      decoded = decodeDicom(window, inflated);
    } catch (error) {
      if (!(error instanceof NeedBytes)) throw asProbeError(error);
      if (round >= MAX_ROUNDS) throw new LimitError('limit_exceeded', `${source.name}: the DICOM header needs too many separate reads`);
      await fetchFor(source, window, error);
    }
  }
  const { parsed, tags, warnings } = decoded;
  await checkPixelData(source, window, parsed);
  const uid = (tag: string): string | null => {
    const value = tags[tag]?.Value?.[0];
    return typeof value === 'string' ? value : null;
  };
  return {
    metadata: { tags },
    warnings,
    details: {
      studyInstanceUid: uid('0020000D'),
      seriesInstanceUid: uid('0020000E'),
      sopInstanceUid: uid('00080018'),
      transferSyntaxUid: parsed.transferSyntax ?? null,
      hasPreamble: parsed.hasPreamble,
      pixelDataOffset: parsed.window === window ? (parsed.pixelData?.headerOffset ?? null) : null,
    },
  };
};

/** One synchronous pass over the bytes fetched so far; throws NeedBytes for more. */
function decodeDicom(window: FetchedWindow, inflated: Map<number, ByteWindow>): Decoded {
  if (window.slice(0, 1).length === 0) throw new ProbeError('empty_file', 'the file is empty');
  const parsed = readFile(window, {
    checkStart: checkDataSetStart,
    inflate: (offset) => {
      if (!inflated.has(offset)) inflated.set(offset, inflate(window.slice(offset, Infinity)));
      return inflated.get(offset)!;
    },
  });
  checkFileMeta(parsed, new JsonDecoder(window));
  const decoder = new JsonDecoder(parsed.window);
  const tags: Record<string, DicomJsonElement | null> = {};
  const warnings: ProbeWarning[] = [];
  for (const { hex, keyword, tag } of REQUIRED) {
    tags[hex] = null;
    if (!parsed.dataset.elements.has(tag)) continue;
    try {
      tags[hex] = decoder.elementJson(parsed.dataset, tag);
    } catch (error) {
      if (!(error instanceof ElementError)) throw error;
      warnings.push({ code: 'invalid_value', message: `${keyword} (${hex.slice(0, 4)},${hex.slice(4)}) cannot be read: ${error.message}` });
    }
  }
  if (decoder.notes.lossy) {
    warnings.push({ code: 'charset', message: 'some text did not decode in its Specific Character Set; replacement characters were used, as pydicom does' });
  }
  return { parsed, tags, warnings };
}

/** pydicom converts the first file meta element, the group length and the transfer syntax: they must decode. */
function checkFileMeta(parsed: ParsedFile, decoder: JsonDecoder): void {
  const first = parsed.meta.elements.keys().next().value;
  for (const tag of new Set([first, 0x00020000, 0x00020010])) {
    if (tag === undefined || !parsed.meta.elements.has(tag)) continue;
    try {
      decoder.elementJson(parsed.meta, tag);
    } catch (error) {
      if (!(error instanceof ElementError)) throw error;
      throw new ProbeError('corrupt_file', `the file meta information cannot be read: ${error.message}`);
    }
  }
}

/** Without a DICM prefix the bytes must start a data set, as pydicom's force=True assumes. */
function checkDataSetStart(window: ByteWindow): void {
  const head = window.slice(0, 4096);
  if (startsLikeDataSet(head)) return;
  if (startsMidElement(head)) throw new ProbeError('corrupt_file', 'no DICM prefix, and the data set starts in the middle of an element');
  throw new ProbeError('unsupported_format', 'not DICOM: no DICM prefix at byte 128 and no data set at byte 0');
}

/** The deflated data set (transfer syntax 1.2.840.10008.1.2.1.99), whole: pydicom inflates it all. */
function inflate(compressed: Uint8Array): ByteWindow {
  try {
    return new MemoryWindow(inflateRawSync(compressed));
  } catch (error) {
    const truncated = /unexpected end/i.test((error as Error).message);
    if (!truncated) throw new ProbeError('corrupt_file', `the deflated data set does not inflate: ${(error as Error).message}`);
    const partial = inflateRawSync(compressed, { finishFlush: constants.Z_SYNC_FLUSH });
    throw new ProbeError('truncated', `the deflated data set ends early (${partial.byteLength} bytes inflate)`);
  }
}

/** Fetches what a pass asked for: grows the region it follows, or starts one past a skipped value. */
async function fetchFor(source: ByteSource, window: FetchedWindow, need: NeedBytes): Promise<void> {
  const region = window.regionNear(need.offset, SKIP_GAP);
  const from = region ? region.end : need.offset;
  if (need.length === Infinity) {
    for (let chunk = Math.max(FIRST_READ, from); window.end === undefined; chunk *= 2) {
      await readInto(source, window, window.regionNear(need.offset, 0)?.end ?? need.offset, chunk);
    }
    return;
  }
  const grown = region ? Math.max(region.end - region.start, FIRST_READ) : FIRST_READ;
  await readInto(source, window, from, Math.max(need.offset + need.length - from, grown));
}

/** A read that comes back short has reached the end of the file; one past the end tells only that. */
async function readInto(source: ByteSource, window: FetchedWindow, offset: number, length: number): Promise<void> {
  const bytes = await source.read(offset, length);
  window.add(offset, bytes);
  if (bytes.byteLength < length) window.end = bytes.byteLength > 0 ? offset + bytes.byteLength : await source.size();
}

/** SPEC: Pixel Data that runs past the end of the file is truncation (its bytes are never read). */
async function checkPixelData(source: ByteSource, window: FetchedWindow, parsed: ParsedFile): Promise<void> {
  const pixels = parsed.pixelData;
  if (!pixels) return;
  const deflated = parsed.window !== window;
  const total = deflated ? parsed.window.end! : await source.size();
  const name = `Pixel Data (${pixels.tag.toString(16).toUpperCase().replace(/^(.{4})/, '$1,')})`;
  if (pixels.length !== UNDEFINED_LENGTH) {
    const end = pixels.valueOffset + pixels.length;
    if (end > total) {
      throw new ProbeError('truncated', `${name} declares ${pixels.length} bytes, the file holds ${Math.max(0, total - pixels.valueOffset)}`);
    }
    return;
  }
  const read = async (offset: number, length: number): Promise<Uint8Array> => {
    if (deflated) return parsed.window.slice(offset, length);
    try {
      return window.slice(offset, length);
    } catch (error) {
      if (!(error instanceof NeedBytes)) throw error;
      return source.read(offset, length);
    }
  };
  try {
    await checkEncapsulated(read, pixels.valueOffset, total, parsed.dataset.littleEndian, name);
  } catch (error) {
    // A forward-only stream cannot go back once drained to size it: the check is skipped.
    if (!(error instanceof SourceError)) throw error;
  }
}

/** Encapsulated frames: items up to a sequence delimiter, all within the file. */
async function checkEncapsulated(
  read: (offset: number, length: number) => Promise<Uint8Array>,
  start: number,
  total: number,
  littleEndian: boolean,
  name: string,
): Promise<void> {
  const delimiter = littleEndian ? [0xfe, 0xff, 0xdd, 0xe0, 0, 0, 0, 0] : [0xff, 0xfe, 0xe0, 0xdd, 0, 0, 0, 0];
  if (total >= start + 8) {
    const last = await read(total - 8, 8);
    if (last.length === 8 && last.every((byte, i) => byte === delimiter[i])) return;
  }
  let offset = start;
  for (;;) {
    const header = await read(offset, 8);
    if (header.length < 8) throw new ProbeError('truncated', `${name} fragments run past the end of the file (byte ${total})`);
    const view = new DataView(header.buffer, header.byteOffset, 8);
    const tag = ((view.getUint16(0, littleEndian) << 16) | view.getUint16(2, littleEndian)) >>> 0;
    if (tag === 0xfffee0dd) return;
    if (tag !== 0xfffee000) return; // not encapsulated after all: nothing more to check
    offset += 8 + view.getUint32(4, littleEndian);
  }
}

function asProbeError(error: unknown): ProbeError {
  if (error instanceof ProbeError) return error;
  if (error instanceof DataSetError) return new ProbeError(error.code, error.message);
  const message = error instanceof Error ? error.message : String(error);
  return new ProbeError('corrupt_file', `the DICOM data set cannot be read: ${message}`, { cause: error });
}
