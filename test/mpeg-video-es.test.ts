import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probeVideoFile, writeVideoFixtures } from './helpers/video.js';
import { ffmpegPath } from '../scripts/fixtures-video.mjs';
import { NeedsFfprobe } from '../src/probes/containers/facts.js';
import { mpegVideoEsFacts } from '../src/probes/containers/mpeg-video-es.js';
import { FileSource } from '../src/sources/index.js';

const run = promisify(execFile);


/** testsrc2 moves, so frames do not compress to nothing. */
const SOURCE = (size: string, rate: string, seconds: number) => ['-f', 'lavfi', '-i', `testsrc2=size=${size}:rate=${rate}:duration=${seconds}`];
/** A constant rate with a VBV buffer small enough that the encoder writes each picture's vbv_delay. */
const CBR = (rate: string) => ['-b:v', rate, '-minrate', rate, '-maxrate', rate, '-bufsize', '1M'];

/** MPEG-1 marks a variable bit rate with bit_rate 0x3FFFF; FFmpeg then estimates with 0x3FFFF * 400 bit/s. */
const MPEG1_VBR_RATE = 0x3ffff * 400;

/** name -> generator arguments, and what the generator was told (bitRate: the constant rate asked for). */
const FIXTURES: Record<string, { args: string[]; fps: number; width: number; height: number; bitRate?: number; squarePixels: boolean }> = {
  'vbr-25.m1v': { args: [...SOURCE('352x288', '25', 2), '-c:v', 'mpeg1video', '-f', 'mpeg1video'], fps: 25, width: 352, height: 288, bitRate: MPEG1_VBR_RATE, squarePixels: true },
  'cbr-ntsc.m1v': { args: [...SOURCE('320x240', '30000/1001', 2), '-c:v', 'mpeg1video', ...CBR('800k'), '-f', 'mpeg1video'], fps: 30000 / 1001, width: 320, height: 240, bitRate: 800_000, squarePixels: true },
  // frame_rate_code 9, FFmpeg's extension for Xing's 15 fps.
  'cbr-15.m1v': { args: [...SOURCE('160x120', '15', 3), '-c:v', 'mpeg1video', '-strict', 'unofficial', ...CBR('200k'), '-f', 'mpeg1video'], fps: 15, width: 160, height: 120, bitRate: 200_000, squarePixels: true },
  'cbr-50-wide.m2v': { args: [...SOURCE('720x576', '50', 1), '-c:v', 'mpeg2video', '-aspect', '16:9', ...CBR('6M'), '-f', 'mpeg2video'], fps: 50, width: 720, height: 576, bitRate: 6_000_000, squarePixels: false },
  'cbr-interlaced.m2v': { args: [...SOURCE('720x480', '30000/1001', 2), '-c:v', 'mpeg2video', '-flags', '+ildct+ilme', ...CBR('4M'), '-f', 'mpeg2video'], fps: 30000 / 1001, width: 720, height: 480, bitRate: 4_000_000, squarePixels: true },
  // MPEG-2 without vbv_delay: nothing gives FFmpeg a bit rate, so ffprobe states no duration.
  'vbr-24.m2v': { args: [...SOURCE('352x288', '24000/1001', 2), '-c:v', 'mpeg2video', '-f', 'mpeg2video'], fps: 24000 / 1001, width: 352, height: 288, squarePixels: true },
};

let dir: string;
const paths: Record<string, string> = {};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mpeg-video-es-test-'));
  const fixtures = Object.entries(FIXTURES).map(([name, { args }]) => [name, args]);
  Object.assign(paths, await writeVideoFixtures(dir, Object.fromEntries(fixtures)));
}, 120_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const probe = (path: string) => probeVideoFile(path, 'video/mpeg');

async function facts(path: string) {
  const source = new FileSource(path, path);
  try {
    return await mpegVideoEsFacts(source);
  } finally {
    await source.close();
  }
}

/** Offset of the first start code `code` (the byte after 00 00 01). */
function findStartCode(bytes: Uint8Array, code: number): number {
  for (let at = 3; at < bytes.byteLength; at++) {
    if (bytes[at] === code && bytes[at - 1] === 1 && bytes[at - 2] === 0 && bytes[at - 3] === 0) return at;
  }
  throw new Error(`no start code ${code}`);
}

