import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ffmpegPath } from '../scripts/fixtures-video.mjs';
import { NeedsFfprobe } from '../src/probes/containers/facts.js';
import { mxfVideoFacts } from '../src/probes/containers/mxf-video.js';
import { probe, probeAudio } from '../src/probes/index.js';
import { openSource } from '../src/sources/open.js';

const run = promisify(execFile);

const TONE = ['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000'];
const PICTURE = (size: string, rate: string | number) => ['-f', 'lavfi', '-i', `testsrc=size=${size}:rate=${rate}`];
const D10 = ['-c:v', 'mpeg2video', '-pix_fmt', 'yuv422p', '-g', '1', '-b:v', '50M', '-minrate', '50M', '-maxrate', '50M', '-bufsize', '2000000',
  '-rc_init_occupancy', '2000000', '-flags', '+ildct+low_delay', '-dc', '10', '-ps', '1', '-qmin', '1', '-qmax', '3', '-top', '1'];

/** Fixtures written by the @ffmpeg-installer ffmpeg: name -> arguments before the output. */
const FIXTURES: Record<string, string[]> = {
  'mpeg2-pcm.mxf': [...PICTURE('352x288', 25), ...TONE, '-t', '2', '-c:v', 'mpeg2video', '-bf', '2', '-c:a', 'pcm_s16le'],
  'mpeg2-ntsc-wide.mxf': [...PICTURE('320x240', '30000/1001'), '-t', '1', '-c:v', 'mpeg2video', '-aspect', '16:9'],
  'dv-pal.mxf': [...PICTURE('720x576', 25), '-t', '1', '-c:v', 'dvvideo', '-pix_fmt', 'yuv420p'],
  'dnxhd.mxf': [...PICTURE('1920x1080', 25), '-t', '0.2', '-c:v', 'dnxhd', '-b:v', '120M', '-pix_fmt', 'yuv422p'],
  'dnxhd-interlaced.mxf': [...PICTURE('1920x1080', 25), '-t', '0.2', '-c:v', 'dnxhd', '-b:v', '120M', '-pix_fmt', 'yuv422p', '-flags', '+ildct'],
  'mpeg2-two-frames.mxf': [...PICTURE('320x240', 25), '-frames:v', '2', '-c:v', 'mpeg2video'],
  'd10.mxf': [...PICTURE('720x608', 25), ...TONE, '-t', '1', ...D10, '-c:a', 'pcm_s16le', '-f', 'mxf_d10'],
  'pcm24-opatom.mxf': [...TONE, '-t', '1.5', '-c:a', 'pcm_s24le', '-f', 'mxf_opatom'],
};

let dir: string;
const path = (name: string) => join(dir, name);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mxf-'));
  await Promise.all(
    Object.entries(FIXTURES).map(([name, args]) => run(ffmpegPath(), ['-v', 'error', '-y', '-nostdin', ...args, path(name)])),
  );
}, 60_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A copy of a fixture without its last `drop` bytes. */
function cut(name: string, keep: (size: number) => number): string {
  const bytes = readFileSync(path(name));
  const target = path(`cut-${keep(bytes.byteLength)}-${name}`);
  writeFileSync(target, bytes.subarray(0, keep(bytes.byteLength)));
  return target;
}

const codes = (warnings: { code: string }[]) => warnings.map((warning) => warning.code);

describe('MXF video, read in-process', () => {
  // Expected values: ffprobe 5.1 (-show_format -show_streams) on the same fixtures.
  it('MPEG-2 with B-frames and PCM (OP1a): edit rate, clip duration, sequence header size', async () => {
    const result = await probe(path('mpeg2-pcm.mxf'));
    expect(result.details?.reader).toBe('mxf');
    expect(result.metadata).toMatchObject({ fps: 25, duration: 2, width: 352, height: 288, mime_type: 'application/mxf' });
    expect(codes(result.warnings)).toEqual(['unsupported_by_encord']);
  });

  it('NTSC MPEG-2 with a 16:9 descriptor: 30000/1001 fps, 30 frames, SAR 4:3', async () => {
    const result = await probe(path('mpeg2-ntsc-wide.mxf'));
    expect(result.details?.reader).toBe('mxf');
    expect(result.metadata.fps).toBeCloseTo(30000 / 1001, 9);
    expect(result.metadata).toMatchObject({ duration: 1.001, width: 320, height: 240 });
    expect(codes(result.warnings)).toEqual(['non_square_pixels', 'unsupported_by_encord']);
  });

  it('DV PAL: the DV profile size (the descriptor stores one field), SAR 16:15', async () => {
    const result = await probe(path('dv-pal.mxf'));
    expect(result.details?.reader).toBe('mxf');
    expect(result.metadata).toMatchObject({ fps: 25, duration: 1, width: 720, height: 576 });
    expect(codes(result.warnings)).toContain('non_square_pixels');
  });

  it('DNxHD: the frame header size, not the stored 1088 lines', async () => {
    const result = await probe(path('dnxhd.mxf'));
    expect(result.details?.reader).toBe('mxf');
    expect(result.metadata).toMatchObject({ fps: 25, duration: 0.2, width: 1920, height: 1080 });
  });

  it('D-10 (IMX): 720x608 from the sequence header', async () => {
    const result = await probe(path('d10.mxf'));
    expect(result.details?.reader).toBe('mxf');
    expect(result.metadata).toMatchObject({ fps: 25, duration: 1, width: 720, height: 608 });
  });

  it('interlaced DNxHD: the frame header gives one field, the decoder reports the frame', async () => {
    const result = await probe(path('dnxhd-interlaced.mxf'));
    expect(result.details?.reader).toBe('mxf');
    // ffprobe 5.1: 1920x1080 (header height 540), avg_frame_rate 25/1.
    expect(result.metadata).toMatchObject({ fps: 25, duration: 0.2, width: 1920, height: 1080 });
  });

  it('two frames are left to ffprobe (find_stream_info averages from the third packet: avg_frame_rate 0/0)', async () => {
    const source = openSource(path('mpeg2-two-frames.mxf'));
    await expect(mxfVideoFacts(source)).rejects.toBeInstanceOf(NeedsFfprobe);
    await source.close();
  });

  it('a file cut anywhere is truncated, never described from its header', async () => {
    for (const keep of [(size: number) => Math.floor(size * 0.5), (size: number) => size - 1, () => 3000]) {
      await expect(probe(cut('mpeg2-pcm.mxf', keep))).rejects.toMatchObject({ code: 'truncated' });
    }
  });
});

