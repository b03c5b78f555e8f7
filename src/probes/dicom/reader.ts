/**
 * The data set walk, as pydicom 3's filereader does it (`read_partial`, `read_dataset`,
 * `data_element_generator`, `read_sequence`): same transfer-syntax guessing, same per-element
 * switch to implicit VR, same lookahead for undefined-length sequences. Values are not decoded
 * here: elements keep the offset of their value, and only the values the caller asks for are
 * ever read (the walk itself reads element headers only).
 *
 * Sequences of undefined length are parsed while walking (pydicom does too); sequences of
 * defined length are parsed only when their value is decoded (`readSequenceValue`), with
 * pydicom's lenient rules inside them.
 */
import { convertEncodings, decodeDefault, DEFAULT_ENCODING } from './charset.js';
import type { ByteWindow, Region } from './window.js';
import { dictionaryVr } from './vr-dictionary.js';

export const UNDEFINED_LENGTH = 0xffffffff;
const ITEM = 0xfffee000;
const ITEM_DELIMITER = 0xfffee00d;
const SEQUENCE_DELIMITER = 0xfffee0dd;
const TAG_SPECIFIC_CHARACTER_SET = 0x00080005;
const TAG_TRANSFER_SYNTAX = 0x00020010;
/** pydicom's `_at_pixel_data`: stop_before_pixels stops at any of these, top level only. */
const PIXEL_DATA_TAGS: ReadonlySet<number> = new Set([0x7fe00010, 0x7fe00008, 0x7fe00009]);

export const STANDARD_VRS: ReadonlySet<string> = new Set(
  'AE AS AT CS DA DS DT FD FL IS LO LT OB OD OF OL OV OW PN SH SL SQ SS ST SV TM UC UI UL UN UR US UT UV'.split(' '),
);
/** The standard VRs by their two bytes, so a header's VR is looked up without building a string. */
const VR_NAMES: ReadonlyMap<number, string> = new Map([...STANDARD_VRS].map((vr) => [(vr.charCodeAt(0) << 8) | vr.charCodeAt(1), vr]));
/** VRs whose values pydicom keeps as text (str). */
const TEXT_VRS: ReadonlySet<string> = new Set('AE AS CS DA DT LO LT SH ST TM UC UI UR UT'.split(' '));
/** Explicit VRs with a reserved field and a 4-byte length. */
export const LONG_LENGTH_VRS: ReadonlySet<string> = new Set('OB OD OF OL OV OW SQ SV UC UN UR UT UV'.split(' '));

/** The file or its data set is broken: no metadata can be trusted. */
export class DataSetError extends Error {
  constructor(
    readonly code: 'truncated' | 'corrupt_file',
    message: string,
  ) {
    super(message);
  }
}

/** One element cannot be decoded (pydicom raises when converting or serialising it). */
export class ElementError extends Error {}

export interface RawElement {
  tag: number;
  /** VR as written (explicit), as looked up for an undefined-length value, or null (implicit). */
  vr: string | null;
  /** Length as declared; UNDEFINED_LENGTH for undefined. */
  length: number;
  valueOffset: number;
  /** Value bytes present: the declared length, less what lies past the end of the container. */
  available: number;
  /** The encoding of the data set the element was read in (pydicom's raw.is_implicit_VR). */
  implicit: boolean;
  littleEndian: boolean;
  /** Items of an undefined-length sequence, parsed during the walk. */
  items?: Dataset[];
}

export class Dataset {
  readonly elements = new Map<number, RawElement>();
  /** Python codec names for text VRs: the data set's own (0008,0005) or its parent's. */
  encodings: string[] = [DEFAULT_ENCODING];
  /** pydicom's `_pixel_rep`, propagated from the parent when a sequence is decoded. */
  pixelRep?: unknown;
  /** Elements decoded so far (pydicom converts each element once and keeps the result). */
  decoded?: Map<number, unknown>;

  constructor(
    /** pydicom's original_encoding[0]: the encoding detected for an item, the transfer syntax's for the file. */
    public implicit: boolean,
    readonly littleEndian: boolean,
  ) {}
}

export interface StopPoint {
  tag: number;
  vr: string | null;
  length: number;
  headerOffset: number;
  valueOffset: number;
}

export interface ParsedFile {
  hasPreamble: boolean;
  meta: Dataset;
  transferSyntax?: string;
  dataset: Dataset;
  /** Where the walk stopped before pixel data, if it did. */
  pixelData?: StopPoint;
  /** The window the data set lives in (a decompressed one for deflated transfer syntax). */
  window: ByteWindow;
}

