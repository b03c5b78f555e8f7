import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ffmpegPath } from '../scripts/fixtures-video.mjs';
import { probe } from '../src/index.js';
import { probeVideo } from '../src/probes/video.js';
import { FileSource } from '../src/sources/index.js';
import { NeedsFfprobe } from '../src/probes/containers/facts.js';
import { mayProbeAsVideo, probedSizes, videoProbeScores } from '../src/probes/containers/content-probe.js';
import { mpegCrc32, readPmtStreams } from '../src/probes/containers/mpegts-streams.js';

const run = promisify(execFile);

/** No ffprobe at this path: a probe that answers did so in-process, one that asked says tool_missing. */
const NO_FFPROBE = { ffprobePath: '/nonexistent/ffprobe' };

/** The video probe alone (the public probeVideo hands a file without video to the audio probe). */
async function videoOnly(path: string) {
  const source = new FileSource(path, path);
  try {
    return await probeVideo(source, { options: NO_FFPROBE, detection: { modality: 'video', mime: 'video/mp2t', format: '', warnings: [] } });
  } finally {
    await source.close();
  }
}
const TONE = ['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000'];
const VIDEO = ['-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=25'];

// --- PMT sections built by hand ------------------------------------------------------------

interface Entry {
  type: number;
  pid: number;
  descriptors?: number[];
}

const registration = (tag: string) => [0x05, 4, ...Buffer.from(tag, 'latin1')];

/** A PMT section (table 2, program 1, current) with its CRC. */
function pmtSection(entries: Entry[], programInfo: number[] = []): Uint8Array {
  const body = [0x00, 0x01, 0xc1, 0x00, 0x00, 0xe1, 0x00, 0xf0 | (programInfo.length >> 8), programInfo.length & 0xff, ...programInfo];
  for (const { type, pid, descriptors = [] } of entries) body.push(type, 0xe0 | (pid >> 8), pid & 0xff, 0xf0 | (descriptors.length >> 8), descriptors.length & 0xff, ...descriptors);
  const length = body.length + 4;
  const section = Uint8Array.from([0x02, 0xb0 | (length >> 8), length & 0xff, ...body, 0, 0, 0, 0]);
  new DataView(section.buffer).setUint32(section.byteLength - 4, mpegCrc32(section.subarray(0, -4)));
  return section;
}

const PMT_PID = 0x1000;
const one = (entry: Entry, programInfo?: number[]) => readPmtStreams(pmtSection([entry], programInfo), PMT_PID)[0];

