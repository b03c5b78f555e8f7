import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probeVideoFile, writeVideoFixtures } from './helpers/video.js';
import { ffmpegPath } from '../scripts/fixtures-video.mjs';
import { ProbeError } from '../src/errors.js';
import { FrameRateGuess } from '../src/probes/containers/frame-rate-guess.js';
import { averageFrameRate, MPEG_CLOCK } from '../src/probes/containers/mpeg-rates.js';

const run = promisify(execFile);


const VIDEO = (size: string, rate: string) => ['-f', 'lavfi', '-i', `testsrc=size=${size}:rate=${rate}`];
/** testsrc2 moves: its frames do not compress to a few hundred bytes. */
const VIDEO2 = (size: string, rate: string) => ['-f', 'lavfi', '-i', `testsrc2=size=${size}:rate=${rate}`];
const TONE = ['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000'];
const X264 = ['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p'];

/** name -> generator arguments, and what the generator was told. */
const FIXTURES: Record<string, { args: string[]; fps: number; seconds: number; width: number; height: number }> = {
  'h264-25.ts': { args: [...VIDEO('320x240', '25'), '-t', '2', ...X264], fps: 25, seconds: 2, width: 320, height: 240 },
  'h264-ntsc-aac.ts': { args: [...VIDEO('320x240', '30000/1001'), ...TONE, '-t', '2', ...X264, '-bf', '2', '-c:a', 'aac'], fps: 30000 / 1001, seconds: 2, width: 320, height: 240 },
  // DVB signalling: AC-3 as PES private data (stream type 6) with an AC-3 descriptor.
  'h264-ac3-dvb.ts': { args: [...VIDEO('320x240', '25'), ...TONE, '-t', '1', ...X264, '-c:a', 'ac3', '-mpegts_flags', 'system_b'], fps: 25, seconds: 1, width: 320, height: 240 },
  'h264-50.m2ts': { args: [...VIDEO('352x288', '50'), ...TONE, '-t', '1', ...X264, '-c:a', 'ac3', '-mpegts_m2ts_mode', '1'], fps: 50, seconds: 1, width: 352, height: 288 },
  'mpeg2-25.ts': { args: [...VIDEO('720x576', '25'), ...TONE, '-t', '2', '-c:v', 'mpeg2video', '-c:a', 'mp2'], fps: 25, seconds: 2, width: 720, height: 576 },
  'mpeg1-ntsc.ts': { args: [...VIDEO('320x240', '30000/1001'), '-t', '2', '-c:v', 'mpeg1video'], fps: 30000 / 1001, seconds: 2, width: 320, height: 240 },
  // A keyframe (with SPS and PPS) every 12 frames, so that a copy may start between them.
  'h264-25-gop12.ts': { args: [...VIDEO('320x240', '25'), '-t', '2', ...X264, '-g', '12', '-keyint_min', '12', '-sc_threshold', '0'], fps: 25, seconds: 2, width: 320, height: 240 },
  'h264-25-gop60-aac.ts': { args: [...VIDEO('320x240', '25'), ...TONE, '-t', '8', ...X264, '-g', '60', '-keyint_min', '60', '-sc_threshold', '0', '-c:a', 'aac'], fps: 25, seconds: 8, width: 320, height: 240 },
};

/** Program streams: bitrates high enough that every frame opens in a PES of its own. */
const PROGRAM_STREAMS: typeof FIXTURES = {
  'mpeg2-25.vob': { args: [...VIDEO2('720x576', '25'), ...TONE, '-t', '1', '-c:v', 'mpeg2video', '-b:v', '8M', '-c:a', 'mp2', '-f', 'vob'], fps: 25, seconds: 1, width: 720, height: 576 },
  'mpeg1-ntsc.mpg': { args: [...VIDEO2('352x288', '30000/1001'), '-t', '1', '-c:v', 'mpeg1video', '-b:v', '4M', '-f', 'mpeg'], fps: 30000 / 1001, seconds: 1, width: 352, height: 288 },
};