type StopWhen = (tag: number) => boolean;

interface ElementHeader {
  tag: number;
  vr: string | null;
  length: number;
  headerLength: number;
}

interface DatasetOptions {
  implicit: boolean;
  littleEndian: boolean;
  /** Bytes the data set spans; undefined: until an item delimiter or the end of the container. */
  byteLength?: number;
  stopWhen?: StopWhen;
  isSequence: boolean;
  parentEncodings: string[];
}

/** pydicom's lexicographic `b"AA" <= vr <= b"ZZ"` test for a plausible unknown VR. */
function looksLikeVr(a: number, b: number): boolean {
  const atLeastAA = a > 0x41 || (a === 0x41 && b >= 0x41);
  const atMostZZ = a < 0x5a || (a === 0x5a && b <= 0x5a);
  return atLeastAA && atMostZZ;
}

function u16(bytes: Uint8Array, at: number, littleEndian: boolean): number {
  return littleEndian ? bytes[at]! | (bytes[at + 1]! << 8) : (bytes[at]! << 8) | bytes[at + 1]!;
}

function u32(bytes: Uint8Array, at: number, littleEndian: boolean): number {
  return littleEndian
    ? (bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16) | (bytes[at + 3]! << 24)) >>> 0
    : ((bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!) >>> 0;
}

function tagAt(bytes: Uint8Array, at: number, littleEndian: boolean): number {
  return ((u16(bytes, at, littleEndian) << 16) | u16(bytes, at + 2, littleEndian)) >>> 0;
}

/**
 * Walks data sets within one container: the file (`limit` Infinity; running out of bytes is
 * truncation) or the value of a defined-length sequence (`lazy`; pydicom reads what is there).
 */
export class Walker {
  /** The region last read from: element headers are read from it in place, without copies. */
  private region: Region = { start: 0, bytes: new Uint8Array(0) };

  constructor(
    private readonly window: ByteWindow,
    private readonly limit: number,
    private readonly lazy: boolean,
  ) {}

  /** Up to `length` bytes at `offset` within the container. */
  read(offset: number, length: number): Uint8Array {
    const wanted = Math.min(length, this.limit - offset);
    return wanted > 0 ? this.window.slice(offset, wanted) : new Uint8Array(0);
  }

  /**
   * Makes up to `length` bytes at `offset` (within the container) addressable in
   * `this.region`; returns how many there are.
   */
  private load(offset: number, length: number): number {
    const wanted = Math.min(length, this.limit - offset);
    if (wanted <= 0) return 0;
    const at = offset - this.region.start;
    if (at < 0 || at + wanted > this.region.bytes.length) this.region = this.window.region(offset, wanted);
    return Math.max(0, Math.min(wanted, this.region.start + this.region.bytes.length - offset));
  }

  /** Where pydicom raises on a short read: a broken element in a sequence value, else a broken file. */
  private shortRead(what: string, offset: number): never {
    if (this.lazy) throw new ElementError(`${what} at ${offset} runs past the end of its sequence`);
    const end = this.window.end ?? Infinity;
    if (offset >= end) throw new DataSetError('truncated', `the file ends ${offset - end} bytes before ${what} that should start at byte ${offset}`);
    throw new DataSetError('truncated', `the file ends inside ${what} at byte ${offset}`);
  }

  /** Where pydicom stops silently at the end of the data: the file must end exactly there. */
  private endOfData(offset: number, got: Uint8Array, topLevel: boolean): void {
    if (this.lazy) return;
    const end = this.window.end ?? Infinity;
    if (offset > end) throw new DataSetError('truncated', `an element value runs ${offset - end} bytes past the end of the file`);
    if (!topLevel) this.shortRead('a sequence item', offset);
    if (got.some((byte) => byte !== 0)) this.shortRead('an element header', offset);
  }

  /** pydicom's `_is_implicit_vr`: the first element's VR bytes decide. */
  private isImplicit(offset: number, assumed: boolean, littleEndian: boolean, stopWhen: StopWhen | undefined, isSequence: boolean): boolean {
    if (isSequence && assumed) return true;
    if (this.load(offset, 6) < 6) return assumed;
    const bytes = this.region.bytes;
    const at = offset - this.region.start;
    const found = !(bytes[at + 4]! > 0x40 && bytes[at + 4]! < 0x5b && bytes[at + 5]! > 0x40 && bytes[at + 5]! < 0x5b);
    if (found !== assumed) {
      if (stopWhen?.(tagAt(bytes, at, littleEndian))) return found;
      if (found && isSequence) return true;
    }
    return found;
  }