/** Sets repeat_first_field and progressive_frame in the picture coding extension of the frames `repeat` picks. */
function withRepeatedFields(stream: Buffer, repeat: (frame: number) => boolean): Buffer {
  const bytes = Buffer.from(stream);
  let frame = 0;
  for (let at = 3; at + 5 < bytes.byteLength; at++) {
    if (bytes[at] !== 0xb5 || bytes[at - 1] !== 1 || bytes[at - 2] !== 0 || bytes[at - 3] !== 0 || bytes[at + 1]! >> 4 !== 8) continue;
    if (repeat(frame++)) {
      bytes[at + 4] = bytes[at + 4]! | 0x02;
      bytes[at + 5] = bytes[at + 5]! | 0x80;
    }
  }
  return bytes;
}

/** estimate_timings_from_bit_rate: the file's bits over the bit rate, in the raw demuxer's 1/1200000 ticks. */
function bitRateDuration(path: string, bitRate: number): number {
  return Math.round((statSync(path).size * 8 * 1_200_000) / bitRate) / 1_200_000;
}

describe('raw MPEG-1/2 video elementary streams in-process', () => {
  for (const [name, expected] of Object.entries(FIXTURES).filter(([, fixture]) => fixture.bitRate)) {
    it(`reads ${name} as ffprobe does`, async () => {
      const result = await probe(paths[name]!);
      expect(result.details?.reader).toBe('mpeg');
      expect(result.metadata.fps).toBeCloseTo(expected.fps, 9);
      expect(result.metadata.width).toBe(expected.width);
      expect(result.metadata.height).toBe(expected.height);
      expect(result.metadata.mime_type).toBe('video/mpeg');
      expect(result.metadata.duration).toBeCloseTo(bitRateDuration(paths[name]!, expected.bitRate!), 5);
      expect(result.warnings.map((warning) => warning.code)).toEqual(
        expected.squarePixels ? ['unsupported_by_encord'] : ['non_square_pixels', 'unsupported_by_encord'],
      );
    });
  }

  it('states no duration for MPEG-2 without a constant bit rate, as ffprobe', async () => {
    const described = await facts(paths['vbr-24.m2v']!);
    expect(described.containerDuration).toBeUndefined();
    expect(described.stream.avgFrameRate).toEqual({ num: 24000, den: 1001 });
    await expect(probe(paths['vbr-24.m2v']!)).rejects.toMatchObject({ code: 'corrupt_file' });
  });

  it('takes the bit rate once the first frame\'s picture carries a vbv_delay (the parser sets it, nothing clears it)', async () => {
    const bytes = new Uint8Array(readFileSync(paths['vbr-24.m2v']!));
    const at = findStartCode(bytes, 0x00);
    // vbv_delay: the 16 bits after the 10-bit temporal reference and 3-bit picture type.
    const vbvDelay = 0x1000;
    bytes[at + 2] = (bytes[at + 2]! & 0xf8) | (vbvDelay >> 13);
    bytes[at + 3] = (vbvDelay >> 5) & 0xff;
    bytes[at + 4] = (bytes[at + 4]! & 0x07) | ((vbvDelay & 0x1f) << 3);
    const patched = join(dir, 'vbv-first.m2v');
    writeFileSync(patched, bytes);
    const described = await facts(patched);
    // The sequence header's bit_rate field, as ffmpeg wrote it for this VBR stream.
    const field = (bytes[8]! << 10) | (bytes[9]! << 2) | (bytes[10]! >> 6);
    expect(described.containerDuration).toBeCloseTo(bitRateDuration(patched, field * 400), 5);
  });

  it('reads 3:2 pulldown (repeat_first_field on every other frame) at the coded rate, with varying frame durations', async () => {
    const pulldown = join(dir, 'pulldown.m2v');
    writeFileSync(pulldown, withRepeatedFields(readFileSync(paths['cbr-interlaced.m2v']!), (n) => n % 2 === 0));
    const result = await probe(pulldown);
    expect(result.details?.reader).toBe('mpeg');
    // avg_frame_rate: the parser counts 3 fields for 1.5 frame periods, so the measured rate is the coded one.
    expect(result.metadata.fps).toBeCloseTo(30000 / 1001, 9);
    expect(result.metadata.duration).toBeCloseTo(bitRateDuration(pulldown, 4_000_000), 5);
    expect(result.warnings.map((warning) => warning.code)).toContain('variable_frame_rate');
  });

  it('hands a stream with a single repeated field to ffprobe (the frame rate mode depends on where it falls)', async () => {
    const once = join(dir, 'once.m2v');
    writeFileSync(once, withRepeatedFields(readFileSync(paths['cbr-interlaced.m2v']!), (n) => n === 5));
    await expect(facts(once)).rejects.toThrow(/repeated fields/);
  });

  it('hands a frame rate that find_stream_info would round (90 fps from frame_rate_extension) to ffprobe', async () => {
    const fast = join(dir, 'fast.m2v');
    await run(ffmpegPath(), ['-v', 'error', '-y', '-nostdin', ...SOURCE('352x288', '90', 1), '-c:v', 'mpeg2video', ...CBR('2M'), '-f', 'mpeg2video', fast]);
    await expect(facts(fast)).rejects.toThrow(/no standard rate/);
  });

  it('estimates a cut stream from its own size', async () => {
    const whole = readFileSync(paths['cbr-ntsc.m1v']!);
    const cut = join(dir, 'cut.m1v');
    writeFileSync(cut, whole.subarray(0, Math.floor(whole.byteLength * 0.6)));
    const result = await probe(cut);
    expect(result.details?.reader).toBe('mpeg');
    expect(result.metadata.duration).toBeCloseTo(bitRateDuration(cut, 800_000), 5);
  });

  it('hands a stream whose sequence header changes to ffprobe', async () => {
    const joined = join(dir, 'joined.m1v');
    writeFileSync(joined, Buffer.concat([readFileSync(paths['cbr-ntsc.m1v']!), readFileSync(paths['vbr-25.m1v']!)]));
    await expect(facts(joined)).rejects.toBeInstanceOf(NeedsFfprobe);
  });

  it('hands a two-frame stream to ffprobe (find_stream_info measures no frame rate from it)', async () => {
    const short = join(dir, 'short.m1v');
    await run(ffmpegPath(), ['-v', 'error', '-y', '-nostdin', ...SOURCE('352x288', '25', 0.08), '-c:v', 'mpeg1video', '-f', 'mpeg1video', short]);
    await expect(facts(short)).rejects.toBeInstanceOf(NeedsFfprobe);
  });

  it('hands a sequence header followed by no pictures to ffprobe', async () => {
    const garbage = join(dir, 'garbage.m1v');
    writeFileSync(garbage, Buffer.concat([Buffer.from([0, 0, 1, 0xb3]), Buffer.alloc(5000, 0xff)]));
    await expect(facts(garbage)).rejects.toBeInstanceOf(NeedsFfprobe);
  });
});

const corpus = '/work/shared/corpus/video';

describe.skipIf(!existsSync(corpus))('raw MPEG video corpus files', () => {
  // Values as ffprobe 5.1.9 prints them (-show_format -show_streams).
  it('filetype__fixture.mpg: MPEG-1 at Xing 15 fps, duration from the VBR marker rate', async () => {
    const result = await probe(join(corpus, 'filetype__fixture.mpg'));
    expect(result.details?.reader).toBe('mpeg');
    expect(result.metadata).toMatchObject({ fps: 15, width: 160, height: 120, file_size: 37700, mime_type: 'video/mpeg' });
    expect(result.metadata.duration).toBeCloseTo(0.002877, 6);
  });

  it('filetype__fixture2.mpg: MPEG-1 at 30000/1001, 320 kbit/s', async () => {
    const result = await probe(join(corpus, 'filetype__fixture2.mpg'));
    expect(result.details?.reader).toBe('mpeg');
    expect(result.metadata).toMatchObject({ width: 320, height: 240, file_size: 563016, mime_type: 'video/mpeg' });
    expect(result.metadata.fps).toBeCloseTo(30000 / 1001, 9);
    expect(result.metadata.duration).toBeCloseTo(14.0754, 6);
  });
});