let dir: string;
const paths: Record<string, string> = {};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mpeg-ts-test-'));
  const fixtures = Object.entries({ ...FIXTURES, ...PROGRAM_STREAMS }).map(([name, { args }]) => [name, args]);
  Object.assign(paths, await writeVideoFixtures(dir, Object.fromEntries(fixtures)));
}, 120_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const probe = (path: string) => probeVideoFile(path, 'video/mp2t');

describe('MPEG-TS and MPEG-PS video in-process', () => {
  it('times a 3-frame 24000/1001 TS as ffprobe does (its rate guess needs codec_info_duration >= 1001*11.5/rate)', async () => {
    const path = join(dir, 'three-frames.ts');
    await run(ffmpegPath(), ['-v', 'error', '-y', '-nostdin', ...VIDEO('160x128', '24000/1001'), '-frames:v', '3', ...X264, path]);
    const result = await probe(path);
    expect(result.details?.reader).toBe('mpegts');
    expect(result.metadata).toMatchObject({ fps: 24000 / 1001, duration: 0.125122 }); // ffprobe 5.1: r_frame_rate 24000/1001, 0.125122 s
  });

  it('calls a TS cut inside a packet truncated, but not one that ends in stray bytes opening with the sync byte', async () => {
    const ts = readFileSync(paths['h264-25.ts']!);
    const cut = join(dir, 'cut-in-packet.ts');
    writeFileSync(cut, ts.subarray(0, ts.byteLength - 188 + 100));
    await expect(probe(cut)).rejects.toMatchObject({ code: 'truncated', message: expect.stringMatching(/transport packet holds only 100 bytes/) });
    // 0x47 then a PID no packet of the file carries: ffprobe reads the packets before (2 s, 25 fps).
    const stray = join(dir, 'stray-bytes.ts');
    writeFileSync(stray, Buffer.concat([ts, Buffer.from([0x47, 0x07, 0x21, 0x52, 0x41, 0xfd, 0x3b])]));
    expect((await probe(stray)).metadata).toMatchObject({ fps: 25, duration: 2, width: 320, height: 240 });
  });

  it('leaves a TS whose PMT lists no stream at all to ffprobe (FFmpeg then makes streams of the PES it meets)', async () => {
    const ts = Buffer.from(readFileSync(paths['h264-25.ts']!));
    const pid = (at: number) => ((ts[at + 1]! & 0x1f) << 8) | ts[at + 2]!;
    let pat = 0;
    while (pid(pat) !== 0) pat += 188;
    const pmtPid = ((ts[pat + 5 + 10]! & 0x1f) << 8) | ts[pat + 5 + 11]!; // the PAT's only program
    for (let at = 0; at + 188 <= ts.byteLength; at += 188) {
      if (pid(at) !== pmtPid || !(ts[at + 1]! & 0x40)) continue;
      const section = at + 4 + 1 + ts[at + 4]!; // after the pointer field
      const programInfo = ((ts[section + 10]! & 0x0f) << 8) | ts[section + 11]!;
      ts.writeUInt16BE(0xb000 | (13 + programInfo), section + 1); // section_length: no ES loop left
    }
    const emptied = join(dir, 'empty-pmt.ts');
    writeFileSync(emptied, ts);
    const result = await probe(emptied);
    expect(result.details?.reader).toBe('ffprobe');
    expect(result.metadata).toMatchObject({ fps: 25, width: 320, height: 240 });
  });

  it('says no_video_stream for a TS whose PMT lists only audio, without ffprobe (the audio probe takes it)', async () => {
    const path = join(dir, 'ac3-only.ts');
    await run(ffmpegPath(), ['-v', 'error', '-y', '-nostdin', ...TONE, '-t', '1', '-c:a', 'ac3', path]);
    // 'lists only audio' is the reader's wording; through ffprobe the message would not say it.
    await expect(probe(path)).rejects.toMatchObject({ code: 'no_video_stream', message: expect.stringMatching(/PMT lists only audio/) });
  });

  for (const [name, expected] of Object.entries(FIXTURES)) {
    it(`reads ${name} without ffprobe`, async () => {
      const result = await probe(paths[name]!);
      expect(result.details?.reader).toBe('mpegts');
      expect(result.metadata.fps).toBeCloseTo(expected.fps, 9);
      expect(result.metadata.width).toBe(expected.width);
      expect(result.metadata.height).toBe(expected.height);
      expect(result.metadata.mime_type).toBe('video/mp2t');
      // The last frame's or audio packet's end: within a tenth of a second of what was asked for.
      expect(Math.abs(result.metadata.duration - expected.seconds)).toBeLessThan(0.1);
    });
  }

  for (const [name, expected] of Object.entries(PROGRAM_STREAMS)) {
    it(`reads the program stream ${name} without ffprobe`, async () => {
      const result = await probe(paths[name]!);
      expect(result.details?.reader).toBe('mpeg');
      expect(result.metadata.fps).toBeCloseTo(expected.fps, 9);
      expect(result.metadata).toMatchObject({ width: expected.width, height: expected.height, mime_type: 'video/mpeg' });
      expect(Math.abs(result.metadata.duration - expected.seconds)).toBeLessThan(0.1);
    });
  }

  it('calls a program stream whose last PES runs past the end truncated', async () => {
    const whole = readFileSync(paths['mpeg2-25.vob']!);
    const cut = join(dir, 'cut.vob');
    const lastVideoPes = whole.lastIndexOf(Buffer.from([0, 0, 1, 0xe0]));
    writeFileSync(cut, whole.subarray(0, lastVideoPes + 100));
    await expect(probe(cut)).rejects.toMatchObject({ code: 'truncated' });
  });

  it('never answers in-process for a copy cut at a packet boundary inside a frame', async () => {
    const whole = readFileSync(paths['h264-25.ts']!);
    const cut = join(dir, 'cut.ts');
    writeFileSync(cut, whole.subarray(0, cutInsideVideoPes(whole)));
    const outcome = await probe(cut).catch((error: unknown) => error);
    if (!(outcome instanceof ProbeError)) expect((outcome as { details?: { reader?: string } }).details?.reader).not.toBe('mpegts');
  });

  it('counts a padding packet flagged as carrying a payload in the continuity counter, as FFmpeg does', async () => {
    const whole = readFileSync(paths['h264-ntsc-aac.ts']!);
    const padded = join(dir, 'padded.ts');
    writeFileSync(padded, withVideoPadding(whole, 5));
    const [plain, result] = [await probe(paths['h264-ntsc-aac.ts']!), await probe(padded)];
    expect(result.details?.reader).toBe('mpegts');
    expect(result.metadata).toEqual({ ...plain.metadata, file_size: whole.byteLength + 5 * 188 });
  });

  it('never answers in-process once a video packet is lost', async () => {
    const whole = readFileSync(paths['h264-ntsc-aac.ts']!);
    const at = 188 * (videoPacketIndices(whole)[3]!);
    const lossy = join(dir, 'lossy.ts');
    writeFileSync(lossy, Buffer.concat([whole.subarray(0, at), whole.subarray(at + 188)]));
    const outcome = await probe(lossy).catch((error: unknown) => error);
    if (!(outcome instanceof ProbeError)) expect((outcome as { details?: { reader?: string } }).details?.reader).not.toBe('mpegts');
  });

  it('times a stream cut before its first SPS as FFmpeg does: the pictures before it get no duration', async () => {
    const whole = readFileSync(paths['h264-25-gop12.ts']!);
    // The first 5 frames dropped: 7 pictures precede the next keyframe's SPS and PPS.
    const cut = join(dir, 'no-initial-sps.ts');
    writeFileSync(cut, withoutLeadingVideoPes(whole, 5));
    const result = await probe(cut);
    expect(result.details?.reader).toBe('mpegts');
    expect(result.metadata).toMatchObject({ fps: 25, width: 320, height: 240 });
    // 45 of the 50 frames asked for remain, 40 ms each.
    expect(result.metadata.duration).toBeCloseTo(1.8, 6);
  });

  it('leaves to ffprobe a stream whose first SPS comes over 4 s after the audio starts (the audio analysis may end find_stream_info first)', async () => {
    const whole = readFileSync(paths['h264-25-gop60-aac.ts']!);
    // 100 frames (4 s) of video dropped, the audio kept: the SPS comes at 4.8 s of audio.
    const late = join(dir, 'late-sps.ts');
    writeFileSync(late, withoutLeadingVideoPes(whole, 100));
    const outcome = await probe(late).catch((error: unknown) => error);
    if (!(outcome instanceof ProbeError)) expect((outcome as { details?: { reader?: string } }).details?.reader).not.toBe('mpegts');
  });

  it('reads every frame of find_stream_info\'s 7 s window: a rate change 2.5 s in (continuity counters joined) goes to ffprobe', async () => {
    const first = join(dir, 'join-25.ts');
    const second = join(dir, 'join-50.ts');
    await run(ffmpegPath(), ['-v', 'error', '-y', '-nostdin', ...VIDEO2('320x240', '25'), '-t', '2.5', ...X264, '-g', '30', first]);
    await run(ffmpegPath(), ['-v', 'error', '-y', '-nostdin', ...VIDEO2('320x240', '50'), '-t', '2.5', ...X264, '-g', '30', '-output_ts_offset', '2.5', second]);
    const joined = join(dir, 'join-25-50.ts');
    writeFileSync(joined, withContinuousCounters(Buffer.concat([readFileSync(first), readFileSync(second)])));
    const result = await probe(joined);
    // Debian ffprobe 5.1.9 on such a join: avg_frame_rate 50/1 (the first 40 frames say 25).
    expect(result.details).toMatchObject({ reader: 'ffprobe', fallbackReason: expect.stringMatching(/SPS changes/) });
  });

  it('answers in-process for a rate change past the window: 8 s of 25 fps, then 50 fps (the last frame lasts 1/r_frame_rate)', async () => {
    const first = join(dir, 'join-25-8s.ts');
    const second = join(dir, 'join-50-after-8s.ts');
    await run(ffmpegPath(), ['-v', 'error', '-y', '-nostdin', ...VIDEO2('320x240', '25'), '-t', '8', ...X264, '-g', '30', first]);
    await run(ffmpegPath(), ['-v', 'error', '-y', '-nostdin', ...VIDEO2('320x240', '50'), '-t', '2.5', ...X264, '-g', '30', '-output_ts_offset', '8', second]);
    const joined = join(dir, 'join-25-8s-50.ts');
    writeFileSync(joined, withContinuousCounters(Buffer.concat([readFileSync(first), readFileSync(second)])));
    const result = await probe(joined);
    expect(result.details?.reader).toBe('mpegts');
    // Debian ffprobe 5.1.9 on the same recipe: avg_frame_rate 25/1, r_frame_rate 25/1, format.duration 10.520000.
    expect(result.metadata.fps).toBe(25);
    expect(result.metadata.duration).toBeCloseTo(10.52, 6);
  });

  it('leaves to ffprobe a file whose last audio frames are of another sample rate than the first', async () => {
    const first = join(dir, 'ac3-48k.ts');
    const second = join(dir, 'ac3-32k.ts');
    const tone = (rate: number) => ['-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=${rate}`];
    await run(ffmpegPath(), ['-v', 'error', '-y', '-nostdin', ...VIDEO2('320x240', '25'), ...tone(48000), '-t', '8', ...X264, '-g', '30', '-c:a', 'ac3', first]);
    await run(ffmpegPath(), ['-v', 'error', '-y', '-nostdin', ...VIDEO2('320x240', '25'), ...tone(32000), '-t', '3', ...X264, '-g', '30', '-c:a', 'ac3', '-output_ts_offset', '8', second]);
    const joined = join(dir, 'ac3-48k-32k.ts');
    writeFileSync(joined, withContinuousCounters(Buffer.concat([readFileSync(first), readFileSync(second)])));
    expect((await probe(joined)).details).toMatchObject({ reader: 'ffprobe', fallbackReason: expect.stringMatching(/audio frames at the end/) });
  });

  it('leaves to ffprobe frames spaced wider at the head than in the rest of the window (r_frame_rate changes with the frames analysed)', async () => {
    const path = join(dir, 'vfr-dense-after-5s.ts');
    await run(ffmpegPath(), ['-v', 'error', '-y', '-nostdin', ...VIDEO2('320x240', '50'), '-t', '10', '-vf', "select='gte(t,5)+not(mod(n,3))'", '-vsync', 'vfr', ...X264, '-g', '30', path]);
    // Debian ffprobe 5.1.9: r_frame_rate 50/1 from the whole window, format.duration 10.000000; the head alone says 50/3.
    expect((await probe(path)).details).toMatchObject({ reader: 'ffprobe', fallbackReason: expect.stringMatching(/r_frame_rate/) });
  });

  it('times the last frame by r_frame_rate when the whole window agrees on it (every third frame of 50 fps)', async () => {
    const path = join(dir, 'vfr-every-third.ts');
    await run(ffmpegPath(), ['-v', 'error', '-y', '-nostdin', ...VIDEO2('320x240', '50'), '-t', '10', '-vf', "select='not(mod(n,3))'", '-vsync', 'vfr', ...X264, '-g', '30', path]);
    const result = await probe(path);
    expect(result.details?.reader).toBe('mpegts');
    // Debian ffprobe 5.1.9 on the same recipe: avg_frame_rate 50/1 (the SPS), r_frame_rate 50/3, format.duration 10.020000.
    expect(result.metadata.fps).toBe(50);
    expect(result.metadata.duration).toBeCloseTo(10.02, 6);
  });

  it('calls a copy cut inside a packet truncated', async () => {
    const whole = readFileSync(paths['mpeg2-25.ts']!);
    const cut = join(dir, 'cut-inside.ts');
    writeFileSync(cut, whole.subarray(0, whole.byteLength - 100));
    await expect(probe(cut)).rejects.toMatchObject({ code: 'truncated' });
  });
});

/** ffmpeg's mpegts muxer puts the first video stream on PID 0x100. */

function videoPacketIndices(ts: Uint8Array): number[] {
  const indices: number[] = [];
  for (let i = 0; 188 * (i + 1) <= ts.byteLength; i++) if ((((ts[188 * i + 1]! & 0x1f) << 8) | ts[188 * i + 2]!) === VIDEO_PID) indices.push(i);
  return indices;
}

/**
 * The stream with `count` video packets inserted after the fourth one: payload flag set, but an
 * adaptation field of stuffing fills them (as some muxers pad); later video packets' continuity
 * counters move on by `count`.
 */
function withVideoPadding(ts: Uint8Array, count: number): Buffer {
  const video = videoPacketIndices(ts);
  const after = video[3]!;
  const packets = Array.from({ length: ts.byteLength / 188 }, (_, i) => Buffer.from(ts.subarray(188 * i, 188 * (i + 1))));
  for (const i of video.filter((index) => index > after)) packets[i]![3] = (packets[i]![3]! & 0xf0) | ((packets[i]![3]! + count) & 15);
  const counter = packets[after]![3]! & 15;
  const padding = Array.from({ length: count }, (_, k) => {
    const packet = Buffer.alloc(188, 0xff);
    packet.set([0x47, VIDEO_PID >> 8, VIDEO_PID & 0xff, 0x30 | ((counter + 1 + k) & 15), 183, 0]);
    return packet;
  });
  return Buffer.concat([...packets.slice(0, after + 1), ...padding, ...packets.slice(after + 1)]);
}
const VIDEO_PID = 0x100;

/** The stream without the transport packets of its first `count` video PES packets. */
function withoutLeadingVideoPes(ts: Uint8Array, count: number): Buffer {
  const kept: Uint8Array[] = [];
  let pes = -1;
  for (let at = 0; at + 188 <= ts.byteLength; at += 188) {
    const packet = ts.subarray(at, at + 188);
    const isVideo = (((packet[1]! & 0x1f) << 8) | packet[2]!) === VIDEO_PID;
    if (isVideo && packet[1]! & 0x40) pes++;
    if (!isVideo || pes >= count) kept.push(packet);
  }
  return Buffer.concat(kept);
}

/** The end of the first packet of a video PES, from the middle of the file on, whose PES goes on in the next video packet. */
function cutInsideVideoPes(ts: Uint8Array): number {
  const pid = (at: number) => ((ts[at + 1]! & 0x1f) << 8) | ts[at + 2]!;
  const starts = (at: number) => (ts[at + 1]! & 0x40) !== 0;
  let opened = -1;
  for (let at = 188 * Math.floor(ts.byteLength / 376); at + 188 <= ts.byteLength; at += 188) {
    if (pid(at) !== VIDEO_PID) continue;
    if (opened >= 0 && !starts(at)) return opened + 188;
    opened = starts(at) ? at : -1;
  }
  throw new Error('no video PES spans two packets');
}

/** Transport packets renumbered so that every PID's continuity counter runs on across a join. */
function withContinuousCounters(ts: Buffer): Buffer {
  const counters = new Map<number, number>();
  for (let at = 0; at + 188 <= ts.byteLength; at += 188) {
    const pid = ((ts[at + 1]! & 0x1f) << 8) | ts[at + 2]!;
    const carriesPayload = (ts[at + 3]! & 0x10) !== 0;
    const previous = counters.get(pid);
    const counter = previous === undefined ? ts[at + 3]! & 15 : (previous + (carriesPayload ? 1 : 0)) & 15;
    ts[at + 3] = (ts[at + 3]! & 0xf0) | counter;
    counters.set(pid, counter);
  }
  return ts;
}

describe('FFmpeg frame rate estimates', () => {
  it('rounds a measured frame length to the standard rate', () => {
    expect(averageFrameRate(3003)).toEqual({ num: 30000, den: 1001 });
    expect(averageFrameRate(3753)).toEqual({ num: 24000, den: 1001 });
    expect(averageFrameRate(1501)).toEqual({ num: 60000, den: 1001 });
    expect(averageFrameRate(3600)).toEqual({ num: 25, den: 1 });
  });

  it('takes r_frame_rate from the common DTS step, or the best-fitting grid', () => {
    const steady = new FrameRateGuess({ num: 1, den: MPEG_CLOCK });
    for (let i = 0; i < 30; i++) steady.add(126000 + 3600 * i);
    expect(steady.rFrameRate(28 * 3600)).toEqual({ num: 25, den: 1 });
    const fields = new FrameRateGuess({ num: 1, den: MPEG_CLOCK });
    for (let i = 0; i < 30; i++) fields.add(126000 + Math.round(1501.5 * i));
    expect(fields.rFrameRate(28 * 1501)).toEqual({ num: 60000, den: 1001 });
  });
});

const corpus = '/work/shared/corpus/video';

describe.skipIf(!existsSync(corpus))('corpus MPEG streams', () => {
  it('fixture-raw.mts as ffprobe 5.1 reports it (avg_frame_rate 30000/1001, format.duration 1.034367)', async () => {
    const result = await probe(join(corpus, 'filetype__fixture-raw.mts'));
    expect(result.details?.reader).toBe('mpegts');
    expect(result.metadata).toMatchObject({ width: 1920, height: 1080, mime_type: 'video/mp2t' });
    expect(result.metadata.fps).toBeCloseTo(30000 / 1001, 9);
    expect(result.metadata.duration).toBeCloseTo(1.034367, 5);
  });

  it('no-initial-keyframe.ts, 63 pictures before its first SPS, as ffprobe 5.1 reports it (avg_frame_rate 30000/1001, format.duration 2.648833, SAR 44:45)', async () => {
    const result = await probe(join(corpus, 'mediabunny__no-initial-keyframe.ts'));
    expect(result.details?.reader).toBe('mpegts');
    expect(result.metadata).toMatchObject({ width: 640, height: 352 });
    expect(result.metadata.fps).toBeCloseTo(30000 / 1001, 9);
    expect(result.metadata.duration).toBeCloseTo(2.648833, 5);
    expect(result.warnings.map((warning) => warning.code)).toContain('non_square_pixels');
  });

  it('fixture.ps.mpg, one MPEG-1 frame, as ffprobe 5.1 reports it (1 frame over 0.040000 s, format.duration 0.04)', async () => {
    const result = await probe(join(corpus, 'filetype__fixture.ps.mpg'));
    expect(result.details?.reader).toBe('mpeg');
    expect(result.metadata).toMatchObject({ fps: 25, width: 640, height: 356, mime_type: 'video/mpeg' });
    expect(result.metadata.duration).toBeCloseTo(0.04, 6);
  });

  it('the 1344-byte head of an AVCHD stream is truncated', async () => {
    await expect(probe(join(corpus, 'exiftool__M2TS.mts'))).rejects.toMatchObject({ code: 'truncated' });
  });
});
