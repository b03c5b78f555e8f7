import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ffmpegPath } from '../scripts/fixtures-video.mjs';
import { probeAudio } from '../src/probes/audio.js';
import { probeVideo } from '../src/probes/video.js';
import { BufferSource, FileSource, StreamSource, type ByteSource } from '../src/sources/index.js';
import type { ProbeContext } from '../src/probes/types.js';

/**
 * Fragmented MP4 (moov with mvex, samples in moof/traf/trun) read in-process. Fixtures come from
 * the @ffmpeg-installer ffmpeg; the expected values are what the generator was told or, where
 * its fragment timing decides (audio beside video), what ffprobe 5.1 printed for the fixture.
 */

const run = promisify(execFile);
const context: ProbeContext = {
  options: {},
  detection: { modality: 'video', mime: 'application/octet-stream', format: '', warnings: [] },
};

const VIDEO = (size: string, rate: string | number) => ['-f', 'lavfi', '-i', `testsrc=size=${size}:rate=${rate}`];
const TONE = ['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100'];
const X264 = ['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p'];

const FIXTURES: Record<string, string[]> = {
  'keyframe.mp4': [...VIDEO('320x240', 25), '-t', '2', ...X264, '-g', '10', '-movflags', 'frag_keyframe+empty_moov'],
  'base-moof-audio.mp4': [...VIDEO('320x240', '30000/1001'), ...TONE, '-t', '2', ...X264, '-c:a', 'aac', '-g', '15', '-movflags', 'frag_keyframe+empty_moov+default_base_moof'],
  'frag-duration.mp4': [...VIDEO('176x144', 24), '-t', '3', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-bf', '2', '-movflags', 'empty_moov', '-frag_duration', '500000'],
  'dash.mp4': [...VIDEO('320x240', 25), '-t', '3', ...X264, '-g', '25', '-movflags', 'dash+frag_keyframe+empty_moov'],
  'global-sidx.mp4': [...VIDEO('320x240', 25), '-t', '3', ...X264, '-g', '25', '-movflags', 'dash+frag_keyframe+empty_moov+global_sidx'],
  'moov-samples.mp4': [...VIDEO('320x240', 25), '-t', '2', ...X264, '-g', '10', '-movflags', 'frag_keyframe'],
  'opus.mp4': ['-f', 'lavfi', '-i', 'sine=r=48000:d=1.5', '-c:a', 'libopus', '-strict', '-2'],
  'dts.mp4': ['-f', 'lavfi', '-i', 'sine=r=48000:d=1.5', '-ac', '2', '-strict', '-2', '-c:a', 'dca'],
  'fragmented.m4a': ['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100:d=2.5', '-c:a', 'aac', '-movflags', 'frag_keyframe+empty_moov', '-frag_duration', '500000'],
  'fragmented-opus.mp4': ['-f', 'lavfi', '-i', 'sine=r=48000:d=1.5', '-c:a', 'libopus', '-strict', '-2', '-movflags', 'frag_keyframe+empty_moov', '-frag_duration', '300000'],
  'opus-no-edit.mp4': ['-f', 'lavfi', '-i', 'sine=r=48000:d=1.5', '-c:a', 'libopus', '-strict', '-2', '-use_editlist', '0'],
  'portrait.mp4': [...VIDEO('320x180', 24), '-t', '2', ...X264, '-movflags', 'frag_keyframe+empty_moov'],
};

let dir: string;
const path = (name: string) => join(dir, name);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mp4-fragments-'));
  const ffmpeg = ffmpegPath();
  await Promise.all(Object.entries(FIXTURES).map(([name, args]) => run(ffmpeg, ['-v', 'error', '-y', ...args, path(name)])));
}, 120_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

function probe(source: ByteSource) {
  return probeVideo(source, context);
}

const probeFile = (name: string) => probe(new FileSource(path(name)));

