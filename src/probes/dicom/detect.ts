/** Recognising DICOM bytes: a DICM prefix at 128, or a data set that starts right at byte 0. */
import { LONG_LENGTH_VRS, STANDARD_VRS } from './reader.js';
/**
 * A data set without preamble starts in a low even group: file meta (0002), identification
 * (0008), or, in stripped-down files, patient, acquisition, relationship or image (0010-0028).
 */
const LAST_FIRST_GROUP = 0x0028;
/** The first elements of those groups are short (lengths, UIDs, code strings). */
const MAX_FIRST_LENGTH = 1024;

export function hasDicmPrefix(prefix: Uint8Array): boolean {
  return prefix.length >= 132 && prefix[128] === 0x44 && prefix[129] === 0x49 && prefix[130] === 0x43 && prefix[131] === 0x4d;
}

/** True for a DICOM file: 'DICM' at 128, or a plausible data set start without preamble. */
export function isDicom(prefix: Uint8Array): boolean {
  return hasDicmPrefix(prefix) || startsLikeDataSet(prefix);
}

interface Header {
  tag: number;
  length: number;
  size: number;
}

function header(bytes: Uint8Array, at: number, littleEndian: boolean, explicit: boolean): Header | undefined {
  if (at + 8 > bytes.length) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const tag = ((view.getUint16(at, littleEndian) << 16) | view.getUint16(at + 2, littleEndian)) >>> 0;
  if (!explicit) return { tag, length: view.getUint32(at + 4, littleEndian), size: 8 };
  const vr = String.fromCharCode(bytes[at + 4]!, bytes[at + 5]!);
  if (!STANDARD_VRS.has(vr)) return undefined;
  if (!LONG_LENGTH_VRS.has(vr)) return { tag, length: view.getUint16(at + 6, littleEndian), size: 8 };
  if (at + 12 > bytes.length) return undefined;
  return { tag, length: view.getUint32(at + 8, littleEndian), size: 12 };
}

/**
 * A data set without preamble and prefix: the first element is in a low even group with a short
 * value, and the next one (when the prefix holds it) has a greater tag in a nearby group. Tried as implicit
 * and explicit little endian and explicit big endian, the encodings pydicom guesses between.
 */
export function startsLikeDataSet(prefix: Uint8Array): boolean {
  const encodings: Array<[littleEndian: boolean, explicit: boolean]> = [[true, true], [true, false], [false, true]];
  return encodings.some(([littleEndian, explicit]) => {
    const first = header(prefix, 0, littleEndian, explicit);
    const group = first ? first.tag >>> 16 : 1;
    if (!first || group % 2 === 1 || group > LAST_FIRST_GROUP) return false;
    if (first.length === 0xffffffff) return header(prefix, first.size, littleEndian, false)?.tag === 0xfffee000; // a sequence
    if (first.length > MAX_FIRST_LENGTH) return false;
    const nextAt = first.size + first.length;
    if (nextAt + 8 > prefix.length) return nextAt <= prefix.length;
    const second = header(prefix, nextAt, littleEndian, explicit);
    return second !== undefined && second.tag > first.tag && second.tag >>> 16 <= group + 0x100;
  });
}

/** A data set that starts a few bytes into the file: damaged DICOM rather than another format. */
export function startsMidElement(prefix: Uint8Array): boolean {
  return [1, 2, 3].some((skip) => startsLikeDataSet(prefix.subarray(skip)));
}
