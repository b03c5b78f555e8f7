import { crc32, deflateSync } from 'node:zlib';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { probeImage } from '../src/probes/image.js';
import type { ProbeOptions } from '../src/probes/types.js';
import { BufferSource } from '../src/sources/buffer.js';

// Hand-built files for what encoders do not write: chunk order, cut-off files, damaged
// headers, HEIF transforms, camera raw layouts, formats Encord does not take.

async function probe(bytes: Uint8Array, options: ProbeOptions = {}) {
  const source = new BufferSource(bytes, 'fixture');
  const result = await probeImage(source, { options, detection: { modality: 'image', mime: '', format: '', warnings: [] } });
  return { ...result.metadata, warnings: result.warnings.map((w) => w.code), bytesRead: source.bytesRead };
}

async function errorCode(bytes: Uint8Array): Promise<string> {
  return probe(bytes).then(
    (result) => `no error: ${JSON.stringify(result)}`,
    (error: { code: string }) => error.code,
  );
}

const u16le = (n: number) => Buffer.from([n & 255, n >> 8]);
const u32le = (n: number) => { const b = Buffer.alloc(4); b.writeUInt32LE(n); return b; };
const u32be = (n: number) => { const b = Buffer.alloc(4); b.writeUInt32BE(n); return b; };
const i32le = (n: number) => { const b = Buffer.alloc(4); b.writeInt32LE(n); return b; };
const ascii = (s: string) => Buffer.from(s, 'latin1');

/** A little-endian TIFF block with one IFD holding the given SHORT/LONG entries. */
function tiffBlock(entries: [tag: number, type: 3 | 4, value: number][], trailing: Buffer = Buffer.alloc(0)): Buffer {
  const sorted = [...entries].sort((a, b) => a[0] - b[0]);
  const ifd = sorted.map(([tag, type, value]) => Buffer.concat([u16le(tag), u16le(type), u32le(1), type === 3 ? Buffer.concat([u16le(value), u16le(0)]) : u32le(value)]));
  return Buffer.concat([ascii('II'), u16le(42), u32le(8), u16le(sorted.length), ...ifd, u32le(0), trailing]);
}

describe('PNG chunks', () => {
  const chunk = (type: string, data: Buffer = Buffer.alloc(0)) => {
    const body = Buffer.concat([ascii(type), data]);
    return Buffer.concat([u32be(data.byteLength), body, u32be(crc32(body))]);
  };
  const ihdr = (w: number, h: number) => chunk('IHDR', Buffer.concat([u32be(w), u32be(h), Buffer.from([8, 2, 0, 0, 0])]));
  const idat = chunk('IDAT', deflateSync(Buffer.alloc((1 + 3 * 3) * 2)));
  const iend = chunk('IEND');
  const actl = chunk('acTL', Buffer.concat([u32be(1), u32be(0)]));
  const exif6 = chunk('eXIf', tiffBlock([[0x0112, 3, 6]]));
  const png = (...chunks: Buffer[]) => Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), ...chunks]);

  it('reads IHDR of a plain PNG', async () => {
    expect(await probe(png(ihdr(3, 2), idat, iend))).toMatchObject({ mime_type: 'image/png', width: 3, height: 2, warnings: [] });
  });

  it('calls a PNG with acTL before IDAT APNG; acTL after IDAT is ignored as browsers do', async () => {
    expect(await probe(png(ihdr(3, 2), actl, idat, iend))).toMatchObject({ mime_type: 'image/apng', width: 3, height: 2, warnings: ['unsupported_by_encord'] });
    expect(await probe(png(ihdr(3, 2), idat, actl, iend))).toMatchObject({ mime_type: 'image/png' });
  });

  it('applies eXIf orientation only when the chunk precedes IDAT', async () => {
    expect(await probe(png(ihdr(3, 2), exif6, idat, iend))).toMatchObject({ width: 2, height: 3, warnings: ['orientation_applied'] });
    expect(await probe(png(ihdr(3, 2), idat, exif6, iend))).toMatchObject({ width: 3, height: 2, warnings: [] });
  });

  it('accepts bytes after IEND, rejects a PNG cut before IEND', async () => {
    expect(await probe(Buffer.concat([png(ihdr(3, 2), idat, iend), Buffer.alloc(100, 7)]))).toMatchObject({ width: 3, height: 2 });
    expect(await errorCode(png(ihdr(3, 2), idat))).toBe('truncated');
    expect(await errorCode(png(ihdr(3, 2), idat).subarray(0, 40))).toBe('truncated');
  });

  it('rejects a PNG without IHDR or without image data', async () => {
    expect(await errorCode(png(idat, iend))).toBe('corrupt_file');
    expect(await errorCode(png(ihdr(3, 2), actl, iend))).toBe('corrupt_file');
    expect(await errorCode(png(ihdr(0, 2), idat, iend))).toBe('corrupt_file');
  });

  it('reports giant dimensions without decoding (decompression bomb)', async () => {
    const bomb = png(ihdr(1_000_000, 1_000_000), chunk('IDAT', deflateSync(Buffer.alloc(1 << 20))), iend);
    expect(await probe(bomb)).toMatchObject({ width: 1_000_000, height: 1_000_000, file_size: bomb.byteLength });
  });
});

