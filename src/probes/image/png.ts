import { ProbeError } from '../../errors.js';
import type { ImageFacts, ImageFormat } from './format.js';
import { corrupt, fourcc, startsWith, u32be, type ByteReader } from './reader.js';
import { exifOrientation } from './tiff-ifd.js';

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const IEND_CHUNK = [0, 0, 0, 0, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82];
const EXIF_PREFIX = [0x45, 0x78, 0x69, 0x66, 0, 0]; // some writers put "Exif\0\0" before the TIFF header
const MAX_CHUNK_LENGTH = 0x7fffffff;

interface Chunk {
  type: string;
  /** Offset of the chunk's data. */
  data: number;
  length: number;
}

export const png: ImageFormat = {
  name: 'png',
  matches: (head) => startsWith(head, SIGNATURE),
  async probe(reader) {
    const ihdr = await readHeaderChunk(reader);
    if (ihdr?.type !== 'IHDR' || ihdr.length < 13) throw corrupt(reader, 'PNG does not start with an IHDR chunk');
    const header = await reader.exact(ihdr.data, 8, 'PNG IHDR');
    const width = u32be(header, 0);
    const height = u32be(header, 4);
    if (width === 0 || height === 0 || width > MAX_CHUNK_LENGTH || height > MAX_CHUNK_LENGTH) {
      throw corrupt(reader, `PNG IHDR says ${width}x${height}`);
    }
    const beforeData = await readUpToImageData(reader, ihdr.data + ihdr.length + 4);
    await checkEndsWithIend(reader, beforeData.resumeAt);
    const mime = beforeData.animated ? 'image/apng' : 'image/png';
    return { mime, width, height, orientation: beforeData.orientation } satisfies ImageFacts;
  },
};

/** IHDR comes first, except in Apple's CgBI variant (iOS build output), which puts a CgBI chunk before it. */
async function readHeaderChunk(reader: ByteReader): Promise<Chunk | undefined> {
  const first = await readChunk(reader, SIGNATURE.length);
  return first?.type === 'CgBI' ? readChunk(reader, first.data + first.length + 4) : first;
}

/** The chunk header at `offset`; undefined when it is not one (length out of range, type not letters). */
async function readChunk(reader: ByteReader, offset: number): Promise<Chunk | undefined> {
  const head = await reader.exact(offset, 8, 'PNG chunk header');
  const length = u32be(head, 0);
  const type = fourcc(head, 4);
  if (length > MAX_CHUNK_LENGTH || !/^[A-Za-z]{4}$/.test(type)) return undefined;
  return { type, data: offset + 8, length };
}

/**
 * Walks the chunks before the first IDAT: what browsers know when they lay the image out.
 * acTL there makes it APNG; eXIf there carries the orientation (an eXIf after IDAT is ignored).
 * A garbled chunk header stops the walk: the IHDR stands, the rest is decided by the file's end.
 */
async function readUpToImageData(reader: ByteReader, offset: number): Promise<{ animated: boolean; orientation: number; resumeAt?: number }> {
  let animated = false;
  let orientation: number | undefined;
  for (let at = offset; ; ) {
    const chunk = await readChunk(reader, at);
    if (!chunk) return { animated, orientation: orientation ?? 1 };
    if (chunk.type === 'IDAT') return { animated, orientation: orientation ?? 1, resumeAt: at };
    if (chunk.type === 'IEND') throw corrupt(reader, 'PNG ends (IEND) without image data (IDAT)');
    if (chunk.type === 'acTL') animated = true;
    if (chunk.type === 'eXIf') orientation ??= await readExif(reader, chunk); // libpng keeps the first
    at = chunk.data + chunk.length + 4;
  }
}

async function readExif(reader: ByteReader, chunk: Chunk): Promise<number> {
  const head = await reader.exact(chunk.data, Math.min(chunk.length, EXIF_PREFIX.length), 'PNG eXIf');
  const skip = startsWith(head, EXIF_PREFIX) ? EXIF_PREFIX.length : 0;
  return exifOrientation(reader, chunk.data + skip, chunk.data + chunk.length);
}

/**
 * A PNG is whole when it reaches IEND. Nearly every file ends with the IEND chunk; otherwise the
 * chunks are walked on from the first IDAT, so trailing bytes after IEND are allowed and a file
 * that stops inside a chunk is `truncated`.
 */
async function checkEndsWithIend(reader: ByteReader, resumeAt: number | undefined): Promise<void> {
  if (startsWith(await reader.tail(IEND_CHUNK.length), IEND_CHUNK)) return;
  if (resumeAt === undefined) throw corrupt(reader, 'PNG chunks are garbled and the file does not end with IEND');
  const size = await reader.size();
  for (let at = resumeAt; at + 8 <= size; ) {
    const chunk = await readChunk(reader, at);
    if (!chunk) throw corrupt(reader, `PNG chunk header at ${at} is garbled`);
    if (chunk.type === 'IEND') return;
    at = chunk.data + chunk.length + 4;
  }
  throw new ProbeError('truncated', `${reader.name}: the PNG ends without its IEND chunk`);
}
