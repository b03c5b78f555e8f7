import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ffmpegPath } from '../scripts/fixtures-video.mjs';
import { probe } from '../src/probes/index.js';
import { DecoderNeeded } from '../src/probes/audio/facts.js';
import { parseAsf } from '../src/probes/containers/asf.js';
import { NeedsFfprobe } from '../src/probes/containers/facts.js';
import { readAsfAudio } from '../src/probes/audio/wma.js';
import { BufferSource } from '../src/sources/buffer.js';

const run = promisify(execFile);

const TONE = (rate: number) => ['-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=${rate}`];
const PICTURE = (size: string, rate: string | number) => ['-f', 'lavfi', '-i', `testsrc=size=${size}:rate=${rate}`];

/** Fixtures written by the @ffmpeg-installer ffmpeg: name -> arguments before the output. */
const FIXTURES: Record<string, string[]> = {
  'wmv2-wmav2.wmv': [...PICTURE('160x120', 25), ...TONE(44100), '-t', '2', '-c:v', 'wmv2', '-c:a', 'wmav2'],
  'msmpeg4.asf': [...PICTURE('176x144', '30000/1001'), '-t', '1', '-c:v', 'msmpeg4'],
  'wmv1-sar.wmv': [...PICTURE('160x120', 25), '-t', '1', '-vf', 'setsar=4/3', '-c:v', 'wmv1'],
  'wmav1.wma': [...TONE(22050), '-t', '1', '-ac', '1', '-c:a', 'wmav1'],
  'wmav2.wma': [...TONE(44100), '-t', '2', '-ac', '2', '-c:a', 'wmav2', '-b:a', '128k'],
  'low-fps.wmv': [...PICTURE('160x120', 5), '-t', '12', '-c:v', 'msmpeg4'],
  'half-fps-wmav2.wmv': [...PICTURE('160x120', '1/2'), ...TONE(22050), '-t', '12', '-c:v', 'msmpeg4', '-c:a', 'wmav2'],
  'rv10-ac3.rm': [...PICTURE('320x240', 25), ...TONE(44100), '-t', '2', '-c:v', 'rv10', '-c:a', 'ac3'],
  'rv20.rm': [...PICTURE('176x144', 15), '-t', '2', '-c:v', 'rv20'],
  'ra144.rm': [...TONE(8000), '-t', '1', '-ac', '1', '-c:a', 'real_144'],
  'ac3.rm': [...TONE(48000), '-t', '1', '-ac', '2', '-c:a', 'ac3'],
  'h264-wmav2.asf': [...PICTURE('160x120', 25), ...TONE(44100), '-t', '2', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-c:a', 'wmav2', '-f', 'asf'],
  'mp3.asf': [...TONE(44100), '-t', '3', '-c:a', 'libmp3lame', '-f', 'asf'],
};

let dir: string;
const path = (name: string) => join(dir, name);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'asf-rm-mxf-'));
  await Promise.all(
    Object.entries(FIXTURES).map(([name, args]) => run(ffmpegPath(), ['-v', 'error', '-y', '-nostdin', ...args, path(name)])),
  );
}, 60_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A copy of a fixture cut to a fraction of its length. */
function cut(name: string, fraction: number): string {
  const bytes = readFileSync(path(name));
  const target = path(`cut-${fraction}-${name}`);
  writeFileSync(target, bytes.subarray(0, Math.floor(bytes.byteLength * fraction)));
  return target;
}