describe('JPEG', () => {
  let jpeg: Buffer;
  beforeAll(async () => {
    jpeg = await sharp({ create: { width: 64, height: 48, channels: 3, background: '#000', noise: { type: 'gaussian', mean: 128, sigma: 50 } } }).jpeg().toBuffer();
  });

  it('accepts trailing bytes after EOI', async () => {
    expect(await probe(Buffer.concat([jpeg, Buffer.alloc(300, 0x20)]))).toMatchObject({ mime_type: 'image/jpeg', width: 64, height: 48 });
  });

  it('rejects a JPEG whose scan stops before EOI as truncated', async () => {
    expect(await errorCode(jpeg.subarray(0, jpeg.byteLength - 200))).toBe('truncated');
    expect(await errorCode(jpeg.subarray(0, 100))).toBe('truncated');
  });

  it('skips stray bytes between segments as libjpeg does', async () => {
    const firstSegmentEnd = 4 + jpeg.readUInt16BE(4);
    const withJunk = Buffer.concat([jpeg.subarray(0, firstSegmentEnd), Buffer.from([0x00, 0x12]), jpeg.subarray(firstSegmentEnd)]);
    expect(await probe(withJunk)).toMatchObject({ width: 64, height: 48 });
  });

  it('reads orientation from the first EXIF APP1 only', async () => {
    const app1 = (orientation: number) => {
      const body = Buffer.concat([ascii('Exif\0\0'), tiffBlock([[0x0112, 3, orientation]])]);
      return Buffer.concat([Buffer.from([0xff, 0xe1]), Buffer.from([(body.byteLength + 2) >> 8, (body.byteLength + 2) & 255]), body]);
    };
    const oriented = Buffer.concat([jpeg.subarray(0, 2), app1(8), app1(1), jpeg.subarray(2)]);
    expect(await probe(oriented)).toMatchObject({ width: 48, height: 64, warnings: ['orientation_applied'] });
    const invalid = Buffer.concat([jpeg.subarray(0, 2), app1(9), jpeg.subarray(2)]);
    expect(await probe(invalid)).toMatchObject({ width: 64, height: 48, warnings: [] });
  });

  it('rejects JPEG-LS (SOF55) as unsupported', async () => {
    const jpegLs = Buffer.from([0xff, 0xd8, 0xff, 0xf7, 0, 11, 8, 0, 16, 0, 16, 1, 1, 0x11, 0, 0xff, 0xd9]);
    expect(await errorCode(jpegLs)).toBe('unsupported_format');
  });
});

describe('BMP', () => {
  const bmp = (width: number, height: number, options: { cut?: number; core?: boolean } = {}) => {
    const rowBytes = Math.ceil((width * 24) / 32) * 4;
    const pixels = Buffer.alloc(rowBytes * Math.abs(height), 0x80);
    const dib = options.core
      ? Buffer.concat([u32le(12), u16le(width), u16le(height), u16le(1), u16le(24)])
      : Buffer.concat([u32le(40), i32le(width), i32le(height), u16le(1), u16le(24), u32le(0), u32le(pixels.byteLength), Buffer.alloc(16)]);
    const offset = 14 + dib.byteLength;
    const file = Buffer.concat([ascii('BM'), u32le(offset + pixels.byteLength), u32le(0), u32le(offset), dib, pixels]);
    return file.subarray(0, file.byteLength - (options.cut ?? 0));
  };

  it('reads Windows and OS/2 headers, top-down rows included', async () => {
    expect(await probe(bmp(3, 2))).toMatchObject({ mime_type: 'image/bmp', width: 3, height: 2, warnings: [] });
    expect(await probe(bmp(3, -2))).toMatchObject({ width: 3, height: 2 });
    expect(await probe(bmp(5, 4, { core: true }))).toMatchObject({ width: 5, height: 4 });
  });

  it('rejects a BMP holding less pixel data than its header promises', async () => {
    expect(await errorCode(bmp(3, 2, { cut: 5 }))).toBe('truncated');
  });

  it('rejects a zero width as damage', async () => {
    expect(await errorCode(bmp(0, 2))).toBe('corrupt_file');
  });
});