  /**
   * One element header as `data_element_generator` reads it, or undefined at the end of the
   * data. An explicit VR that is not two capital letters means the writer switched to implicit
   * VR for this element (pydicom issues 1067, 1035); unknown capital letters keep a 2-byte length.
   */
  private readHeader(offset: number, implicit: boolean, littleEndian: boolean, topLevel: boolean): ElementHeader | undefined {
    if (this.load(offset, 8) < 8) {
      this.endOfData(offset, this.read(offset, 8), topLevel);
      return undefined;
    }
    const bytes = this.region.bytes;
    const at = offset - this.region.start;
    const tag = tagAt(bytes, at, littleEndian);
    if (implicit) return { tag, vr: null, length: u32(bytes, at + 4, littleEndian), headerLength: 8 };
    const vr = VR_NAMES.get((bytes[at + 4]! << 8) | bytes[at + 5]!);
    if (vr === undefined) {
      if (!looksLikeVr(bytes[at + 4]!, bytes[at + 5]!)) return { tag, vr: null, length: u32(bytes, at + 4, littleEndian), headerLength: 8 };
      return { tag, vr: String.fromCharCode(bytes[at + 4]!, bytes[at + 5]!), length: u16(bytes, at + 6, littleEndian), headerLength: 8 };
    }
    if (!LONG_LENGTH_VRS.has(vr)) return { tag, vr, length: u16(bytes, at + 6, littleEndian), headerLength: 8 };
    if (this.load(offset + 8, 4) < 4) this.shortRead('an element header', offset);
    return { tag, vr, length: u32(this.region.bytes, offset + 8 - this.region.start, littleEndian), headerLength: 12 };
  }

  /** pydicom's `read_dataset` + `data_element_generator`. Returns the data set and where it ended. */
  readDataset(start: number, options: DatasetOptions): { dataset: Dataset; end: number; stop?: StopPoint } {
    const implicit = this.isImplicit(start, options.implicit, options.littleEndian, options.stopWhen, options.isSequence);
    const littleEndian = options.littleEndian;
    const dataset = new Dataset(implicit, littleEndian);
    const topLevel = !options.isSequence && options.byteLength === undefined;
    let encodings = options.parentEncodings;
    let offset = start;
    let stop: StopPoint | undefined;
    while (options.byteLength === undefined || offset - start < options.byteLength) {
      const header = this.readHeader(offset, implicit, littleEndian, topLevel);
      if (!header) {
        offset = Math.min(offset + 8, this.limit, this.window.end ?? Infinity); // the partial header was consumed
        break;
      }
      const { tag, vr, length } = header;
      const valueOffset = offset + header.headerLength;
      if (tag === ITEM_DELIMITER) {
        offset += 8;
        break;
      }
      if (options.stopWhen?.(tag)) {
        stop = { tag, vr, length, headerOffset: offset, valueOffset };
        break;
      }
      if (length === UNDEFINED_LENGTH) {
        const walked = this.readUndefinedLength(tag, vr, valueOffset, implicit, littleEndian, encodings);
        dataset.elements.set(tag, walked.element);
        offset = walked.end;
        continue;
      }
      const available = Math.max(0, Math.min(length, this.limit - valueOffset));
      const raw: RawElement = { tag, vr, length, valueOffset, available, implicit, littleEndian };
      if (tag === TAG_SPECIFIC_CHARACTER_SET) encodings = this.encodingsOf(raw);
      dataset.elements.set(tag, raw);
      offset = Math.min(valueOffset + length, this.lazy ? this.limit : Infinity);
    }
    const charset = dataset.elements.get(TAG_SPECIFIC_CHARACTER_SET);
    if (charset) this.checkCharsetVr(charset);
    dataset.encodings = charset ? this.encodingsOf(charset) : options.parentEncodings;
    return { dataset, end: offset, stop };
  }

  /** pydicom converts (0008,0005) right after reading a data set; a value that is not text fails it. */
  private checkCharsetVr(raw: RawElement): void {
    const vr = raw.vr === null || raw.vr === 'UN' ? 'CS' : raw.vr;
    if (raw.length === 0 || TEXT_VRS.has(vr)) return;
    const message = `Specific Character Set (0008,0005) has VR ${vr}`;
    if (this.lazy) throw new ElementError(message);
    throw new DataSetError('corrupt_file', message);
  }