describe('ASF video, read in-process', () => {
  it('WMV2 with WMA audio: frames over the stream duration, the container spans both streams', async () => {
    const result = await probe(path('wmv2-wmav2.wmv'));
    expect(result.details?.reader).toBe('asf');
    // ffprobe 5.1: avg_frame_rate 25/1 (guessed from the frame times); format duration 2.092 s (streams start apart).
    expect(result.metadata).toMatchObject({ fps: 25, width: 160, height: 120, mime_type: 'video/x-ms-asf', duration: 2.092 });
    expect(result.warnings.map((w) => w.code)).toContain('unsupported_by_encord');
    expect(result.warnings.map((w) => w.code)).not.toContain('variable_frame_rate');
  });

  it('MS-MPEG4 v3 at 30000/1001: avg_frame_rate from the rate FFmpeg guesses from the frame times', async () => {
    const result = await probe(path('msmpeg4.asf'));
    expect(result.details?.reader).toBe('asf');
    // ffprobe 5.1: avg_frame_rate 30000/1001 (r_frame_rate guessed, mean step within a tick); duration 1.001.
    expect(result.metadata).toMatchObject({ width: 176, height: 144, duration: 1.001 });
    expect((result.metadata as { fps: number }).fps).toBeCloseTo(30000 / 1001, 9);
  });

  it('5 fps: probing stops at 5 s with fewer than 40 steps, the rate guess still holds', async () => {
    const result = await probe(path('low-fps.wmv'));
    expect(result.details?.reader).toBe('asf');
    expect((result.metadata as { fps: number }).fps).toBeCloseTo(5, 9);
  });

  it('0.5 fps with WMA: probing ends on 5 s of audio packet durations, after three frames, so no rate is guessed', async () => {
    const result = await probe(path('half-fps-wmav2.wmv'));
    expect(result.details?.reader).toBe('asf');
    // ffprobe 5.1: avg_frame_rate 0/0, 6 packets over a stream duration of 12.046 s; format duration 12.092.
    expect(result.metadata).toMatchObject({ fps: 6 / 12.046, duration: 12.092 });
  });

  it('warns about the aspect ratio the muxer stored', async () => {
    const result = await probe(path('wmv1-sar.wmv'));
    expect(result.metadata).toMatchObject({ fps: 25, duration: 1 });
    expect(result.warnings.map((w) => w.code)).toContain('non_square_pixels');
  });

  it('a cut copy is truncated', async () => {
    for (const fraction of [0.3, 0.9]) {
      await expect(probe(cut('wmv2-wmav2.wmv', fraction))).rejects.toMatchObject({ code: 'truncated' });
    }
  });
});

describe('WMA in ASF, measured in-process', () => {
  it('WMA v1 and v2: the samples the decoder plays, from the superframe headers', async () => {
    const v1 = await probe(path('wmav1.wma'));
    expect(v1.details?.reader).toBe('asf');
    // ffprobe 5.1 -show_frames: 21504 samples at 22050 Hz.
    expect(v1.metadata).toMatchObject({ codec: 'wmav1', sample_rate: 22050, num_channels: 1, bit_depth: 32, mime_type: 'audio/x-ms-wma' });
    expect((v1.metadata as { duration: number }).duration).toBeCloseTo(21504 / 22050, 9);
    const v2 = await probe(path('wmav2.wma'));
    // ffprobe 5.1 -show_frames: 88064 samples at 44100 Hz.
    expect(v2.metadata).toMatchObject({ codec: 'wmav2', sample_rate: 44100, num_channels: 2 });
    expect((v2.metadata as { duration: number }).duration).toBeCloseTo(88064 / 44100, 9);
  });

  it('a cut copy is truncated', async () => {
    await expect(probe(cut('wmav2.wma', 0.5))).rejects.toMatchObject({ code: 'truncated' });
  });

  it('a cut copy whose codec only ffmpeg decodes is truncated before the decoder sees it (MP3 in ASF)', async () => {
    for (const fraction of [0.56, 0.97]) {
      await expect(probe(cut('mp3.asf', fraction))).rejects.toMatchObject({ code: 'truncated', message: expect.stringMatching(/ASF Data object/) });
    }
  });
});

/** The WMA reader alone (no decoder fallback) on a fixture with its audio Stream Properties patched. */
async function readPatchedWma(name: string, patch: (bytes: Buffer, typeSpecific: number, typeSpecificSize: number) => void) {
  const bytes = Buffer.from(readFileSync(path(name)));
  const streamProperties = bytes.indexOf(Buffer.from('9107dcb7b7a9cf118ee600c00c205365', 'hex'));
  patch(bytes, streamProperties + 78, bytes.readUInt32LE(streamProperties + 64));
  const source = new BufferSource(bytes, name);
  const detection = { modality: 'audio' as const, mime: '', format: '', warnings: [] };
  return readAsfAudio({ source, head: bytes.subarray(0, 4096), options: {}, detection, size: () => source.size() });
}

