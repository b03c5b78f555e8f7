import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ffmpegPath } from '../scripts/fixtures-video.mjs';
import { probe } from '../src/probes/index.js';

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
    // ffprobe 5.1: avg_frame_rate 0/0, 50 packets over a 2.046 s stream; format duration 2.092 s.
    expect(result.metadata).toMatchObject({ width: 160, height: 120, mime_type: 'video/x-ms-asf', duration: 2.092 });
    expect((result.metadata as { fps: number }).fps).toBeCloseTo(50 / 2.046, 9);
    expect(result.warnings.map((w) => w.code)).toContain('unsupported_by_encord');
    expect(result.warnings.map((w) => w.code)).not.toContain('variable_frame_rate');
  });

  it('MS-MPEG4 v3 at 30000/1001 without audio', async () => {
    const result = await probe(path('msmpeg4.asf'));
    expect(result.details?.reader).toBe('asf');
    // 30 frames over 1.001 s (ffprobe 5.1: stream and format duration 1.001).
    expect(result.metadata).toMatchObject({ width: 176, height: 144, duration: 1.001 });
    expect((result.metadata as { fps: number }).fps).toBeCloseTo(30 / 1.001, 9);
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
});

const CORPUS = '/work/shared/corpus';

describe.skipIf(!existsSync(CORPUS))('ASF corpus files', () => {
  it('reads the ASF video in-process as ffprobe 5.1 describes it', async () => {
    const result = await probe(join(CORPUS, 'video/filetype__fixture.asf'));
    expect(result.details?.reader).toBe('asf');
    // expected.jsonl: 153 frames / 27.699 s, format duration 28.086 (audio starts at 0.387 s).
    expect(result.metadata).toMatchObject({ fps: 153 / 27.699, duration: 28.086, width: 160, height: 120 });
    expect(result.warnings.map((w) => w.code)).toEqual(['unsupported_by_encord', 'variable_frame_rate']);
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