  /** (0008,0005) as pydicom reads it: a CS value, Latin-1, trailing spaces and NULs dropped. */
  private encodingsOf(raw: RawElement): string[] {
    const text = decodeDefault(this.read(raw.valueOffset, raw.available)).replace(/[ \0]+$/, '');
    try {
      return convertEncodings(text === '' ? [] : text.split('\\'));
    } catch (error) {
      if (this.lazy) throw new ElementError((error as Error).message);
      throw new DataSetError('corrupt_file', (error as Error).message);
    }
  }

  private readUndefinedLength(
    tag: number,
    writtenVr: string | null,
    valueOffset: number,
    implicit: boolean,
    littleEndian: boolean,
    encodings: string[],
  ): { element: RawElement; end: number } {
    let vr = writtenVr === 'UN' ? 'SQ' : writtenVr;
    if (vr === null) {
      vr = dictionaryVr(tag) ?? null;
      if (vr === null) {
        const next = this.read(valueOffset, 4);
        if (next.length < 4) this.shortRead('an undefined-length element', valueOffset);
        if (tagAt(next, 0, littleEndian) === ITEM) vr = 'SQ';
      }
    }
    const element: RawElement = { tag, vr, length: UNDEFINED_LENGTH, valueOffset, available: 0, implicit, littleEndian };
    if (vr === 'SQ') {
      const { items, end } = this.readSequence(valueOffset, implicit, littleEndian, UNDEFINED_LENGTH, encodings);
      element.available = end - valueOffset;
      element.items = items;
      return { element, end };
    }
    const delimiter = this.findSequenceDelimiter(valueOffset, littleEndian);
    element.available = delimiter - valueOffset;
    return { element, end: delimiter + 8 };
  }

  /** pydicom's `read_undefined_length_value`: walk items as encapsulated data, else scan for the delimiter. */
  private findSequenceDelimiter(start: number, littleEndian: boolean): number {
    let offset = start;
    for (;;) {
      const header = this.read(offset, 8);
      if (header.length < 4) break;
      const tag = tagAt(header, 0, littleEndian);
      if (tag === SEQUENCE_DELIMITER) return offset;
      if (tag !== ITEM || header.length < 8) break;
      offset += 8 + u32(header, 4, littleEndian);
    }
    const pattern = littleEndian ? [0xfe, 0xff, 0xdd, 0xe0] : [0xff, 0xfe, 0xe0, 0xdd];
    const chunk = 64 * 1024;
    for (let offset = start; ; offset += chunk - 3) {
      const bytes = this.read(offset, chunk);
      for (let i = 0; i + 4 <= bytes.length; i++) {
        if (bytes[i] === pattern[0] && bytes[i + 1] === pattern[1] && bytes[i + 2] === pattern[2] && bytes[i + 3] === pattern[3]) {
          return offset + i;
        }
      }
      if (bytes.length < chunk) {
        if (this.lazy) throw new ElementError('an undefined-length value has no sequence delimiter');
        throw new DataSetError('truncated', `the file ends before the delimiter of the undefined-length value at byte ${start}`);
      }
    }
  }

  /** pydicom's `read_sequence` + `read_sequence_item`. */
  readSequence(start: number, implicit: boolean, littleEndian: boolean, byteLength: number, encodings: string[]): { items: Dataset[]; end: number } {
    const items: Dataset[] = [];
    let offset = start;
    if (byteLength === 0) return { items, end: offset };
    const undefinedLength = byteLength === UNDEFINED_LENGTH;
    while (undefinedLength || offset - start < byteLength) {
      if (this.load(offset, 8) < 8) this.shortRead('a sequence item header', offset);
      const tag = tagAt(this.region.bytes, offset - this.region.start, littleEndian);
      const length = u32(this.region.bytes, offset - this.region.start + 4, littleEndian);
      offset += 8;
      if (tag === SEQUENCE_DELIMITER) break;
      const { dataset, end } = this.readDataset(offset, {
        implicit,
        littleEndian,
        byteLength: length === UNDEFINED_LENGTH ? undefined : length,
        isSequence: true,
        parentEncodings: encodings,
      });
      items.push(dataset);
      offset = end;
    }
    return { items, end: offset };
  }
}