describe('MXF audio, read in-process', () => {
  it('OP-Atom 24-bit PCM: an audio-only MXF goes to the audio probe; all essence samples decoded', async () => {
    const result = await probe(path('pcm24-opatom.mxf'));
    expect(result.modality).toBe('audio');
    expect(result.details?.reader).toBe('mxf');
    // ffmpeg -i FILE -f null: 72960 samples at 48 kHz (the 2018 muxer pads the last edit unit).
    expect(result.metadata).toMatchObject({ duration: 1.52, sample_rate: 48000, bit_depth: 24, codec: 'pcm', num_channels: 1, mime_type: 'application/mxf' });
  });

  it('the sound track of an A/V file: frame-wrapped PCM and D-10 AES3 elements', async () => {
    const pcm = await probeAudio(path('mpeg2-pcm.mxf'));
    expect(pcm.details?.reader).toBe('mxf');
    expect(pcm.metadata).toMatchObject({ duration: 2, sample_rate: 48000, bit_depth: 16, num_channels: 1 });
    const d10 = await probeAudio(path('d10.mxf'));
    expect(d10.details?.reader).toBe('mxf');
    expect(d10.metadata).toMatchObject({ duration: 1, sample_rate: 48000, bit_depth: 16, num_channels: 1 });
  });

  it('a material track whose source track is not in the file (OP-Atom sets) is a data stream; the sound track still decodes', async () => {
    // The material package's first source clip (the picture track's) is pointed at source track 9, which does not exist:
    // ffprobe 5.1 then shows a data stream and the pcm_s16le stream (2.000000 s), no video.
    const bytes = readFileSync(path('mpeg2-pcm.mxf'));
    const sourceTrackIdTag = bytes.indexOf(Buffer.from([0x11, 0x02, 0x00, 0x04]));
    bytes[sourceTrackIdTag + 7] = 9;
    writeFileSync(path('missing-picture-track.mxf'), bytes);
    const result = await probe(path('missing-picture-track.mxf'));
    expect(result.modality).toBe('audio');
    expect(result.details?.reader).toBe('mxf');
    expect(result.metadata).toMatchObject({ duration: 2, sample_rate: 48000, bit_depth: 16, num_channels: 1 });
  });

  it('a cut audio-only file is truncated', async () => {
    await expect(probe(cut('pcm24-opatom.mxf', (size) => Math.floor(size * 0.7)))).rejects.toMatchObject({ code: 'truncated' });
  });
});

const corpus = '/work/shared/corpus';
describe.skipIf(!existsSync(corpus))('MXF corpus files', () => {
  it('filetype__fixture.mxf (MXFLib, metadata repeated in the footer, no index)', async () => {
    const result = await probe(join(corpus, 'video/filetype__fixture.mxf'));
    expect(result.details?.reader).toBe('mxf');
    // ffprobe 5.1: 720x576, avg_frame_rate 25/1, duration 10.640000, SAR 16:15.
    expect(result.metadata).toMatchObject({ fps: 25, duration: 10.64, width: 720, height: 576 });
    expect(codes(result.warnings)).toEqual(['non_square_pixels', 'unsupported_by_encord']);
  });

  it('exiftool__MXF.mxf: an empty sound element decodes to nothing', async () => {
    // ffmpeg: one packet of size 0, "Error while decoding stream"; the header declares 0 frames.
    await expect(probe(join(corpus, 'audio/exiftool__MXF.mxf'))).rejects.toMatchObject({ code: 'corrupt_file' });
  });
});
