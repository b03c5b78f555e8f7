import { createReadStream, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { probeImage } from '../src/probes/image.js';
import type { ProbeOptions } from '../src/probes/types.js';
import { BufferSource } from '../src/sources/buffer.js';
import { FileSource } from '../src/sources/file.js';
import type { ByteSource } from '../src/sources/source.js';
import { StreamSource } from '../src/sources/stream.js';

// Fixtures written by sharp (libvips): real encoders, real EXIF orientation tags.
const dir = mkdtempSync(join(tmpdir(), 'encord-media-image-'));
const WIDTH = 30;
const HEIGHT = 20;

const base = () => sharp({ create: { width: WIDTH, height: HEIGHT, channels: 3, background: '#f80' } });

async function write(name: string, image: ReturnType<typeof sharp>): Promise<string> {
  const path = join(dir, name);
  writeFileSync(path, await image.toBuffer());
  return path;
}

async function probeFile(path: string, options: ProbeOptions = {}) {
  return probeSource(new FileSource(path), options);
}

async function probeSource(source: ByteSource, options: ProbeOptions = {}) {
  try {
    const result = await probeImage(source, { options, detection: { modality: 'image', mime: '', format: '', warnings: [] } });
    return { ...result, codes: result.warnings.map((w) => w.code), bytesRead: source.bytesRead };
  } finally {
    await source.close();
  }
}

const files: Record<string, string> = {};

beforeAll(async () => {
  files.jpeg = await write('plain.jpg', base().jpeg());
  files.png = await write('plain.png', base().png());
  files.webp = await write('plain.webp', base().webp());
  files.webpLossless = await write('lossless.webp', base().webp({ lossless: true }));
  files.avif = await write('plain.avif', base().avif());
  files.gif = await write('plain.gif', base().gif());
  files.tiff = await write('plain.tif', base().tiff());
  for (let orientation = 1; orientation <= 8; orientation++) {
    files[`jpeg${orientation}`] = await write(`o${orientation}.jpg`, base().withMetadata({ orientation }).jpeg());
  }
  files.webp6 = await write('o6.webp', base().withMetadata({ orientation: 6 }).webp());
  files.tiff6 = await write('o6.tif', base().withMetadata({ orientation: 6 }).tiff());
  files.png6 = await write('o6.png', base().withMetadata({ orientation: 6 }).png());
  files.avif6 = await write('o6.avif', base().withMetadata({ orientation: 6 }).avif());
  const frames = await Promise.all(['#f00', '#0f0'].map((background) =>
    sharp({ create: { width: WIDTH, height: HEIGHT, channels: 3, background } }).png().toBuffer()));
  files.animatedGif = await write('animated.gif', sharp(frames, { join: { animated: true } }).gif());
  files.animatedWebp = await write('animated.webp', sharp(frames, { join: { animated: true } }).webp());
  files.big = await write('big.jpg', sharp({ create: { width: 2000, height: 1500, channels: 3, background: '#000', noise: { type: 'gaussian', mean: 128, sigma: 60 } } }).jpeg());
});

describe('probeImage on sharp-written files', () => {
  it.each([
    ['jpeg', 'image/jpeg', []],
    ['png', 'image/png', []],
    ['webp', 'image/webp', []],
    ['webpLossless', 'image/webp', []],
    ['avif', 'image/avif', []],
    ['gif', 'image/gif', ['unsupported_by_encord']],
    ['tiff', 'image/tiff', ['browser_support_limited']],
    ['animatedGif', 'image/gif', ['unsupported_by_encord']],
    ['animatedWebp', 'image/webp', []],
  ])('%s: %s, stored size, warnings %j', async (key, mime, warnings) => {
    const path = files[key]!;
    const result = await probeFile(path);
    expect(result.metadata).toEqual({ mime_type: mime, file_size: readFileSync(path).byteLength, width: WIDTH, height: HEIGHT });
    expect(result.codes).toEqual(warnings);
  });

  it.each([1, 2, 3, 4, 5, 6, 7, 8])('JPEG with EXIF orientation %i shows as a browser shows it', async (orientation) => {
    const result = await probeFile(files[`jpeg${orientation}`]!);
    const turned = orientation >= 5;
    expect([result.metadata.width, result.metadata.height]).toEqual(turned ? [HEIGHT, WIDTH] : [WIDTH, HEIGHT]);
    expect(result.codes).toEqual(orientation === 1 ? [] : ['orientation_applied']);
  });

  it("gives the stored size with orientation: 'stored'", async () => {
    const result = await probeFile(files.jpeg6!, { orientation: 'stored' });
    expect([result.metadata.width, result.metadata.height]).toEqual([WIDTH, HEIGHT]);
    expect(result.codes).toEqual([]);
  });

  it('applies EXIF orientation in WebP, TIFF and PNG (eXIf before IDAT)', async () => {
    for (const key of ['webp6', 'tiff6', 'png6']) {
      const result = await probeFile(files[key]!);
      expect([key, result.metadata.width, result.metadata.height]).toEqual([key, HEIGHT, WIDTH]);
      expect(result.codes).toContain('orientation_applied');
    }
  });

  it('turns AVIF by its irot property (libheif writes EXIF orientation 6 as irot)', async () => {
    const result = await probeFile(files.avif6!);
    expect([result.metadata.width, result.metadata.height]).toEqual([HEIGHT, WIDTH]);
    expect(result.codes).toEqual(['orientation_applied']);
    const stored = await probeFile(files.avif6!, { orientation: 'stored' });
    expect([stored.metadata.width, stored.metadata.height]).toEqual([WIDTH, HEIGHT]);
  });

  it('reads only headers and the end of a large JPEG', async () => {
    const size = readFileSync(files.big!).byteLength;
    const result = await probeFile(files.big!);
    expect(result.metadata).toMatchObject({ width: 2000, height: 1500, file_size: size });
    expect(size).toBeGreaterThan(500_000);
    expect(result.bytesRead).toBeLessThan(40_000);
  });
});

describe('probeImage on every source type', () => {
  it('gives the same answer for a path, a Buffer and a stream', async () => {
    for (const key of ['jpeg6', 'png', 'webp6', 'avif', 'gif', 'tiff6', 'big']) {
      const path = files[key]!;
      const fromFile = (await probeFile(path)).metadata;
      const fromBuffer = (await probeSource(new BufferSource(readFileSync(path), 'x'))).metadata;
      const fromStream = (await probeSource(new StreamSource(createReadStream(path, { highWaterMark: 4096 }), 'x'))).metadata;
      expect(fromBuffer).toEqual(fromFile);
      expect(fromStream).toEqual(fromFile);
    }
  });

  it('finds the end of a stream longer than the bytes it keeps', async () => {
    const path = files.big!;
    const source = new StreamSource(createReadStream(path, { highWaterMark: 8192 }), 'big.jpg', { retainBytes: 65536 });
    const result = await probeSource(source);
    expect(result.metadata).toMatchObject({ width: 2000, height: 1500, file_size: readFileSync(path).byteLength });
  });
});