describe('WMA in ASF handed to the decoder', () => {
  it('a block align that is not the packet size: the decoder cuts packets into block_align superframes, what they decode to is its call', async () => {
    // ffprobe 5.1 -show_frames on this fixture (743-byte packets) with nBlockAlign patched: 1 and 2 decode
    // nothing, 17 gives 1339392 samples, 371 gives 88064 (as unpatched); a mono 64 kb/s file with
    // nBlockAlign 1 (as in real files) also gives its unpatched 88064. Which pieces decode is the decoder's call.
    for (const blockAlign of [1, 2, 17, 371]) {
      const reading = readPatchedWma('wmav2.wma', (bytes, wave) => bytes.writeUInt16LE(blockAlign, wave + 12));
      await expect(reading).rejects.toBeInstanceOf(DecoderNeeded);
    }
  });

  it('audio the demuxer descrambles (span over 1, chunks dividing the packet)', async () => {
    const reading = readPatchedWma('wmav2.wma', (bytes, wave, size) => {
      bytes.writeUInt8(2, wave + size);
      bytes.writeUInt16LE(2, wave + size + 1);
      bytes.writeUInt16LE(1, wave + size + 3);
    });
    await expect(reading).rejects.toBeInstanceOf(DecoderNeeded);
  });

  it('the fixture unpatched is read in-process', async () => {
    const facts = await readPatchedWma('wmav2.wma', () => {});
    expect(facts.duration).toBeCloseTo(88064 / 44100, 9);
  });
});

describe('ASF handed to ffprobe', () => {
  /** wmav2.wma with its Data object size and File Properties fields patched. */
  function unsized(dataSize: number, declaredFileSize: (actual: number) => number, broadcast = false): BufferSource {
    const bytes = Buffer.from(readFileSync(path('wmav2.wma')));
    const fileProperties = bytes.indexOf(Buffer.from('a1dcab8c47a9cf118ee400c00c205365', 'hex'));
    const data = bytes.indexOf(Buffer.from('3626b2758e66cf11a6d900aa0062ce6c', 'hex'));
    bytes.writeBigUInt64LE(BigInt(dataSize), data + 16);
    bytes.writeBigUInt64LE(BigInt(declaredFileSize(bytes.byteLength)), fileProperties + 40);
    if (broadcast) bytes.writeUInt32LE(bytes.readUInt32LE(fileProperties + 88) | 1, fileProperties + 88);
    return new BufferSource(bytes, 'unsized.wma');
  }

  it('a Data object under 100 bytes (FFmpeg reads packets to the end): truncated when File Properties declare more than the file holds', async () => {
    await expect(parseAsf(unsized(50, (actual) => actual + 1))).rejects.toMatchObject({ code: 'truncated', message: expect.stringMatching(/File Properties/) });
    await expect(parseAsf(unsized(0, (actual) => actual * 3))).rejects.toMatchObject({ code: 'truncated' });
  });

  it('... and handed over whole when the file is as long as declared, or when the broadcast flag makes the size invalid', async () => {
    await expect(parseAsf(unsized(50, (actual) => actual))).rejects.toBeInstanceOf(NeedsFfprobe);
    await expect(parseAsf(unsized(99, () => 0))).rejects.toBeInstanceOf(NeedsFfprobe);
    await expect(parseAsf(unsized(50, (actual) => actual * 3, true))).rejects.toBeInstanceOf(NeedsFfprobe);
  });

  it('a cut copy is truncated before ffprobe describes it from its header (H.264 in ASF)', async () => {
    for (const fraction of [0.92, 0.97]) {
      await expect(probe(cut('h264-wmav2.asf', fraction))).rejects.toMatchObject({ code: 'truncated', message: expect.stringMatching(/ASF Data object/) });
    }
  });
});