/** Top-level boxes of an MP4 held in memory: [type, start, size]. */
function topBoxes(bytes: Uint8Array): [string, number, number][] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const boxes: [string, number, number][] = [];
  for (let at = 0; at + 8 <= bytes.byteLength; ) {
    const size = view.getUint32(at);
    boxes.push([Buffer.from(bytes.subarray(at + 4, at + 8)).toString('latin1'), at, size]);
    at += size;
  }
  return boxes;
}

describe('fragmented MP4 read in-process', () => {
  it('frag_keyframe+empty_moov: rate and duration from the fragments', async () => {
    const result = await probeFile('keyframe.mp4');
    expect(result.metadata).toMatchObject({ fps: 25, duration: 2, width: 320, height: 240, mime_type: 'video/mp4' });
    expect(result.details).toMatchObject({ reader: 'mp4' });
  });

  it('default_base_moof with AAC beside the video: the format duration spans both streams', async () => {
    const result = await probeFile('base-moof-audio.mp4');
    // ffprobe 5.1 on this fixture: avg_frame_rate 1800000/60757, format duration 2.025233.
    expect(result.metadata.fps).toBeCloseTo(1800000 / 60757, 9);
    expect(result.metadata).toMatchObject({ duration: 2.025233, width: 320, height: 240 });
    expect(result.details).toMatchObject({ reader: 'mp4' });
  });

  it('-frag_duration with B-frames: the start offset of the first picture does not lengthen the file', async () => {
    const result = await probeFile('frag-duration.mp4');
    expect(result.metadata).toMatchObject({ fps: 24, duration: 3, width: 176, height: 144 });
    expect(result.details).toMatchObject({ reader: 'mp4' });
  });

  it('calls a file cut at a fragment boundary truncated when a sidx indexes the missing fragments', async () => {
    const whole = readFileSync(path('global-sidx.mp4'));
    const fragments = topBoxes(whole).filter(([type]) => type === 'moof').map(([, start]) => start);
    expect(fragments.length).toBeGreaterThan(1);
    for (const cut of fragments.slice(1)) {
      await expect(probe(new BufferSource(whole.subarray(0, cut), 'cut.mp4'))).rejects.toMatchObject({ code: 'truncated', message: expect.stringMatching(/segment index covers/) });
    }
  });

  it('calls a file that ends a few bytes into a box header truncated, not the fragments before it the whole', async () => {
    const whole = readFileSync(path('keyframe.mp4'));
    const fragments = topBoxes(whole).filter(([type]) => type === 'moof').map(([, start]) => start);
    for (const cut of fragments.slice(1).flatMap((start) => [start + 1, start + 7])) {
      await expect(probe(new BufferSource(whole.subarray(0, cut), 'cut.mp4'))).rejects.toMatchObject({ code: 'truncated', message: expect.stringMatching(/inside a box header/) });
    }
  });

  it('a sidx per fragment (dash) and one sidx over the whole file (global_sidx)', async () => {
    for (const name of ['dash.mp4', 'global-sidx.mp4']) {
      const result = await probeFile(name);
      expect(result.metadata, name).toMatchObject({ fps: 25, duration: 3, width: 320, height: 240 });
      expect(result.details, name).toMatchObject({ reader: 'mp4' });
    }
  });

  it('samples in the moov and in fragments', async () => {
    const result = await probeFile('moov-samples.mp4');
    expect(result.metadata).toMatchObject({ fps: 25, duration: 2, width: 320, height: 240 });
    expect(result.details).toMatchObject({ reader: 'mp4' });
  });

  it('applies the track display matrix', async () => {
    // This ffmpeg build ignores rotate=, so the tkhd matrix is set to a quarter turn (ffprobe: -90).
    const bytes = Buffer.from(readFileSync(path('portrait.mp4')));
    const tkhd = bytes.indexOf('tkhd') + 4;
    [0, 0x10000, 0, -0x10000, 0, 0, 0, 0, 0x40000000].forEach((value, i) => bytes.writeInt32BE(value, tkhd + 40 + 4 * i));
    const result = await probe(new BufferSource(bytes, 'rotated.mp4'));
    expect(result.metadata).toMatchObject({ fps: 24, duration: 2, width: 180, height: 320 });
    expect(result.warnings.map((w) => w.code)).toContain('rotation_applied');
    expect(result.details).toMatchObject({ reader: 'mp4' });
  });

  it('reads a forward-only stream', async () => {
    const bytes = readFileSync(path('keyframe.mp4'));
    const result = await probe(new StreamSource(ReadableFromBytes(bytes), 'keyframe.mp4'));
    expect(result.metadata).toMatchObject({ fps: 25, duration: 2, width: 320, height: 240 });
  });

  it('an init segment alone states no frame rate', async () => {
    const bytes = readFileSync(path('keyframe.mp4'));
    const firstFragment = topBoxes(bytes).find(([type]) => type === 'moof')!;
    await expect(probe(new BufferSource(bytes.subarray(0, firstFragment[1]), 'init.mp4'))).rejects.toMatchObject({ code: 'unknown_frame_rate' });
  });

  it('a file cut inside a fragment is truncated', async () => {
    const bytes = readFileSync(path('keyframe.mp4'));
    await expect(probe(new BufferSource(bytes.subarray(0, Math.floor(bytes.byteLength * 0.7)), 'cut.mp4'))).rejects.toMatchObject({ code: 'truncated' });
  });

  it('a trun whose samples run past the end is truncated even when every box header fits', async () => {
    const bytes = Buffer.from(readFileSync(path('keyframe.mp4')));
    const lastData = topBoxes(bytes).filter(([type]) => type === 'mdat').at(-1)!;
    const cut = bytes.subarray(0, lastData[1] + Math.floor(lastData[2] / 2));
    cut.writeUInt32BE(cut.byteLength - lastData[1], lastData[1]);
    const file = path('short-mdat.mp4');
    writeFileSync(file, cut);
    await expect(probe(new FileSource(file))).rejects.toMatchObject({ code: 'truncated', message: expect.stringMatching(/fragment places samples/) });
  });
});