describe('GIF', () => {
  const screen = (width: number, height: number) => Buffer.concat([ascii('GIF89a'), u16le(width), u16le(height), Buffer.from([0, 0, 0])]);
  const image = Buffer.concat([Buffer.from([0x2c]), u16le(0), u16le(0), u16le(1), u16le(1), Buffer.from([0, 2, 2, 0x4c, 0x01, 0, 0x3b])]);
  const comment = Buffer.concat([Buffer.from([0x21, 0xfe, 3]), ascii('abc'), Buffer.from([0])]);

  it('gives the logical screen (canvas) size', async () => {
    expect(await probe(Buffer.concat([screen(7, 5), comment, image]))).toMatchObject({ mime_type: 'image/gif', width: 7, height: 5, warnings: ['unsupported_by_encord'] });
  });

  it('rejects a zero-size screen and a GIF with no frame', async () => {
    expect(await errorCode(Buffer.concat([screen(0, 5), image]))).toBe('corrupt_file');
    expect(await errorCode(Buffer.concat([screen(7, 5), comment]))).toBe('truncated');
  });
});

describe('WebP', () => {
  it('rejects a file shorter than its RIFF header says', async () => {
    const webp = await sharp({ create: { width: 16, height: 8, channels: 3, background: '#123' } }).webp().toBuffer();
    expect(await probe(webp)).toMatchObject({ width: 16, height: 8 });
    expect(await errorCode(webp.subarray(0, webp.byteLength - 10))).toBe('truncated');
  });
});

describe('HEIF and AVIF', () => {
  const box = (type: string, ...parts: Buffer[]) => {
    const body = Buffer.concat(parts);
    return Buffer.concat([u32be(8 + body.byteLength), ascii(type), body]);
  };
  const fullBox = (type: string, version: number, ...parts: Buffer[]) => box(type, Buffer.from([version, 0, 0, 0]), ...parts);
  const u16be = (n: number) => Buffer.from([n >> 8, n & 255]);
  const ispe = (w: number, h: number) => fullBox('ispe', 0, u32be(w), u32be(h));
  const clap = (w: number, h: number) => box('clap', u32be(w), u32be(1), u32be(h), u32be(1), u32be(0), u32be(1), u32be(0), u32be(1));
  const irot = (quarterTurns: number) => box('irot', Buffer.from([quarterTurns]));

  /** ftyp, meta (one item with the given properties, associated in order), mdat. */
  const heifFile = (brand: string, properties: Buffer[], options: { dataLength?: number; mdatLength?: number } = {}) => {
    const dataLength = options.dataLength ?? 16;
    const ftyp = box('ftyp', ascii(brand), u32be(0), ascii('mif1'), ascii(brand));
    const meta = (dataOffset: number) => fullBox('meta', 0,
      fullBox('hdlr', 0, u32be(0), ascii('pict'), Buffer.alloc(13)),
      fullBox('pitm', 0, u16be(1)),
      fullBox('iinf', 0, u16be(1), fullBox('infe', 2, u16be(1), u16be(0), ascii(brand === 'avif' ? 'av01' : 'hvc1'), Buffer.from([0]))),
      fullBox('iloc', 0, Buffer.from([0x44, 0x00]), u16be(1), u16be(1), u16be(0), u16be(1), u32be(dataOffset), u32be(dataLength)),
      box('iprp', box('ipco', ...properties), fullBox('ipma', 0, u32be(1), u16be(1), Buffer.from([properties.length, ...properties.map((_, i) => 0x80 | (i + 1))]))));
    const metaLength = meta(0).byteLength;
    const mdat = box('mdat', Buffer.alloc(options.mdatLength ?? dataLength, 0x11));
    return Buffer.concat([ftyp, meta(ftyp.byteLength + metaLength + 8), mdat]);
  };

  it('names the type by the major brand', async () => {
    expect(await probe(heifFile('heic', [ispe(40, 30)]))).toMatchObject({ mime_type: 'image/heic', width: 40, height: 30, warnings: ['unsupported_by_encord'] });
    expect(await probe(heifFile('mif1', [ispe(40, 30)]))).toMatchObject({ mime_type: 'image/heif', warnings: ['unsupported_by_encord'] });
    expect(await probe(heifFile('avif', [ispe(40, 30)]))).toMatchObject({ mime_type: 'image/avif', warnings: [] });
  });

  it('crops by clap, then turns by irot, in association order', async () => {
    expect(await probe(heifFile('avif', [ispe(40, 30), clap(20, 10), irot(1)]))).toMatchObject({ width: 10, height: 20, warnings: ['orientation_applied'] });
    expect(await probe(heifFile('avif', [ispe(40, 30), clap(20, 10), irot(1)]), { orientation: 'stored' })).toMatchObject({ width: 20, height: 10, warnings: [] });
    // A clap after the irot crops the turned (30x40) image.
    expect(await probe(heifFile('avif', [ispe(40, 30), irot(3), clap(10, 20)]))).toMatchObject({ width: 10, height: 20 });
    expect(await probe(heifFile('heic', [ispe(40, 30), irot(2)]))).toMatchObject({ width: 40, height: 30, warnings: ['unsupported_by_encord', 'orientation_applied'] });
  });

  it('rejects damaged or cut-off items', async () => {
    expect(await errorCode(heifFile('avif', [clap(20, 10)]))).toBe('corrupt_file');
    expect(await errorCode(heifFile('avif', [ispe(40, 30), clap(50, 10)]))).toBe('corrupt_file');
    expect(await errorCode(heifFile('avif', [ispe(40, 30)], { dataLength: 400, mdatLength: 16 }))).toBe('truncated');
    const whole = heifFile('avif', [ispe(40, 30)]);
    expect(await errorCode(whole.subarray(0, 60))).toBe('truncated');
  });

  it('does not take other ISO-BMFF brands (Canon CR3, JPEG XL container)', async () => {
    expect(await errorCode(heifFile('crx ', [ispe(40, 30)]))).toBe('unsupported_format');
  });
});