describe('MPEG-TS streams as FFmpeg 5.1 sets them up from the PMT', () => {
  it('maps ATSC E-AC-3 (0x87) by its EAC3 registration, and leaves it to the content without one', () => {
    expect(one({ type: 0x87, pid: 0x100, descriptors: registration('EAC3') })).toMatchObject({ media: 'audio', codec: 'eac3', requestProbe: 0 });
    // No table has 0x87: no codec, and mpegts_push_data asks for a probe at the first PES.
    expect(one({ type: 0x87, pid: 0x100 })).toEqual({ pid: 0x100, streamType: 0x87, media: undefined, codec: undefined, requestProbe: 0 });
  });

  it('treats PES private data (0x06) as bin_data probed at AVPROBE_SCORE_STREAM_RETRY/5 until a descriptor names it', () => {
    expect(one({ type: 0x06, pid: 0x100 })).toMatchObject({ media: 'data', codec: 'bin_data', requestProbe: 4 });
    expect(one({ type: 0x06, pid: 0x100, descriptors: [0x7a, 1, 0] })).toMatchObject({ media: 'audio', codec: 'eac3', requestProbe: 0 });
    expect(one({ type: 0x06, pid: 0x100, descriptors: [0x59, 8, 0, 0, 0, 0, 0, 0, 0, 0] })).toMatchObject({ media: 'subtitle', codec: 'dvb_subtitle' });
    // The first descriptor that names a codec wins; later ones no longer apply.
    expect(one({ type: 0x06, pid: 0x100, descriptors: [...registration('EAC3'), 0x6a, 1, 0] })).toMatchObject({ codec: 'eac3' });
    expect(one({ type: 0x06, pid: 0x100, descriptors: [0x6a, 1, 0, ...registration('EAC3')] })).toMatchObject({ codec: 'ac3' });
  });

  it('keeps the probe request of AAC (0x0f) unless a registration names the codec', () => {
    expect(one({ type: 0x0f, pid: 0x100 })).toMatchObject({ media: 'audio', codec: 'aac', requestProbe: 50 });
    expect(one({ type: 0x0f, pid: 0x100, descriptors: registration('AC-3') })).toMatchObject({ codec: 'ac3', requestProbe: 0 });
  });

  it('reads the HDMV types only under an HDMV program registration', () => {
    expect(one({ type: 0x84, pid: 0x100 }, registration('HDMV'))).toMatchObject({ media: 'audio', codec: 'eac3' });
    expect(one({ type: 0x84, pid: 0x100 })?.codec).toBeUndefined();
    expect(one({ type: 0x81, pid: 0x100 })).toMatchObject({ media: 'audio', codec: 'ac3' }); // MISC_types
    expect(() => one({ type: 0x83, pid: 0x100 }, registration('HDMV'))).toThrow(NeedsFfprobe); // TrueHD + AC-3 sub-stream
  });

  it('makes SCTE-35 under a CUEI registration a data stream that never carries PES', () => {
    expect(one({ type: 0x86, pid: 0x100 }, registration('CUEI'))).toMatchObject({ media: 'data', codec: 'scte_35', requestProbe: 0 });
  });

  it('refuses a PMT whose CRC does not match, as FFmpeg ignores it', () => {
    const section = pmtSection([{ type: 0x1b, pid: 0x100 }]);
    section[section.byteLength - 1] ^= 1;
    expect(() => readPmtStreams(section, PMT_PID)).toThrow(NeedsFfprobe);
  });
});

// --- Generated files -----------------------------------------------------------------------

let dir: string;
const files: Record<string, string> = {};

