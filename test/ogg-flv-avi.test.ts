import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ffmpegPath } from '../scripts/fixtures-video.mjs';
import { probeAudio } from '../src/probes/audio.js';
import { DecoderNeeded } from '../src/probes/audio/facts.js';
import { crc32Ogg } from '../src/probes/audio/crc.js';
import { readOgg } from '../src/probes/audio/ogg.js';
import { NeedsFfprobe } from '../src/probes/containers/facts.js';
import { flvVideoFacts } from '../src/probes/containers/flv.js';
import { probeVideo } from '../src/probes/video.js';
import { BufferSource, FileSource } from '../src/sources/index.js';
import type { ProbeContext } from '../src/probes/types.js';

const run = promisify(execFile);
const videoContext: ProbeContext = { options: {}, detection: { modality: 'video', mime: 'application/octet-stream', format: '', warnings: [] } };
const audioContext: ProbeContext = { options: {}, detection: { modality: 'audio', mime: 'application/octet-stream', format: '', warnings: [] } };
const CORPUS = '/work/shared/corpus';

const VIDEO = (size: string, rate: string, seconds: number) => ['-f', 'lavfi', '-i', `testsrc=size=${size}:rate=${rate}:duration=${seconds}`];
const TONE = (seconds: number) => ['-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=44100:duration=${seconds}`];

/** name -> ffmpeg arguments (inputs and codecs), for the fixtures written into a temporary directory. */
const FIXTURES: Record<string, string[]> = {
  'theora-vorbis.ogv': [...VIDEO('320x240', '25', 2), ...TONE(2.2), '-c:v', 'libtheora', '-q:v', '5', '-c:a', 'libvorbis'],
  'vorbis.oga': [...TONE(2), '-c:a', 'libvorbis'],
  // Two frames (0.08 s at 25 fps): find_stream_info reaches the end before it measures a rate.
  'theora-2-frames.ogv': [...VIDEO('160x120', '25', 0.08), '-c:v', 'libtheora', '-q:v', '5'],
  'theora-ntsc.ogv': [...VIDEO('322x242', '30000/1001', 2), '-c:v', 'libtheora', '-q:v', '5'],
  'h264-aac.flv': [...VIDEO('322x242', '30000/1001', 2), ...TONE(2.5), '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-c:a', 'aac'],
  'sorenson.flv': [...VIDEO('320x240', '25', 2), '-c:v', 'flv'],
  'no-duration.flv': [...VIDEO('176x144', '15', 2), '-c:v', 'flv', '-flvflags', 'no_duration_filesize'],
  'mpeg4-mp3.avi': [...VIDEO('320x240', '25', 2), ...TONE(2.5), '-c:v', 'mpeg4', '-c:a', 'libmp3lame'],
  'mjpeg-ntsc.avi': [...VIDEO('322x242', '30000/1001', 2), '-c:v', 'mjpeg', '-pix_fmt', 'yuvj420p'],
  'h264-pcm.avi': [...VIDEO('320x240', '25', 2), ...TONE(3), '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-c:a', 'pcm_s16le'],
  'sar.avi': [...VIDEO('320x240', '25', 1), '-vf', 'setsar=4/3', '-c:v', 'mpeg4'],
  'sar.flv': [...VIDEO('320x240', '25', 1), '-vf', 'setsar=4/3', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p'],
  'long-audio.flv': [...VIDEO('176x144', '25', 1), ...TONE(3), '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-c:a', 'aac'],
};

let dir: string;
const path = (name: string) => join(dir, name);

async function probeFile(name: string, probe = probeVideo, context = videoContext) {
  const source = new FileSource(path(name), name);
  try {
    return await probe(source, context);
  } finally {
    await source.close();
  }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ogg-flv-avi-'));
  const ffmpeg = ffmpegPath();
  for (const [name, args] of Object.entries(FIXTURES)) await run(ffmpeg, ['-v', 'error', '-y', ...args, path(name)]);
}, 120_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * The Ogg file with one more Theora page after its last one: an empty packet (a repeated frame,
 * granule + 1) on a page of its own that now ends the stream, as some muxers write it.
 */
function withEmptyLastPacket(ogg: Buffer): Buffer {
  const serial = ogg.readUInt32LE(14);
  let last = -1;
  for (let at = 0; at < ogg.byteLength; at += 27 + ogg[at + 26]! + [...ogg.subarray(at + 27, at + 27 + ogg[at + 26]!)].reduce((a, b) => a + b, 0)) {
    if (ogg.readUInt32LE(at + 14) === serial) last = at;
  }
  const copy = Buffer.from(ogg);
  copy[last + 5] = copy[last + 5]! & ~4;
  const page = Buffer.alloc(28);
  page.write('OggS', 0, 'latin1');
  page[5] = 4;
  page.writeBigInt64LE(copy.readBigInt64LE(last + 6) + 1n, 6);
  page.writeUInt32LE(serial, 14);
  page.writeUInt32LE(copy.readUInt32LE(last + 18) + 1, 18);
  page[26] = 1;
  const pageEnd = last + 27 + copy[last + 26]! + [...copy.subarray(last + 27, last + 27 + copy[last + 26]!)].reduce((a, b) => a + b, 0);
  for (const [bytes, at] of [[copy.subarray(last, pageEnd), 0], [page, 0]] as const) {
    bytes.writeUInt32LE(0, at + 22);
    bytes.writeUInt32LE(crc32Ogg(bytes), at + 22);
  }
  return Buffer.concat([copy.subarray(0, pageEnd), page, copy.subarray(pageEnd)]);
}

describe('Ogg Theora in-process', () => {
  it('reads a Theora stream that ends before find_stream_info measures a rate: the packets over the stream duration', async () => {
    // Two frames and an empty packet: ffprobe 5.1 counts 2 packets (none empty) over 3 frames at 25 fps.
    writeFileSync(path('theora-empty-last.ogv'), withEmptyLastPacket(readFileSync(path('theora-2-frames.ogv'))));
    const result = await probeFile('theora-empty-last.ogv');
    expect(result.details).toMatchObject({ reader: 'ogg' });
    expect(result.metadata).toMatchObject({ fps: 2 / 0.12, duration: 0.12, width: 160, height: 120 });
  });

  it('reads Theora with Vorbis: the format lasts as long as the longer (audio) stream', async () => {
    const result = await probeFile('theora-vorbis.ogv');
    expect(result.details).toMatchObject({ reader: 'ogg' });
    expect(result.metadata).toMatchObject({ fps: 25, width: 320, height: 240, mime_type: 'video/ogg' });
    expect(result.metadata.duration).toBeCloseTo(2.2, 3);
    expect(result.warnings.map((w) => w.code)).toEqual(['unsupported_by_encord']);
  });

  it('reads the picture size inside whole macroblocks and a 30000/1001 rate', async () => {
    const result = await probeFile('theora-ntsc.ogv');
    expect(result.details).toMatchObject({ reader: 'ogg' });
    expect(result.metadata).toMatchObject({ width: 322, height: 242 });
    expect(result.metadata.fps).toBeCloseTo(30000 / 1001, 9);
    expect(result.metadata.duration).toBeCloseTo(60 * (1001 / 30000), 6);
  });

  it('reads the same from a buffer as from the file', async () => {
    const bytes = readFileSync(path('theora-vorbis.ogv'));
    const result = await probeVideo(new BufferSource(bytes, 'theora-vorbis.ogv'), videoContext);
    expect(result.metadata).toEqual((await probeFile('theora-vorbis.ogv')).metadata);
  });

  it('the audio probe skips junk between pages as ffmpeg resyncs, when no page of the stream is lost', async () => {
    const bytes = readFileSync(path('vorbis.oga'));
    const [first, second] = oggPageEnds(bytes);
    writeFileSync(path('junk.oga'), Buffer.concat([bytes.subarray(0, first), Buffer.from('junk'.repeat(50)), bytes.subarray(first)]));
    const clean = await probeFile('vorbis.oga', probeAudio, audioContext);
    const junk = await probeFile('junk.oga', probeAudio, audioContext);
    expect(junk.details).toMatchObject({ reader: 'ogg' });
    expect(junk.metadata.duration).toBe(clean.metadata.duration);
    // Junk where a page was: the decoder would play less than the granules say.
    writeFileSync(path('lost.oga'), Buffer.concat([bytes.subarray(0, first), Buffer.from('junk'.repeat(50)), bytes.subarray(second)]));
    const source = new FileSource(path('lost.oga'), 'lost.oga');
    const head = await source.read(0, 65536);
    await expect(readOgg({ source, head, size: () => source.size(), options: {}, detection: audioContext.detection })).rejects.toBeInstanceOf(DecoderNeeded);
    await source.close();
  });

  it('a file cut inside its header pages is truncated for the audio probe', async () => {
    const bytes = readFileSync(path('theora-vorbis.ogv'));
    writeFileSync(path('cut.oga'), bytes.subarray(0, 40));
    await expect(probeFile('cut.oga', probeAudio, audioContext)).rejects.toMatchObject({ code: 'truncated' });
  });
});

/** The byte offsets where an Ogg file's pages end. */
function oggPageEnds(bytes: Uint8Array): number[] {
  const ends: number[] = [];
  for (let offset = 0; offset + 27 <= bytes.byteLength; ) {
    const segments = bytes[offset + 26]!;
    let size = 27 + segments;
    for (let i = 0; i < segments; i++) size += bytes[offset + 27 + i]!;
    offset += size;
    ends.push(offset);
  }
  return ends;
}

/** The file up to the end of its `keep`-th tag (with its PreviousTagSize): a cut on a tag boundary. */
function flvTagPrefix(bytes: Uint8Array, keep: number): Uint8Array {
  let end = 13;
  for (let tag = 0; tag < keep; tag++) end += 11 + ((bytes[end + 1]! << 16) | (bytes[end + 2]! << 8) | bytes[end + 3]!) + 4;
  return bytes.subarray(0, end);
}

describe('FLV in-process', () => {
  it('reads H.264 with AAC: the SPS size, onMetaData frame rate and duration', async () => {
    const result = await probeFile('h264-aac.flv');
    expect(result.details).toMatchObject({ reader: 'flv' });
    expect(result.metadata).toMatchObject({ width: 322, height: 242, mime_type: 'video/x-flv' });
    expect(result.metadata.fps).toBeCloseTo(30000 / 1001, 3); // onMetaData framerate 29.97..., av_d2q(x, 1000)
    expect(result.metadata.duration).toBeCloseTo(2.5, 1);
    expect(result.warnings.map((w) => w.code)).toEqual(['unsupported_by_encord']);
  });

  it('takes a file whose audio outlasts the video as whole (the closing video tag is not the last in time)', async () => {
    const result = await probeFile('long-audio.flv');
    expect(result.details).toMatchObject({ reader: 'flv' });
    expect(result.metadata).toMatchObject({ fps: 25, width: 176, height: 144 });
    expect(result.metadata.duration).toBeCloseTo(3, 1);
  });

  it('reads Sorenson Spark picture headers', async () => {
    const result = await probeFile('sorenson.flv');
    expect(result.details).toMatchObject({ reader: 'flv' });
    expect(result.metadata).toMatchObject({ fps: 25, width: 320, height: 240 });
    expect(result.metadata.duration).toBeCloseTo(2, 1);
  });

  it('takes the last tag timestamp when onMetaData has no duration', async () => {
    const result = await probeFile('no-duration.flv');
    expect(result.details).toMatchObject({ reader: 'flv' });
    expect(result.metadata).toMatchObject({ fps: 15, width: 176, height: 144 });
    expect(result.metadata.duration).toBeCloseTo(29 / 15, 3); // the 30th frame starts at 1.933 s
  });

  it('warns about the SPS sample aspect ratio', async () => {
    const result = await probeFile('sar.flv');
    expect(result.warnings.map((w) => w.code)).toContain('non_square_pixels');
  });

  it('a file cut after a whole tag, well before the onMetaData duration, is truncated', async () => {
    const bytes = readFileSync(path('sorenson.flv'));
    writeFileSync(path('cut.flv'), flvTagPrefix(bytes, 10));
    await expect(flvVideoFacts(new FileSource(path('cut.flv'), 'cut.flv'), bytes.subarray(0, 4096))).rejects.toMatchObject({ code: 'truncated' });
  });

  it('a file cut inside a tag is truncated', async () => {
    const bytes = readFileSync(path('h264-aac.flv'));
    writeFileSync(path('cut-inside.flv'), bytes.subarray(0, bytes.byteLength - 100));
    await expect(probeFile('cut-inside.flv')).rejects.toMatchObject({ code: 'truncated' });
  });

  it('describes a whole file followed by bytes that start no tag as the whole file (flvdec skips them and meets the end)', async () => {
    const whole = readFileSync(path('h264-aac.flv'));
    const expected = (await probeFile('h264-aac.flv')).metadata;
    const html = Buffer.from('<html><body>404 Not Found</body></html>\n');
    for (const [name, tail] of [['nl', Buffer.from('\n')], ['crlf', Buffer.from('\r\n')], ['seven', Buffer.from([0xde, 0xad, 0xbe, 0xef, 1, 2, 3])], ['ff', Buffer.alloc(1000, 0xff)], ['html', html]] as const) {
      writeFileSync(path(`tail-${name}.flv`), Buffer.concat([whole, tail]));
      const result = await probeFile(`tail-${name}.flv`);
      expect(result.details).toMatchObject({ reader: 'flv' });
      expect(result.metadata).toEqual({ ...expected, file_size: whole.byteLength + tail.byteLength });
    }
  });

  it('bytes after the last tag that flvdec would read as a tag go to ffprobe', async () => {
    const whole = readFileSync(path('h264-aac.flv'));
    // A video tag header whose data fits, followed by a PreviousTagSize that does not match: a packet, then a resync.
    const fake = Buffer.concat([Buffer.from([9, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0x17, 1, 0, 0]), Buffer.alloc(4), Buffer.alloc(40, 0x55)]);
    writeFileSync(path('tail-tag.flv'), Buffer.concat([whole, fake]));
    await expect(flvVideoFacts(new FileSource(path('tail-tag.flv')), whole.subarray(0, 4096))).rejects.toThrow(NeedsFfprobe);
  });

  it('a join whose timestamps restart (cat a.flv b.flv) has the first onMetaData duration; flvdec ends at the second header of a file under 5 MB', async () => {
    const first = readFileSync(path('h264-aac.flv'));
    const second = readFileSync(path('sar.flv')); // 1 s: its timestamps end 1.5 s short of the first file's duration
    writeFileSync(path('joined.flv'), Buffer.concat([first, second]));
    const result = await probeFile('joined.flv');
    expect(result.details).toMatchObject({ reader: 'flv' });
    expect(result.metadata).toMatchObject({ width: 322, height: 242, duration: (await probeFile('h264-aac.flv')).metadata.duration });
  });

  it('a file cut inside its last tag header or trailing PreviousTagSize is truncated', async () => {
    const bytes = readFileSync(path('h264-aac.flv'));
    const lastTagEnd = bytes.byteLength - 4;
    const lastTagStart = lastTagEnd - new DataView(bytes.buffer, bytes.byteOffset).getUint32(lastTagEnd);
    for (const keep of [1, 3, 4, 7, 8, 10, 11]) {
      writeFileSync(path('cut-header.flv'), bytes.subarray(0, lastTagStart + keep));
      await expect(probeFile('cut-header.flv')).rejects.toMatchObject({ code: 'truncated' });
    }
    for (const short of [1, 2, 3]) {
      writeFileSync(path('cut-size.flv'), bytes.subarray(0, bytes.byteLength - short));
      await expect(probeFile('cut-size.flv')).rejects.toMatchObject({ code: 'truncated' });
    }
  });
});

describe('AVI in-process', () => {
  it('reads MPEG-4 Part 2 with MP3: dwRate/dwScale, and the format as long as the (VBR, dwLength-timed) audio', async () => {
    const result = await probeFile('mpeg4-mp3.avi');
    expect(result.details).toMatchObject({ reader: 'avi' });
    expect(result.metadata).toMatchObject({ fps: 25, width: 320, height: 240, mime_type: 'video/x-msvideo' });
    expect(result.metadata.duration).toBeCloseTo(2.53, 1); // the 2.5 s tone in whole MP3 frames
    expect(result.warnings.map((w) => w.code)).toEqual(['unsupported_by_encord']);
  });

  it('reads MJPEG at 30000/1001 with an odd size', async () => {
    const result = await probeFile('mjpeg-ntsc.avi');
    expect(result.details).toMatchObject({ reader: 'avi' });
    expect(result.metadata).toMatchObject({ width: 322, height: 242 });
    expect(result.metadata.fps).toBeCloseTo(30000 / 1001, 9);
    expect(result.metadata.duration).toBeCloseTo(60 * (1001 / 30000), 6);
  });

  it('reads H.264 with PCM: a PCM stream (dwSampleSize 2) gives ffmpeg no duration, the video does', async () => {
    const result = await probeFile('h264-pcm.avi');
    expect(result.details).toMatchObject({ reader: 'avi' });
    expect(result.metadata).toMatchObject({ fps: 25, duration: 2, width: 320, height: 240 });
  });

  it('warns about the decoder sample aspect ratio', async () => {
    const result = await probeFile('sar.avi');
    expect(result.details).toMatchObject({ reader: 'avi' });
    expect(result.warnings.map((w) => w.code)).toContain('non_square_pixels');
  });

  it('a file cut short of its RIFF size is truncated', async () => {
    const bytes = readFileSync(path('mpeg4-mp3.avi'));
    writeFileSync(path('cut.avi'), bytes.subarray(0, bytes.byteLength - 100));
    await expect(probeFile('cut.avi')).rejects.toMatchObject({ code: 'truncated' });
  });
});

describe.skipIf(!existsSync(CORPUS))('FLV corpus file', () => {
  it('exiftool__Flash.flv is truncated in-process (onMetaData says 3.089 s, the tags end at 0.052 s)', async () => {
    const source = new FileSource(join(CORPUS, 'video/exiftool__Flash.flv'), 'Flash.flv');
    await expect(flvVideoFacts(source, await source.read(0, 4096))).rejects.toMatchObject({ code: 'truncated' });
  });
});

describe.skipIf(!existsSync(CORPUS))('Ogg corpus files', () => {
  const corpus = (name: string) => new FileSource(join(CORPUS, name), name);

  it('musicmeta__short.ogv in-process, as ffprobe 5.1 reports it (30/1 fps, format duration 5.758549 s from the Vorbis stream)', async () => {
    const result = await probeVideo(corpus('video/musicmeta__short.ogv'), videoContext);
    expect(result.details).toMatchObject({ reader: 'ogg' });
    expect(result.metadata).toEqual({ fps: 30, duration: 5.758549, width: 640, height: 480, file_size: 1452440, mime_type: 'video/ogg' });
  });

  it('taglib__multiplex.ogg in-process: one Theora frame and an empty packet, no rate measured (ffprobe 5.1: avg_frame_rate 0/0, 1 packet over a stream duration of 2.000000 s)', async () => {
    const result = await probeVideo(corpus('video/taglib__multiplex.ogg'), videoContext);
    expect(result.details).toMatchObject({ reader: 'ogg' });
    expect(result.metadata).toEqual({ fps: 0.5, duration: 2, width: 500, height: 500, file_size: 13942, mime_type: 'video/ogg' });
  });

  it('musicmeta__issue_62.ogg: junk after the comment page is skipped as ffmpeg resyncs (decoded 1146368 samples at 22050 Hz)', async () => {
    const result = await probeAudio(corpus('audio/musicmeta__issue_62.ogg'), audioContext);
    expect(result.details).toMatchObject({ reader: 'ogg' });
    expect(result.metadata.duration).toBeCloseTo(1146368 / 22050, 6);
  });

  it('taglib__segfault.oga: the first page is cut by the end of the file', async () => {
    await expect(probeAudio(corpus('audio/taglib__segfault.oga'), audioContext)).rejects.toMatchObject({ code: 'truncated' });
  });
});
