import { createReadStream, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeVideoFixtures } from '../scripts/fixtures-video.mjs';
import { detect } from '../src/detect.js';
import { parseMp4 } from '../src/probes/containers/mp4.js';
import { probeVideo } from '../src/probes/video.js';
import { BufferSource, FileSource, HttpSource, StreamSource, type ByteSource } from '../src/sources/index.js';
import type { ProbeContext } from '../src/probes/types.js';

const context: ProbeContext = {
  options: {},
  detection: { modality: 'video', mime: 'application/octet-stream', format: '', warnings: [] },
};

let dir: string;
let fixtures: Record<string, string>;
let server: Server;
let servedBytes = 0;

/** A static file server with Range support, like object storage. */
function startServer(): Promise<string> {
  server = createServer((request, response) => {
    const data = readFileSync(join(dir, decodeURIComponent(request.url!.slice(1))));
    const range = /^bytes=(\d+)-(\d*)$/.exec(request.headers.range ?? '');
    const start = range ? Number(range[1]) : 0;
    const end = range?.[2] ? Math.min(Number(range[2]), data.byteLength - 1) : data.byteLength - 1;
    servedBytes += end - start + 1;
    response.writeHead(range ? 206 : 200, {
      'Content-Length': String(end - start + 1),
      ...(range && { 'Content-Range': `bytes ${start}-${end}/${data.byteLength}` }),
    });
    response.end(data.subarray(start, end + 1));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)));
}

let baseUrl: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'video-test-'));
  fixtures = await makeVideoFixtures(dir);
  baseUrl = await startServer();
});