describe('TIFF', () => {
  const WIDTH = 256;
  const HEIGHT = 257;
  const STRIP_OFFSETS = 273;
  const STRIP_COUNTS = 279;
  const strip = Buffer.alloc(12, 0x55);
  /** A TIFF whose single strip follows its IFD. */
  const tiff = (extra: [number, 3 | 4, number][] = [], stripCount = strip.byteLength) => {
    const entries: [number, 3 | 4, number][] = [[WIDTH, 3, 4], [HEIGHT, 3, 3], [STRIP_COUNTS, 4, stripCount], ...extra];
    const ifdEnd = 8 + 2 + 12 * (entries.length + 1) + 4;
    return tiffBlock([...entries, [STRIP_OFFSETS, 4, ifdEnd]], strip);
  };

  it('reads IFD0 and its orientation', async () => {
    expect(await probe(tiff())).toMatchObject({ mime_type: 'image/tiff', width: 4, height: 3, warnings: ['browser_support_limited'] });
    expect(await probe(tiff([[0x0112, 3, 6]]))).toMatchObject({ width: 3, height: 4, warnings: ['browser_support_limited', 'orientation_applied'] });
  });

  it('rejects camera raw layouts (DNG, a preview as IFD0, CFA data)', async () => {
    expect(await errorCode(tiff([[50706, 4, 0x01040000]]))).toBe('unsupported_format');
    expect(await errorCode(tiff([[254, 4, 1]]))).toBe('unsupported_format');
    expect(await errorCode(tiff([[262, 3, 32803]]))).toBe('unsupported_format');
  });

  it('rejects strips past the end, an IFD past the end and a missing size', async () => {
    expect(await errorCode(tiff([], 5000))).toBe('truncated');
    expect(await errorCode(Buffer.concat([ascii('II'), u16le(42), u32le(1_000_000)]))).toBe('truncated');
    expect(await errorCode(tiffBlock([[0x0112, 3, 1]]))).toBe('corrupt_file');
  });
});

describe('formats Encord does not take', () => {
  it.each([
    ['SVG', ascii('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>')],
    ['ICO', Buffer.from([0, 0, 1, 0, 1, 0, 16, 16, 0, 0, 1, 0, 32, 0, 0, 0, 0, 0, 22, 0, 0, 0])],
    ['JPEG XL', Buffer.from([0xff, 0x0a, 0xfa, 0x7f, 0x01, 0x90, 0x08])],
    ['PSD', Buffer.concat([ascii('8BPS'), Buffer.from([0, 1]), Buffer.alloc(20)])],
    ['ORF', Buffer.concat([ascii('IIRO'), u32le(8), Buffer.alloc(20)])],
  ])('%s is unsupported_format', async (_, bytes) => {
    expect(await errorCode(bytes)).toBe('unsupported_format');
  });

  it('an empty input is empty_file', async () => {
    expect(await errorCode(new Uint8Array(0))).toBe('empty_file');
  });
});
