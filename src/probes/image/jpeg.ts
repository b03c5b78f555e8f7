import { ProbeError } from '../../errors.js';
import type { ImageFacts, ImageFormat } from './format.js';
import { corrupt, startsWith, u16be, unsupported, type ByteReader } from './reader.js';
import { exifOrientation } from './tiff-ifd.js';

const SOI = [0xff, 0xd8, 0xff];
const EOI = 0xd9;
const SOS = 0xda;
const APP1 = 0xe1;
/** JPEG-LS frames (SOF55) and their parameter segments: not baseline/progressive JPEG. */
const JPEG_LS = new Set([0xf7, 0xf8]);
const EXIF_SIGNATURE = [0x45, 0x78, 0x69, 0x66, 0, 0]; // "Exif\0\0"
const SCAN_STEP = 64 * 1024;
const MARKER_SEARCH_BYTES = 4096;

/** Start-of-frame markers of every JPEG process (not DHT C4, JPG C8, DAC CC). */
function isStartOfFrame(marker: number): boolean {
  return marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
}

/** Markers that stand alone, without a length: TEM, RSTn, SOI, EOI. */
function isStandalone(marker: number): boolean {
  return marker === 0x01 || (marker >= 0xd0 && marker <= 0xd9);
}

interface Header {
  width: number;
  height: number;
  orientation: number;
  /** Offset of the first entropy-coded byte after the first SOS segment. */
  scanStart: number;
}

export const jpeg: ImageFormat = {
  name: 'jpeg',
  matches: (head) => startsWith(head, SOI),
  async probe(reader) {
    const header = await readHeader(reader);
    await checkScanEnds(reader, header.scanStart);
    return { mime: 'image/jpeg', width: header.width, height: header.height, orientation: header.orientation } satisfies ImageFacts;
  },
};

/** Walks the marker segments up to the first scan, as libjpeg's jpeg_read_header does. */
async function readHeader(reader: ByteReader): Promise<Header> {
  let offset = 2;
  let frame: { width: number; height: number } | undefined;
  let orientation: number | undefined;
  for (;;) {
    const { marker, at } = await nextMarker(reader, offset);
    if (marker === EOI) throw corrupt(reader, 'JPEG ends (EOI) before any scan');
    if (isStandalone(marker)) {
      offset = at + 2;
      continue;
    }
    const length = u16be(await reader.exact(at + 2, 2, 'JPEG segment length'), 0);
    if (length < 2) throw corrupt(reader, `JPEG segment 0x${marker.toString(16)} has length ${length}`);
    const body = at + 4;
    const end = at + 2 + length;
    if (JPEG_LS.has(marker)) throw unsupported(reader, 'JPEG-LS is not a format Encord displays');
    if (isStartOfFrame(marker) && !frame) frame = await readFrame(reader, body, length);
    if (marker === APP1 && orientation === undefined) orientation = await readExif(reader, body, end);
    if (marker === SOS) {
      if (!frame) throw corrupt(reader, 'JPEG scan starts before any frame header (SOF)');
      return { ...frame, orientation: orientation ?? 1, scanStart: end };
    }
    offset = end;
  }
}

/** Finds the next marker at or after `offset`, skipping stray bytes and fill 0xFF bytes as libjpeg does. */
async function nextMarker(reader: ByteReader, offset: number): Promise<{ marker: number; at: number }> {
  for (let at = offset; ; ) {
    const chunk = await reader.bytes(at, MARKER_SEARCH_BYTES);
    if (chunk.byteLength < 2) throw new ProbeError('truncated', `${reader.name}: the JPEG ends inside its header, before any scan`);
    for (let i = 0; i + 1 < chunk.byteLength; i++) {
      const next = chunk[i + 1]!;
      if (chunk[i] === 0xff && next !== 0xff && next !== 0) return { marker: next, at: at + i };
    }
    at += chunk.byteLength - 1;
  }
}

async function readFrame(reader: ByteReader, body: number, length: number): Promise<{ width: number; height: number }> {
  if (length < 8) throw corrupt(reader, `JPEG frame header of ${length} bytes`);
  const sof = await reader.exact(body, 5, 'JPEG frame header');
  const height = u16be(sof, 1);
  const width = u16be(sof, 3);
  // Height 0 defers to a DNL marker after the first scan; browsers do not support it.
  if (width === 0 || height === 0) throw corrupt(reader, `JPEG frame header says ${width}x${height}`);
  return { width, height };
}

/** Orientation from an APP1 EXIF segment; undefined when the APP1 holds something else (XMP). */
async function readExif(reader: ByteReader, body: number, end: number): Promise<number | undefined> {
  const signature = await reader.bytes(body, EXIF_SIGNATURE.length);
  if (!startsWith(signature, EXIF_SIGNATURE)) return undefined;
  return exifOrientation(reader, body + EXIF_SIGNATURE.length, end);
}

/**
 * A JPEG is whole when its scans reach EOI. Almost every file ends with FFD9, which settles it
 * from the last two bytes; otherwise the entropy-coded data is scanned for the EOI (files may
 * carry trailing bytes after it) and its absence is `truncated`.
 */
async function checkScanEnds(reader: ByteReader, scanStart: number): Promise<void> {
  const tail = await reader.tail(2);
  if (tail[0] === 0xff && tail[1] === EOI) return;
  let offset = scanStart;
  for (;;) {
    const chunk = await reader.bytes(offset, SCAN_STEP);
    if (chunk.byteLength < 2) break;
    const found = findMarker(chunk);
    if (found === undefined) {
      offset += chunk.byteLength - 1;
      continue;
    }
    const at = offset + found.index;
    if (found.marker === EOI) return;
    if (isStandalone(found.marker)) {
      offset = at + 2;
      continue;
    }
    const lengthBytes = await reader.bytes(at + 2, 2);
    if (lengthBytes.byteLength < 2) break;
    offset = at + 2 + u16be(lengthBytes, 0);
  }
  throw new ProbeError('truncated', `${reader.name}: the JPEG scan data ends before the end-of-image marker (EOI)`);
}

/** First marker in entropy-coded data: 0xFF not followed by stuffing (00), a fill byte or RSTn. */
function findMarker(chunk: Uint8Array): { index: number; marker: number } | undefined {
  for (let i = chunk.indexOf(0xff); i >= 0 && i + 1 < chunk.byteLength; i = chunk.indexOf(0xff, i + 1)) {
    const next = chunk[i + 1]!;
    if (next !== 0 && next !== 0xff && !(next >= 0xd0 && next <= 0xd7)) return { index: i, marker: next };
  }
  return undefined;
}