afterAll(() => {
  server?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function probe(source: ByteSource) {
  try {
    return await probeVideo(source, context);
  } finally {
    await source.close();
  }
}

const probeFile = (name: string) => probe(new FileSource(fixtures[name]!));

describe('probeVideo on MP4/QuickTime (in-process)', () => {
  it('reports a constant-rate H.264 MP4 from its headers', async () => {
    const source = new FileSource(fixtures['cfr.mp4']!);
    const result = await probe(source);
    expect(result.metadata).toEqual({
      fps: 25, duration: 2, width: 320, height: 240, file_size: readFileSync(fixtures['cfr.mp4']!).byteLength, mime_type: 'video/mp4',
    });
    expect(result.warnings).toEqual([]);
    expect(result.details).toEqual({ reader: 'mp4' });
    expect(source.bytesRead).toBeLessThan(16 * 1024);
  });

  it('gives 30000/1001 as a float', async () => {
    const { metadata } = await probeFile('ntsc.mp4');
    expect(metadata.fps).toBe(30000 / 1001);
    expect(metadata.duration).toBeCloseTo(1.001, 6);
  });

  it('flags variable frame durations and averages them', async () => {
    const { metadata, warnings } = await probeFile('vfr.mp4');
    expect(warnings.map((w) => w.code)).toEqual(['variable_frame_rate']);
    // 26 frames kept of 75 over about 3 s.
    expect(metadata.fps).toBeGreaterThan(8);
    expect(metadata.fps).toBeLessThan(9.5);
  });

  it('swaps width and height for a quarter-turn display matrix', async () => {
    const { metadata, warnings } = await probeFile('rotated.mp4');
    expect([metadata.width, metadata.height]).toEqual([240, 320]);
    expect(warnings.map((w) => w.code)).toEqual(['rotation_applied']);
  });

  it('warns about non-square pixels', async () => {
    const { metadata, warnings } = await probeFile('anamorphic.mp4');
    expect([metadata.width, metadata.height]).toEqual([320, 240]);
    expect(warnings.map((w) => w.code)).toEqual(['non_square_pixels']);
  });

  it('names QuickTime files and warns about browser support', async () => {
    const { metadata, warnings } = await probeFile('movie.mov');
    expect(metadata.mime_type).toBe('video/quicktime');
    expect(warnings.map((w) => w.code)).toEqual(['browser_support_limited']);
  });

  it('takes the container duration and the video stream when audio comes first', async () => {
    const { metadata } = await probeFile('with-audio.mp4');
    expect(metadata).toMatchObject({ fps: 25, width: 320, height: 240 });
    // The movie lasts as long as its longer (AAC) track.
    expect(metadata.duration).toBeGreaterThanOrEqual(2);
    expect(metadata.duration).toBeLessThan(2.1);
  });

  it('rejects a file cut in half as truncated, with what the header claims', async () => {
    await expect(probeFile('truncated.mp4')).rejects.toMatchObject({ code: 'truncated', message: expect.stringMatching(/mdat.*declares \d+ bytes/) });
  });

  it('rejects a file whose sample table points past the end as truncated', async () => {
    const whole = readFileSync(fixtures['cfr-faststart.mp4']!);
    const movie = (await parseMp4(new BufferSource(whole))).movie!;
    expect(movie.tracks).toHaveLength(1);
    // Keep the moov and the mdat header, lose the samples: declare the mdat as running to the end.
    const mdat = whole.indexOf('mdat') - 4;
    const cut = Buffer.from(whole.subarray(0, mdat + 8 + 100));
    cut.writeUInt32BE(0, mdat);
    await expect(probe(new BufferSource(cut, 'cut.mp4'))).rejects.toMatchObject({ code: 'truncated', message: expect.stringMatching(/samples up to byte/) });
  });

  it('describes a whole file with junk appended after its last box, as ffprobe does, and still calls a cut mdat truncated', async () => {
    const whole = readFileSync(fixtures['cfr-faststart.mp4']!);
    const expected = (await probe(new BufferSource(whole, 'whole.mp4'))).metadata;
    for (const junk of [Buffer.from('GARBAGE APPENDED BY A BROKEN UPLOADER\n'), Buffer.alloc(5000, 0xff), Buffer.from([0x7f, 0xff, 0xff, 0xff, 0x01, 0x02, 0x03, 0x04])]) {
      const { metadata } = await probe(new BufferSource(Buffer.concat([whole, junk]), 'junk.mp4'));
      expect(metadata).toEqual({ ...expected, file_size: whole.byteLength + junk.byteLength });
    }
    const mdatCut = whole.subarray(0, whole.byteLength - 10);
    await expect(probe(new BufferSource(mdatCut, 'cut.mp4'))).rejects.toMatchObject({ code: 'truncated', message: expect.stringMatching(/'mdat'.*declares/) });
  });

  it('describes a whole file followed by fewer bytes than a box header (a newline, CRLF, 7 bytes), as ffprobe does; a fragmented one stays truncated', async () => {
    // mov_read_default reads no box from fewer than 8 bytes: Debian ffprobe 5.1.9 describes all of these as the whole file.
    for (const name of ['cfr.mp4', 'cfr-faststart.mp4']) {
      const whole = readFileSync(fixtures[name]!);
      const expected = (await probe(new BufferSource(whole, 'whole.mp4'))).metadata;
      for (const tail of [Buffer.from('\n'), Buffer.from('\r\n'), Buffer.from([0, 0, 0, 0x10, 0x6d, 0x6f, 0x6f])]) {
        const { metadata } = await probe(new BufferSource(Buffer.concat([whole, tail]), 'tail.mp4'));
        expect(metadata).toEqual({ ...expected, file_size: whole.byteLength + tail.byteLength });
      }
    }
    // In a fragmented file those bytes are the start of the next moof header (session 2's rule).
    const fragmented = readFileSync(fixtures['fragmented.mp4']!);
    await expect(probe(new BufferSource(Buffer.concat([fragmented, Buffer.from('\n')]), 'tail.mp4'))).rejects.toMatchObject({ code: 'truncated', message: expect.stringMatching(/inside a box header/) });
  });

  it('reads a fragmented MP4 (empty moov, a moof per key frame) in-process', async () => {
    const result = await probeFile('fragmented.mp4');
    expect(result.metadata).toMatchObject({ fps: 25, duration: 2, width: 320, height: 240, mime_type: 'video/mp4' });
    expect(result.details).toEqual({ reader: 'mp4' });
  });

  it('takes a movie header duration of 0 as stated (ffprobe prints 0), not the track duration', async () => {
    const bytes = Buffer.from(readFileSync(fixtures['cfr.mp4']!));
    const mvhd = bytes.indexOf('mvhd');
    expect(bytes[mvhd + 4]).toBe(0); // version 0: flags, creation, modification, timescale, then duration
    bytes.writeUInt32BE(0, mvhd + 20);
    await expect(probe(new BufferSource(bytes, 'zero.mp4'))).rejects.toMatchObject({ code: 'corrupt_file' });
  });

  it('throws no_video_stream for audio-only MP4', async () => {
    await expect(probeFile('tone.mp4')).rejects.toMatchObject({ code: 'no_video_stream' });
  });

  it('throws empty_file for zero bytes', async () => {
    await expect(probe(new BufferSource(new Uint8Array(0), 'empty.mp4'))).rejects.toMatchObject({ code: 'empty_file' });
  });
});

describe('probeVideo on Matroska/WebM (in-process)', () => {
  it('reads a VP9 WebM', async () => {
    const result = await probeFile('vp9.webm');
    expect(result.metadata).toMatchObject({ fps: 25, duration: 1, width: 320, height: 240, mime_type: 'video/webm' });
    expect(result.details).toEqual({ reader: 'matroska' });
    expect(result.warnings).toEqual([]);
  });

  it('reads an H.264 Matroska file', async () => {
    const result = await probeFile('h264.mkv');
    expect(result.metadata).toMatchObject({ fps: 25, duration: 1, width: 320, height: 240, mime_type: 'video/x-matroska' });
    expect(result.details).toEqual({ reader: 'matroska' });
  });

  it('calls a segment that runs past the end truncated', async () => {
    const whole = readFileSync(fixtures['h264.mkv']!);
    await expect(probe(new BufferSource(whole.subarray(0, whole.byteLength - 5000), 'cut.mkv'))).rejects.toMatchObject({ code: 'truncated' });
  });

  it('calls a file cut inside any element or block header truncated, never described by its header', async () => {
    const whole = readFileSync(fixtures['h264.mkv']!);
    const verdicts = new Set<string>();
    for (let cut = 64; cut < 4096; cut++) {
      const verdict = await probe(new BufferSource(whole.subarray(0, cut), 'cut.mkv')).then(() => 'a value', (error: { code: string }) => error.code);
      verdicts.add(verdict);
    }
    expect([...verdicts]).toEqual(['truncated']);
  });
});

describe('probeVideo on formats no reader plays', () => {
  it('calls RED R3D unsupported_format without starting ffprobe', async () => {
    const header = new Uint8Array(4096);
    header.set([0x00, 0x00, 0x04, 0x88, ...Buffer.from('RED2')]); // R3D header atom: size, 'RED2'
    await expect(probe(new BufferSource(header, 'clip.r3d'))).rejects.toMatchObject({ code: 'unsupported_format', message: expect.stringMatching(/RED R3D/) });
  });
});

describe('probeVideo through ffprobe', () => {
  it('describes Windows Recorded TV with ffprobe and warns that Encord does not play it', async () => {
    const source = new FileSource(fixtures['mpeg2.wtv']!);
    const result = await probeVideo(source, { options: {}, detection: await detect(source) }).finally(() => source.close());
    expect(result.metadata).toMatchObject({ fps: 25, duration: 1, width: 320, height: 240, mime_type: 'video/x-ms-wtv' });
    expect(result.warnings.map((w) => w.code)).toEqual(['unsupported_by_encord']);
    expect(result.details).toMatchObject({ reader: 'ffprobe', ffprobeVersion: expect.stringMatching(/^ffprobe version /) });
  });

  it('refuses a WTV file whose root directory lacks the timeline entry, as FFmpeg does, without ffprobe', async () => {
    const bytes = readFileSync(fixtures['mpeg2.wtv']!);
    const root = bytes.readUInt32LE(0x38) * 4096; // the root directory's sector
    const name = Buffer.from('timeline', 'utf16le');
    let timeline = bytes.indexOf(name, root);
    while (bytes[timeline + name.byteLength] === 0x2e) timeline = bytes.indexOf(name, timeline + 2); // skip 'timeline.table...'
    expect(timeline).toBeGreaterThan(root);
    const renamed = Buffer.from(bytes);
    renamed.write('T', timeline, 'utf16le'); // 'Timeline': FFmpeg compares the name byte for byte
    const source = new BufferSource(renamed, 'renamed.wtv');
    await expect(probeVideo(source, { options: {}, detection: await detect(source) })).rejects.toMatchObject({
      code: 'corrupt_file',
      message: expect.stringMatching(/no 'timeline' entry/),
    });
    const cut = new BufferSource(bytes.subarray(0, root), 'cut.wtv'); // the root directory is past the end
    await expect(probeVideo(cut, { options: {}, detection: await detect(cut) })).rejects.toMatchObject({ code: 'corrupt_file' });
  });

  it('reads AVI in-process and warns that Encord does not play it', async () => {
    const result = await probeFile('mpeg4.avi');
    expect(result.metadata).toMatchObject({ fps: 25, duration: 1, width: 320, height: 240, mime_type: 'video/x-msvideo' });
    expect(result.warnings.map((w) => w.code)).toEqual(['unsupported_by_encord']);
    expect(result.details).toEqual({ reader: 'avi' });
  });

});

describe('probeVideo on every byte source', () => {
  const sources: Record<string, (name: string) => ByteSource> = {
    path: (name) => new FileSource(fixtures[name]!),
    buffer: (name) => new BufferSource(readFileSync(fixtures[name]!), name),
    stream: (name) => new StreamSource(createReadStream(fixtures[name]!), name),
    http: (name) => new HttpSource(`${baseUrl}/${name}`),
  };
  const expected = {
    'cfr.mp4': { fps: 25, duration: 2, width: 320, height: 240, mime_type: 'video/mp4' },
    'vp9.webm': { fps: 25, duration: 1, width: 320, height: 240, mime_type: 'video/webm' },
  };
  for (const [kind, open] of Object.entries(sources)) {
    for (const [name, metadata] of Object.entries(expected)) {
      it(`${name} from a ${kind}`, async () => {
        const result = await probe(open(name));
        expect(result.metadata).toEqual({ ...metadata, file_size: readFileSync(fixtures[name]!).byteLength });
      });
    }
  }

  it('reads a remote MP4 with its moov at the end without downloading it', async () => {
    servedBytes = 0;
    const size = readFileSync(fixtures['large.mp4']!).byteLength;
    const result = await probe(new HttpSource(`${baseUrl}/large.mp4`));
    expect(result.metadata).toMatchObject({ fps: 25, duration: 8, width: 640, height: 480, file_size: size });
    expect(servedBytes).toBeLessThan(size / 4);
  });

  it('serves Buffer and HTTP sources to ffprobe through the range proxy', async () => {
    for (const source of [sources.buffer!('mpeg4.avi'), sources.http!('mpeg4.avi')]) {
      const result = await probe(source);
      expect(result.metadata).toMatchObject({ fps: 25, duration: 1, width: 320, height: 240, mime_type: 'video/x-msvideo' });
    }
  });
});

const corpus = '/work/shared/corpus/video';
const expectedPath = '/work/shared/corpus/expected.jsonl';

describe.skipIf(!existsSync(corpus) || !existsSync(expectedPath))('corpus video', () => {
  it('gives no wrong value: an error where one is expected, else the expected metadata', async () => {
    const expected = new Map(
      readFileSync(expectedPath, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as { file: string; status: string; metadata?: Record<string, number | string> })
        .filter((entry) => entry.file.startsWith('video/'))
        .map((entry) => [entry.file.slice('video/'.length), entry]),
    );
    const wrong: string[] = [];
    for (const name of readdirSync(corpus)) {
      const entry = expected.get(name);
      if (!entry || entry.status === 'unsure') continue;
      const source = new FileSource(join(corpus, name));
      const detection = await detect(source).catch(() => context.detection);
      const outcome = await probeVideo(source, { ...context, detection })
        .catch((error: { code: string }) => error)
        .finally(() => source.close());
      if ('code' in outcome) {
        if (entry.status === 'ok') wrong.push(`${name}: ${outcome.code} where a value is expected`);
        continue;
      }
      if (entry.status === 'error') wrong.push(`${name}: value where an error is expected`);
      else if (!matches(outcome.metadata, entry.metadata!)) wrong.push(`${name}: ${JSON.stringify(outcome.metadata)}`);
    }
    expect(wrong).toEqual([]);
  });
});

function matches(got: Record<string, number | string>, want: Record<string, number | string>): boolean {
  return Object.entries(want).every(([key, value]) => {
    const actual = got[key];
    if (typeof value !== 'number' || typeof actual !== 'number') return actual === value;
    if (key === 'duration') return Math.abs(actual - value) <= Math.max(0.01, 1e-3 * value);
    if (key === 'fps') return Math.abs(actual - value) <= Math.max(1e-3, 1e-4 * value);
    return actual === value;
  });
}