/** A Node stream over bytes, delivered in small chunks like a network body. */
function ReadableFromBytes(bytes: Uint8Array) {
  return (async function* () {
    for (let at = 0; at < bytes.byteLength; at += 4096) yield bytes.subarray(at, at + 4096);
  })();
}

describe('MP4 audio whose packets state their length', () => {
  const audio = (name: string) => probeAudio(new FileSource(path(name)), { ...context, detection: { ...context.detection, modality: 'audio' } });

  it('Opus: TOC durations less the pre-skip the edit list carries', async () => {
    const result = await audio('opus.mp4');
    // ffprobe 5.1 -show_frames on this fixture: 72648 decoded samples at 48 kHz.
    expect(result.metadata).toMatchObject({ codec: 'opus', sample_rate: 48000, num_channels: 1, bit_depth: 32, mime_type: 'audio/mp4' });
    expect(result.metadata.duration).toBeCloseTo(72648 / 48000, 9);
    expect(result.details).toMatchObject({ reader: 'mp4' });
  });

  it('fragmented AAC: every fragment packet decodes, no edit applies to them', async () => {
    const result = await audio('fragmented.m4a');
    // ffprobe 5.1 -show_frames on this fixture: 111616 decoded samples (109 packets of 1024) at 44.1 kHz.
    expect(result.metadata).toMatchObject({ codec: 'aac', sample_rate: 44100, num_channels: 1 });
    expect(result.metadata.duration).toBeCloseTo(111616 / 44100, 9);
    expect(result.details).toMatchObject({ reader: 'mp4' });
  });

  it('Opus without an edit list: the decoder still skips the pre-skip', async () => {
    const result = await audio('opus-no-edit.mp4');
    // ffprobe 5.1 -show_frames on this fixture: 72648 decoded samples at 48 kHz.
    expect(result.metadata.duration).toBeCloseTo(72648 / 48000, 9);
    expect(result.details).toMatchObject({ reader: 'mp4' });
  });

  it('fragmented Opus: TOC durations of every fragment packet less the pre-skip', async () => {
    const result = await audio('fragmented-opus.mp4');
    // ffprobe 5.1 -show_frames on this fixture: 72648 decoded samples at 48 kHz (no edit list; dOps pre-skip 312).
    expect(result.metadata).toMatchObject({ codec: 'opus', sample_rate: 48000, num_channels: 1 });
    expect(result.metadata.duration).toBeCloseTo(72648 / 48000, 9);
    expect(result.details).toMatchObject({ reader: 'mp4' });
  });

  it('DTS core: 32 samples per PCM block of every frame', async () => {
    const result = await audio('dts.mp4');
    // ffprobe 5.1 -show_frames on this fixture: 72192 decoded samples at 48 kHz.
    expect(result.metadata).toMatchObject({ codec: 'dts', sample_rate: 48000, num_channels: 2, bit_depth: 32 });
    expect(result.metadata.duration).toBeCloseTo(72192 / 48000, 9);
    expect(result.details).toMatchObject({ reader: 'mp4' });
  });
});