/** The 2018 ffmpeg writes E-AC-3 as stream type 0x87 without a registration: FFmpeg 5.1 probes it. */
const FIXTURES: Record<string, string[]> = {
  'eac3.ts': [...TONE, '-t', '1', '-c:a', 'eac3', '-ac', '6'],
  'eac3-system-b.ts': [...TONE, '-t', '1', '-c:a', 'eac3', '-mpegts_flags', 'system_b'],
  'aac.ts': [...TONE, '-t', '1', '-c:a', 'aac'],
  'h264.ts': [...VIDEO, '-t', '1', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p'],
  'eac3.eac3': [...TONE, '-t', '1', '-c:a', 'eac3'],
  'h264.h264': [...VIDEO, '-t', '1', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p'],
  'mpeg2.m2v': [...VIDEO, '-t', '1', '-c:v', 'mpeg2video'],
  'mpeg4.m4v': [...VIDEO, '-t', '1', '-c:v', 'mpeg4', '-f', 'm4v'],
  'long-mp2.ts': [...TONE, '-t', '240', '-c:a', 'mp2', '-b:a', '384k'],
};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mpegts-content-probe-'));
  for (const [name, args] of Object.entries(FIXTURES)) {
    files[name] = join(dir, name);
    await run(ffmpegPath(), ['-v', 'error', '-y', '-nostdin', ...args, files[name]!]);
  }
}, 120_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** The file with every PMT's stream types (and descriptors) rewritten by `patch`, the CRC redone. */
function withPmt(path: string, patch: (entry: Entry) => Entry | Entry[]): string {
  const ts = Buffer.from(readFileSync(path));
  const pid = (at: number) => ((ts[at + 1]! & 0x1f) << 8) | ts[at + 2]!;
  for (let at = 0; at + 188 <= ts.byteLength; at += 188) {
    if (pid(at) !== PMT_PID || !(ts[at + 1]! & 0x40)) continue; // ffmpeg's PMT PID
    const start = at + 5 + ts[at + 4]!;
    const entries: Entry[] = [];
    const end = start + 3 + (((ts[start + 1]! & 15) << 8) | ts[start + 2]!) - 4;
    for (let p = start + 12 + (((ts[start + 10]! & 15) << 8) | ts[start + 11]!); p < end; ) {
      const length = ((ts[p + 3]! & 15) << 8) | ts[p + 4]!;
      entries.push(...[patch({ type: ts[p]!, pid: pid(p), descriptors: [...ts.subarray(p + 5, p + 5 + length)] })].flat());
      p += 5 + length;
    }
    const section = pmtSection(entries);
    ts.fill(0xff, start, at + 188);
    ts.set(section, start);
  }
  const out = join(dir, `${Math.random().toString(36).slice(2)}.ts`);
  writeFileSync(out, ts);
  return out;
}

const retype = (type: number) => (entry: Entry): Entry => ({ type, pid: entry.pid });

describe('MPEG-TS streams whose codec FFmpeg takes from their content', () => {
  it('finds no video start code an FFmpeg video probe needs in E-AC-3, and finds them in H.264, MPEG-2 and MPEG-4 video', () => {
    expect(mayProbeAsVideo([readFileSync(files['eac3.eac3']!)])).toBe(false);
    for (const name of ['h264.h264', 'mpeg2.m2v', 'mpeg4.m4v']) expect(mayProbeAsVideo([readFileSync(files[name]!)])).toBe(true);
  });

  it('scores raw streams as the video probes of Debian ffprobe 5.1.9 do', () => {
    // ffprobe -v trace on the same generator output: "Probing <format> score:<n> size:<bytes>".
    const expected: [string, number, Record<string, number>][] = [
      ['h264.h264', 2048, { h264: 51 }],
      ['mpeg2.m2v', 2048, { mpegvideo: 25 }],
      ['mpeg2.m2v', 8192, { mpegvideo: 51 }],
      ['mpeg4.m4v', 8192, { m4v: 25 }],
      ['mpeg4.m4v', 16384, { m4v: 50 }],
      ['eac3.eac3', 4096, {}], // only eac3 scores there (51)
    ];
    for (const [name, size, scores] of expected) {
      const none = { h264: 0, hevc: 0, m4v: 0, mjpeg_2000: 0, mpegvideo: 0 };
      expect(videoProbeScores(readFileSync(files[name]!), size)).toEqual({ ...none, ...scores });
    }
  });

  it('probes at the packets that take the payload past a power of two, as the trace of a 0x87 stream shows', () => {
    // ffprobe -v trace on eac3.ts: "Probe with size=1792 ... 3584 ... 5376 ... 8960, packets=5".
    expect(probedSizes([1792, 1792, 1792, 1792, 1792])).toEqual([1792, 3584, 5376, 8960]);
    expect(probedSizes([1792, 1792, 1792, 1792])).toEqual([1792, 3584, 5376, 7168]); // and where probing ends
  });

  it('says no_video_stream without ffprobe for E-AC-3 under type 0x87 with no registration', async () => {
    await expect(videoOnly(files['eac3.ts']!)).rejects.toMatchObject({ code: 'no_video_stream', message: expect.stringMatching(/PMT lists only audio/) });
  });

  for (const type of [0x06, 0x99, 0x83, 0xa1, 0x8f]) {
    it(`says no_video_stream without ffprobe for E-AC-3 under type 0x${type.toString(16)} without descriptors`, async () => {
      await expect(videoOnly(withPmt(files['eac3.ts']!, retype(type)))).rejects.toMatchObject({ code: 'no_video_stream' });
    });
  }

  it('says no_video_stream without ffprobe for AAC (0x0f, which FFmpeg still probes at score 50)', async () => {
    await expect(videoOnly(files['aac.ts']!)).rejects.toMatchObject({ code: 'no_video_stream' });
  });

  it('stops reading at probesize when a listed stream that FFmpeg would probe never carries a PES (an AIT beside radio)', async () => {
    const path = withPmt(files['long-mp2.ts']!, (entry) => [entry, { type: 0x05, pid: 0x1ff }]);
    const source = new FileSource(path, path);
    try {
      await expect(probeVideo(source, { options: NO_FFPROBE, detection: { modality: 'video', mime: 'video/mp2t', format: '', warnings: [] } })).rejects.toMatchObject({ code: 'tool_missing' });
      expect(source.bytesRead).toBeLessThan(8 << 20);
      expect(await source.size()).toBeGreaterThan(11 << 20);
    } finally {
      await source.close();
    }
  });

  it('asks ffprobe about H.264 under an unknown type (its content probes as video) and about E-AC-3 under VC-1\'s type', async () => {
    await expect(videoOnly(withPmt(files['eac3.ts']!, retype(0xea)))).rejects.toMatchObject({ code: 'tool_missing' });
    for (const type of [0x99, 0x06, 0x87]) {
      await expect(videoOnly(withPmt(files['h264.ts']!, retype(type)))).rejects.toMatchObject({ code: 'tool_missing' });
    }
  });

  it('reads the E-AC-3 of a type 0x87 stream in-process once a registration names it', async () => {
    const result = await probe(withPmt(files['eac3.ts']!, (entry) => ({ ...entry, descriptors: registration('EAC3') })), NO_FFPROBE);
    // ffprobe 5.1 (Debian): eac3, 48000 Hz, 6 channels; 32 frames of 1536 samples decoded.
    expect(result.metadata).toMatchObject({ codec: 'eac3', sample_rate: 48000, num_channels: 6, duration: 1.024, mime_type: 'video/mpeg' });
  });

  it('leaves the audio to ffmpeg when FFmpeg takes the codec from the content or a descriptor names another codec', async () => {
    // Without a registration FFmpeg probes the payload; DTS1 and Opus registrations, a teletext
    // descriptor first, or a KLV registration make it another stream than E-AC-3 (ffprobe 5.1).
    const variants: ((entry: Entry) => Entry)[] = [
      (entry) => entry,
      (entry) => ({ ...entry, descriptors: registration('DTS1') }),
      (entry) => ({ ...entry, descriptors: registration('Opus') }),
      (entry) => ({ ...entry, descriptors: registration('KLVA') }),
      (entry) => ({ ...entry, type: 0x06, descriptors: [0x56, 5, 0, 0, 0, 0, 0, ...registration('EAC3')] }),
    ];
    for (const variant of variants) {
      await expect(probe(withPmt(files['eac3.ts']!, variant), NO_FFPROBE)).rejects.toMatchObject({ code: 'tool_missing' });
    }
  });

  it('reads DVB E-AC-3 (private data with an E-AC-3 descriptor) in-process', async () => {
    const result = await probe(files['eac3-system-b.ts']!, NO_FFPROBE);
    expect(result.metadata).toMatchObject({ codec: 'eac3', sample_rate: 48000, duration: 1.024 });
  });
});

const corpus = '/work/shared/corpus/audio';

describe.skipIf(!existsSync(corpus))('corpus MPEG-TS E-AC-3 with an EAC3 registration', () => {
  for (const name of ['mediabunny__eac3.ts', 'mediabunny__eac3-system-b.ts']) {
    it(`answers ${name} without ffprobe`, async () => {
      const path = join(corpus, name);
      await expect(videoOnly(path)).rejects.toMatchObject({ code: 'no_video_stream' });
      const result = await probe(path, NO_FFPROBE);
      // expected.jsonl (ffprobe 5.1.9, decoded 96768 samples at 48000 Hz).
      expect(result.metadata).toMatchObject({ duration: 2.016, sample_rate: 48000, num_channels: 6, codec: 'eac3', file_size: 113364 });
    });
  }
});