describe('RealMedia, read in-process', () => {
  it('RealVideo 1 and 2: the MDPR frame rate, size and durations', async () => {
    const rv10 = await probe(path('rv10-ac3.rm'));
    expect(rv10.details?.reader).toBe('rm');
    // ffprobe 5.1: avg_frame_rate 25/1; video 2.000 s, AC-3 2.020 s, format 2.020 s.
    expect(rv10.metadata).toMatchObject({ fps: 25, duration: 2.02, width: 320, height: 240, mime_type: 'application/vnd.rn-realmedia' });
    const rv20 = await probe(path('rv20.rm'));
    expect(rv20.metadata).toMatchObject({ fps: 15, duration: 2, width: 176, height: 144 });
  });

  it('audio-only RealMedia: RealAudio 1.0 frames and byte-swapped AC-3 frames counted', async () => {
    const ra144 = await probe(path('ra144.rm'));
    expect(ra144.details?.reader).toBe('rm');
    // ffprobe 5.1 -show_frames: 8160 samples at 8000 Hz, s16.
    expect(ra144.metadata).toMatchObject({ codec: 'ra_144', sample_rate: 8000, num_channels: 1, bit_depth: 16, duration: 8160 / 8000 });
    const ac3 = await probe(path('ac3.rm'));
    // ffprobe 5.1 -show_frames: 49152 samples at 48000 Hz.
    expect(ac3.metadata).toMatchObject({ codec: 'ac3', sample_rate: 48000, num_channels: 2, duration: 49152 / 48000, mime_type: 'audio/x-pn-realaudio' });
  });

  it('a cut copy is truncated', async () => {
    await expect(probe(cut('rv10-ac3.rm', 0.6))).rejects.toMatchObject({ code: 'truncated' });
    await expect(probe(cut('ac3.rm', 0.6))).rejects.toMatchObject({ code: 'truncated' });
  });
});

const CORPUS = '/work/shared/corpus';

describe.skipIf(!existsSync(CORPUS))('ASF corpus files', () => {
  it('describes the ASF video as ffprobe 5.1 does', async () => {
    // WMA with a block align of 1: its packets have no durations, so probing ends on the frame count.
    const result = await probe(join(CORPUS, 'video/filetype__fixture.asf'));
    expect(result.details?.reader).toBe('asf');
    // expected.jsonl: 153 frames / 27.699 s, format duration 28.086 (audio starts at 0.387 s).
    expect(result.metadata).toMatchObject({ fps: 153 / 27.699, duration: 28.086, width: 160, height: 120 });
    expect(result.warnings.map((w) => w.code)).toEqual(['unsupported_by_encord', 'variable_frame_rate']);
  });

  it('reads the RealMedia files in-process', async () => {
    const video = await probe(join(CORPUS, 'video/filetype__fixture-realmedia-video.rm'));
    expect(video.details?.reader).toBe('rm');
    // expected.jsonl: avg_frame_rate 30/1, format duration 5.616.
    expect(video.metadata).toMatchObject({ fps: 30, duration: 5.616, width: 352, height: 288 });
    const audio = await probe(join(CORPUS, 'audio/filetype__fixture-realmedia-audio.rm'));
    // expected.jsonl: AC-3, decoded 35328 samples at 44100 Hz.
    expect(audio.metadata).toMatchObject({ codec: 'ac3', sample_rate: 44100, num_channels: 2, duration: 35328 / 44100 });
  });

  it('calls a WMA whose Data object has no size and whose File Properties declare more than the file holds truncated', async () => {
    // Data object of 50 bytes; File Properties declare 1563727 bytes, the file holds 9967.
    await expect(probe(join(CORPUS, 'audio/taglib__real_example.wma'))).rejects.toMatchObject({ code: 'truncated' });
  });

  it('measures WMA v2 files exactly', async () => {
    // expected.jsonl: decoded samples per file (ffmpeg 5.1).
    const cases: [string, number, number][] = [
      ['musicmeta__13 Thirty Dirty Birds.wma', 638976, 44100],
      ['musicmeta__issue_57.wma', 90112, 44100],
      ['mutagen__silence-1.wma', 178176, 48000],
    ];
    for (const [name, samples, rate] of cases) {
      const result = await probe(join(CORPUS, 'audio', name));
      expect(result.details?.reader).toBe('asf');
      expect((result.metadata as { duration: number }).duration).toBeCloseTo(samples / rate, 9);
    }
  });
});