const audioCorpus = '/work/shared/corpus/audio';

describe.skipIf(!existsSync(audioCorpus))('MP4 audio corpus files (expected values from corpus/expected.jsonl)', () => {
  const cases: [string, Record<string, number | string>][] = [
    ['taglib__opus.m4a', { duration: 48648 / 48000, sample_rate: 48000, num_channels: 2, codec: 'opus' }],
    ['mediabunny__toothsome-dts.mp4', { duration: 924160 / 24000, sample_rate: 24000, num_channels: 2, codec: 'dts' }],
    ['mediabunny__toothsome-dts-esds.mp4', { duration: 924160 / 24000, sample_rate: 24000, num_channels: 2, codec: 'dts' }],
  ];
  it.each(cases)('%s', async (name, expected) => {
    const result = await probeAudio(new FileSource(join(audioCorpus, name)), { ...context, detection: { ...context.detection, modality: 'audio' } });
    expect(result.details).toMatchObject({ reader: 'mp4' });
    const { duration, ...rest } = expected;
    expect(result.metadata).toMatchObject(rest);
    expect(result.metadata.duration).toBeCloseTo(duration as number, 6);
  });
});

const corpus = '/work/shared/corpus/video';

describe.skipIf(!existsSync(corpus))('fragmented corpus files (expected values from corpus/expected.jsonl, ffprobe 5.1)', () => {
  const cases: [string, Record<string, number>][] = [
    ['gomp4__sample_fragmented.mp4', { fps: 10, duration: 1.209592, width: 1280, height: 720 }],
    ['mediabunny__rotate-buck-bunny.mp4', { fps: 24, duration: 2.005333, width: 1080, height: 1920 }],
    ['mp4parse__av1-clearkey-cbcs-video.mp4', { fps: 500000 / 20833, duration: 0.999984, width: 160, height: 90 }],
    ['mp4parse__no_timescale.mp4', { fps: 2500 / 83, duration: 6.0424, width: 320, height: 240 }],
  ];
  it.each(cases)('%s', async (name, expected) => {
    const result = await probe(new FileSource(join(corpus, name)));
    expect(result.details).toMatchObject({ reader: 'mp4' });
    const { fps, duration, ...rest } = expected;
    expect(result.metadata).toMatchObject(rest);
    expect(result.metadata.fps).toBeCloseTo(fps!, 9);
    expect(result.metadata.duration).toBeCloseTo(duration!, 6);
  });

  it('an init segment (encrypted audio beside it) is unknown_frame_rate', async () => {
    await expect(probe(new FileSource(join(corpus, 'gomp4__sample_init.enca.mp4')))).rejects.toMatchObject({ code: 'unknown_frame_rate' });
  });
});