/** A sequence value of defined length, parsed as pydicom's `convert_SQ` does (its own stream). */
export function readSequenceValue(window: ByteWindow, raw: RawElement, encodings: string[]): Dataset[] {
  const walker = new Walker(window, raw.valueOffset + raw.available, true);
  return walker.readSequence(raw.valueOffset, raw.implicit, raw.littleEndian, raw.available, encodings).items;
}

const IMPLICIT_LE = '1.2.840.10008.1.2';
const EXPLICIT_BE = '1.2.840.10008.1.2.2';
const DEFLATED_LE = '1.2.840.10008.1.2.1.99';

export interface ReadFileOptions {
  /** Decompresses the deflated data set that starts at `offset` (raw deflate to the end of the file). */
  inflate(offset: number): ByteWindow;
  /** Throws when bytes without a DICM prefix do not start like a data set. */
  checkStart(window: ByteWindow): void;
}

/** pydicom's `dcmread(force=True, stop_before_pixels=True)` up to the data set walk. */
export function readFile(window: ByteWindow, options: ReadFileOptions): ParsedFile {
  const walker = new Walker(window, Infinity, false);
  const prefix = window.slice(128, 4);
  const hasPreamble = prefix.length === 4 && decodeDefault(prefix) === 'DICM';
  if (!hasPreamble) options.checkStart(window);
  let offset = hasPreamble ? 132 : 0;
  const notGroup = (group: number): StopWhen => (tag) => tag >>> 16 !== group;
  const topLevel = (implicit: boolean, stopWhen: StopWhen): DatasetOptions => ({
    implicit, littleEndian: true, stopWhen, isSequence: false, parentEncodings: [DEFAULT_ENCODING],
  });

  let meta = walker.readDataset(offset, topLevel(false, notGroup(2)));
  const firstMeta = meta.dataset.elements.values().next().value;
  if (firstMeta && firstMeta.vr !== null && !STANDARD_VRS.has(firstMeta.vr)) {
    meta = walker.readDataset(offset, topLevel(true, notGroup(2))); // pydicom issue #503
  }
  offset = meta.end;
  const commandSet = walker.readDataset(offset, topLevel(true, notGroup(0)));
  offset = commandSet.end;

  const transferSyntax = transferSyntaxOf(walker, meta.dataset);
  let implicit = true;
  let littleEndian = true;
  let dataWindow = window;
  let dataWalker = walker;
  const atEnd = walker.read(offset, 1).length === 0;
  if (atEnd) {
    // an empty data set
  } else if (transferSyntax === undefined) {
    const peek = walker.read(offset, 6);
    if (peek.length < 6) throw new DataSetError('truncated', 'the data set ends inside its first element header');
    if (STANDARD_VRS.has(String.fromCharCode(peek[4]!, peek[5]!))) {
      implicit = false;
      littleEndian = u16(peek, 0, true) < 1024; // a big-endian group 0x0008 reads as 0x0800
    }
  } else if (transferSyntax === IMPLICIT_LE) {
    // the default
  } else if (transferSyntax === EXPLICIT_BE) {
    implicit = false;
    littleEndian = false;
  } else if (transferSyntax === DEFLATED_LE) {
    dataWindow = options.inflate(offset);
    dataWalker = new Walker(dataWindow, Infinity, false);
    offset = 0;
    implicit = false;
  } else {
    implicit = false; // explicit VR little endian, and every encapsulated syntax
  }
  const data = dataWalker.readDataset(offset, {
    implicit, littleEndian, stopWhen: (tag) => PIXEL_DATA_TAGS.has(tag), isSequence: false, parentEncodings: [DEFAULT_ENCODING],
  });
  for (const [tag, raw] of commandSet.dataset.elements) data.dataset.elements.set(tag, raw); // Dataset.update()
  data.dataset.implicit = implicit;
  return { hasPreamble, meta: meta.dataset, transferSyntax, dataset: data.dataset, pixelData: data.stop, window: dataWindow };
}

/** (0002,0010) as pydicom reads it (a UI value), or undefined when the meta has none. */
function transferSyntaxOf(walker: Walker, meta: Dataset): string | undefined {
  const raw = meta.elements.get(TAG_TRANSFER_SYNTAX);
  if (!raw) return undefined;
  // A value pydicom keeps as bytes or numbers matches no transfer syntax: explicit VR little endian.
  if (raw.vr !== null && raw.vr !== 'UN' && !TEXT_VRS.has(raw.vr)) return '';
  return decodeDefault(walker.read(raw.valueOffset, raw.available)).replace(/[\0 ]+$/, '');
}

