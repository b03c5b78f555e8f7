import { ProbeError } from '../../errors.js';
import type { ImageFacts, ImageFormat } from './format.js';
import { corrupt, i32le, u16le, u32le, type ByteReader } from './reader.js';

const FILE_HEADER_BYTES = 14;
const CORE_HEADER = 12; // OS/2 1.x BITMAPCOREHEADER: 16-bit sizes
const OS2_HEADERS = new Set([16, 64]); // OS/2 2.x: their compression codes differ from Windows'
const INFO_HEADERS = new Set([40, 52, 56, 108, 124]); // BITMAPINFOHEADER and its V2-V5 extensions
/** Windows compressions whose pixel data size follows from the header: BI_RGB, BI_BITFIELDS, BI_ALPHABITFIELDS. */
const UNCOMPRESSED = new Set([0, 3, 6]);
const BITS_PER_PIXEL = new Set([0, 1, 2, 4, 8, 16, 24, 32]);

interface DibHeader {
  width: number;
  height: number;
  /** Bytes of pixel data the header promises. */
  pixelBytes: number;
}

export const bmp: ImageFormat = {
  name: 'bmp',
  matches: (head) =>
    head[0] === 0x42 && head[1] === 0x4d && head.byteLength >= 18 && isDibHeaderSize(u32le(head, FILE_HEADER_BYTES)),
  async probe(reader) {
    const fileHeader = await reader.exact(0, FILE_HEADER_BYTES + 4, 'BMP file header');
    const pixelOffset = u32le(fileHeader, 10);
    const dibSize = u32le(fileHeader, FILE_HEADER_BYTES);
    const dib = await readDibHeader(reader, dibSize);
    if (pixelOffset < FILE_HEADER_BYTES + dibSize) throw corrupt(reader, `BMP pixel data offset ${pixelOffset} lies inside its headers`);
    const needed = pixelOffset + dib.pixelBytes;
    const size = await reader.size();
    if (needed > size) {
      throw new ProbeError('truncated', `${reader.name}: the BMP header promises ${needed} bytes (pixel data at ${pixelOffset}), the file holds ${size}`);
    }
    return { mime: 'image/bmp', width: dib.width, height: dib.height, orientation: 1 } satisfies ImageFacts;
  },
};

function isDibHeaderSize(size: number): boolean {
  return size === CORE_HEADER || OS2_HEADERS.has(size) || INFO_HEADERS.has(size);
}

async function readDibHeader(reader: ByteReader, dibSize: number): Promise<DibHeader> {
  const at = FILE_HEADER_BYTES;
  if (dibSize === CORE_HEADER) {
    const h = await reader.exact(at, CORE_HEADER, 'BMP core header');
    return checked(reader, { width: u16le(h, 4), height: u16le(h, 6), bitsPerPixel: u16le(h, 10), compression: 0, sizeImage: 0, os2: true });
  }
  const h = await reader.exact(at, Math.min(dibSize, 24), 'BMP info header');
  const sizeImage = h.byteLength >= 24 ? u32le(h, 20) : 0;
  const compression = h.byteLength >= 20 ? u32le(h, 16) : 0;
  // A negative height marks rows stored top-down; the size is its magnitude.
  const height = Math.abs(i32le(h, 8));
  return checked(reader, { width: i32le(h, 4), height, bitsPerPixel: u16le(h, 14), compression, sizeImage, os2: OS2_HEADERS.has(dibSize) });
}

function checked(
  reader: ByteReader,
  raw: { width: number; height: number; bitsPerPixel: number; compression: number; sizeImage: number; os2: boolean },
): DibHeader {
  const { width, height, bitsPerPixel, compression, sizeImage, os2 } = raw;
  if (width <= 0 || height <= 0) throw corrupt(reader, `BMP header says ${width}x${height}`);
  if (!BITS_PER_PIXEL.has(bitsPerPixel)) throw corrupt(reader, `BMP header says ${bitsPerPixel} bits per pixel`);
  const uncompressed = os2 ? compression === 0 : UNCOMPRESSED.has(compression);
  if (uncompressed && bitsPerPixel === 0) throw corrupt(reader, 'uncompressed BMP with 0 bits per pixel');
  const rowBytes = Math.ceil((width * bitsPerPixel) / 32) * 4;
  return { width, height, pixelBytes: uncompressed ? rowBytes * height : sizeImage };
}
