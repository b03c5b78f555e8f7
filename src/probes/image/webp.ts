import { ProbeError } from '../../errors.js';
import type { ImageFacts, ImageFormat } from './format.js';
import { corrupt, fourcc, startsWith, u16le, u24le, u32le, type ByteReader } from './reader.js';
import { exifOrientation } from './tiff-ifd.js';

const RIFF = [0x52, 0x49, 0x46, 0x46];
const WEBP = [0x57, 0x45, 0x42, 0x50];
const FIRST_CHUNK = 12;
const CHUNK_HEADER = 8;
const VP8_START_CODE = [0x9d, 0x01, 0x2a];
const VP8L_SIGNATURE = 0x2f;
const VP8X_EXIF_FLAG = 0x08;
const EXIF_PREFIX = [0x45, 0x78, 0x69, 0x66, 0, 0]; // some writers keep JPEG's "Exif\0\0" before the TIFF header

interface Size {
  width: number;
  height: number;
}

export const webp: ImageFormat = {
  name: 'webp',
  matches: (head) => startsWith(head, RIFF) && startsWith(head, WEBP, 8),
  async probe(reader) {
    const head = await reader.exact(0, FIRST_CHUNK + CHUNK_HEADER, 'WebP header');
    const riffEnd = 8 + u32le(head, 4);
    const type = fourcc(head, FIRST_CHUNK);
    const data = FIRST_CHUNK + CHUNK_HEADER;
    let facts: ImageFacts;
    if (type === 'VP8 ') facts = { mime: 'image/webp', ...(await lossySize(reader, data)), orientation: 1 };
    else if (type === 'VP8L') facts = { mime: 'image/webp', ...(await losslessSize(reader, data)), orientation: 1 };
    else if (type === 'VP8X') facts = await extended(reader, data, riffEnd);
    else throw corrupt(reader, `WebP starts with a '${type}' chunk, not VP8, VP8L or VP8X`);
    const size = await reader.size();
    if (riffEnd > size) throw new ProbeError('truncated', `${reader.name}: the WebP RIFF header promises ${riffEnd} bytes, the file holds ${size}`);
    return facts;
  },
};

/** VP8 key frame header (RFC 6386 9.1): 14-bit sizes after the start code. */
async function lossySize(reader: ByteReader, data: number): Promise<Size> {
  const frame = await reader.exact(data, 10, 'WebP VP8 frame header');
  if ((frame[0]! & 1) !== 0 || !startsWith(frame, VP8_START_CODE, 3)) throw corrupt(reader, 'WebP VP8 data does not start with a key frame');
  return nonZero(reader, { width: u16le(frame, 6) & 0x3fff, height: u16le(frame, 8) & 0x3fff });
}

/** VP8L header: signature byte, then 14-bit width-1 and height-1. */
async function losslessSize(reader: ByteReader, data: number): Promise<Size> {
  const header = await reader.exact(data, 5, 'WebP VP8L header');
  if (header[0] !== VP8L_SIGNATURE) throw corrupt(reader, 'WebP VP8L data lacks its signature');
  const bits = u32le(header, 1);
  return { width: (bits & 0x3fff) + 1, height: ((bits >>> 14) & 0x3fff) + 1 };
}

/** VP8X: the canvas size (also of animations), and the EXIF chunk its flags announce. */
async function extended(reader: ByteReader, data: number, riffEnd: number): Promise<ImageFacts> {
  const header = await reader.exact(data, 10, 'WebP VP8X header');
  const size = { width: u24le(header, 4) + 1, height: u24le(header, 7) + 1 };
  const orientation = header[0]! & VP8X_EXIF_FLAG ? await exifChunkOrientation(reader, riffEnd) : 1;
  return { mime: 'image/webp', ...size, orientation };
}

async function exifChunkOrientation(reader: ByteReader, riffEnd: number): Promise<number> {
  for (let at = FIRST_CHUNK; at + CHUNK_HEADER <= riffEnd; ) {
    const header = await reader.bytes(at, CHUNK_HEADER);
    if (header.byteLength < CHUNK_HEADER) return 1;
    const length = u32le(header, 4);
    const data = at + CHUNK_HEADER;
    if (fourcc(header, 0) === 'EXIF') {
      const skip = startsWith(await reader.bytes(data, EXIF_PREFIX.length), EXIF_PREFIX) ? EXIF_PREFIX.length : 0;
      return exifOrientation(reader, data + skip, data + length);
    }
    at = data + length + (length & 1);
  }
  return 1;
}

function nonZero(reader: ByteReader, size: Size): Size {
  if (size.width === 0 || size.height === 0) throw corrupt(reader, `WebP frame is ${size.width}x${size.height}`);
  return size;
}
