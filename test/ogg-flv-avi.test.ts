import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ffmpegPath } from '../scripts/fixtures-video.mjs';
import { probeAudio } from '../src/probes/audio.js';
import { NeedsFfprobe } from '../src/probes/containers/facts.js';
import { oggVideoFacts } from '../src/probes/containers/ogg-video.js';
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
  'theora-ntsc.ogv': [...VIDEO('322x242', '30000/1001', 2), '-c:v', 'libtheora', '-q:v', '5'],
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

describe('Ogg Theora in-process', () => {
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

  it('a file cut inside its header pages is truncated for the audio probe', async () => {
    const bytes = readFileSync(path('theora-vorbis.ogv'));
    writeFileSync(path('cut.oga'), bytes.subarray(0, 40));
    await expect(probeFile('cut.oga', probeAudio, audioContext)).rejects.toMatchObject({ code: 'truncated' });
  });
});

describe.skipIf(!existsSync(CORPUS))('Ogg corpus files', () => {
  const corpus = (name: string) => new FileSource(join(CORPUS, name), name);

  it('musicmeta__short.ogv in-process, as ffprobe 5.1 reports it (30/1 fps, format duration 5.758549 s from the Vorbis stream)', async () => {
    const result = await probeVideo(corpus('video/musicmeta__short.ogv'), videoContext);
    expect(result.details).toMatchObject({ reader: 'ogg' });
    expect(result.metadata).toEqual({ fps: 30, duration: 5.758549, width: 640, height: 480, file_size: 1452440, mime_type: 'video/ogg' });
  });

  it('taglib__multiplex.ogg (one Theora frame: ffprobe measures no rate) is left to ffprobe', async () => {
    await expect(oggVideoFacts(corpus('video/taglib__multiplex.ogg'))).rejects.toBeInstanceOf(NeedsFfprobe);
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
