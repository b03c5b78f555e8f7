import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ffmpegPath } from '../scripts/fixtures-video.mjs';
import { probe, probeAudio } from '../src/probes/index.js';
import { probeVideo } from '../src/probes/video.js';
import { FileSource } from '../src/sources/index.js';
import type { ProbeContext } from '../src/probes/types.js';
import { measured, probeAudioFile } from './helpers/audio.js';

/**
 * Damage in any track of an MP4, judged as FFmpeg 5.1 opens the file (mp4-tracks.ts): damage
 * mov.c refuses fails the whole file in-process (corrupt_file, as ffprobe exits 1), damage it
 * reads past leaves the file to the audio probe without an ffprobe run, and damage not modelled
 * goes to ffprobe. The fixture is an audiobook the pinned ffmpeg writes: two AAC tracks of one
 * second and a QuickTime chapter text track; each variant patches its bytes in place. Every
 * refused variant below made Debian's ffprobe 5.1.9 exit 1 when this test was written.
 */

const run = promisify(execFile);
const NO_FFPROBE = { ffprobePath: '/nonexistent/ffprobe' };
const videoContext: ProbeContext = { options: NO_FFPROBE, detection: { modality: 'video', mime: '', format: '', warnings: [] } };

let dir: string;
let book: Uint8Array;
let movie: Uint8Array;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mp4-tracks-'));
  const chapters = join(dir, 'chapters.txt');
  writeFileSync(chapters, ';FFMETADATA1\n[CHAPTER]\nTIMEBASE=1/1000\nSTART=0\nEND=500\ntitle=One\n[CHAPTER]\nTIMEBASE=1/1000\nSTART=500\nEND=1000\ntitle=Two\n');
  const tone = (frequency: number) => ['-f', 'lavfi', '-i', `sine=f=${frequency}:r=44100:d=1`];
  await run(ffmpegPath(), ['-v', 'error', '-y', ...tone(440), ...tone(660), '-i', chapters, '-map', '0', '-map', '1', '-map_metadata', '2', '-map_chapters', '2', '-c:a', 'aac', join(dir, 'book.m4b')]);
  book = readFileSync(join(dir, 'book.m4b'));
  await run(ffmpegPath(), ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc=size=64x48:rate=25:d=1', ...tone(440), '-c:v', 'libx264', '-bf', '2', '-c:a', 'aac', join(dir, 'movie.mp4')]);
  movie = readFileSync(join(dir, 'movie.mp4'));
}, 60_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Found {
  start: number;
  payload: number;
  end: number;
}

const u32 = (bytes: Uint8Array, at: number) => new DataView(bytes.buffer, bytes.byteOffset).getUint32(at);
const setU32 = (bytes: Uint8Array, at: number, value: number) => new DataView(bytes.buffer, bytes.byteOffset).setUint32(at, value);

function boxes(bytes: Uint8Array, start: number, end: number): (Found & { type: string })[] {
  const out: (Found & { type: string })[] = [];
  for (let at = start; at + 8 <= end; ) {
    const size = u32(bytes, at);
    out.push({ type: String.fromCharCode(...bytes.subarray(at + 4, at + 8)), start: at, payload: at + 8, end: at + size });
    at += size;
  }
  return out;
}

/** The box at `path` under the `track`-th trak (0-based) of the moov. */
function find(bytes: Uint8Array, track: number, ...path: string[]): Found {
  const moov = boxes(bytes, 0, bytes.byteLength).find((box) => box.type === 'moov')!;
  let box: Found = boxes(bytes, moov.payload, moov.end).filter((child) => child.type === 'trak')[track]!;
  for (const type of path) box = boxes(bytes, box.payload, box.end).find((child) => child.type === type)!;
  return box;
}

const STBL = ['mdia', 'minf', 'stbl'];
/** What Debian ffprobe 5.1.9 decodes from the first track of the fixture. */
const BOOK_SAMPLES = 45056;

/** A copy of a fixture (the book by default) with `edit` applied to its bytes. */
function variant(name: string, edit: (bytes: Uint8Array) => Uint8Array | void, from = book): string {
  const bytes = new Uint8Array(from);
  const path = join(dir, name);
  writeFileSync(path, edit(bytes) ?? bytes);
  return path;
}

/**
 * `data` inserted at `at` inside the boxes `parents` (outermost first), whose sizes grow by its
 * length. The fixtures keep the moov after the mdat, so no chunk offset moves.
 */
function insert(bytes: Uint8Array, parents: Found[], at: number, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(bytes.byteLength + data.byteLength);
  out.set(bytes.subarray(0, at));
  out.set(data, at);
  out.set(bytes.subarray(at), at + data.byteLength);
  for (const parent of parents) setU32(out, parent.start, u32(out, parent.start) + data.byteLength);
  return out;
}

function box(type: string, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + payload.byteLength);
  setU32(out, 0, out.byteLength);
  out.set(Buffer.from(type, 'latin1'), 4);
  out.set(payload, 8);
  return out;
}

function moovOf(bytes: Uint8Array): Found {
  return boxes(bytes, 0, bytes.byteLength).find((child) => child.type === 'moov')!;
}

/** The movie with its audio track (the second) naming the video track (id 1) as its chapter track, as iTunes chapter images are. */
function chapterImages(bytes: Uint8Array): Uint8Array {
  const chapter = new Uint8Array(4);
  setU32(chapter, 0, 1);
  const audio = find(bytes, 1);
  const tkhd = find(bytes, 1, 'tkhd');
  return insert(bytes, [moovOf(bytes), audio], tkhd.end, box('tref', box('chap', chapter)));
}

/**
 * The stsz box cut to its 8-byte header, the rest of it left as a 'free' box opening with four
 * zero bytes (as in mutagen's nero-chapters.m4b, where an stco follows): FFmpeg reads the fields
 * from what follows, a sample size of 'free' and a sample count of 0.
 */
function emptyStsz(bytes: Uint8Array, track: number): void {
  const stsz = find(bytes, track, ...STBL, 'stsz');
  setU32(bytes, stsz.start, 8);
  setU32(bytes, stsz.start + 8, stsz.end - stsz.start - 8);
  bytes.set([0x66, 0x72, 0x65, 0x65], stsz.start + 12);
  setU32(bytes, stsz.start + 16, 0);
}

const refusals: [string, (bytes: Uint8Array) => void, RegExp][] = [
  ['a second stsd', (bytes) => bytes.set([0x73, 0x74, 0x73, 0x64], find(bytes, 1, ...STBL, 'stts').start + 4), /duplicate stsd/],
  ['a dref with no entries', (bytes) => setU32(bytes, find(bytes, 1, 'mdia', 'minf', 'dinf', 'dref').payload + 4, 0), /dref with 0 entries/],
  ['an mdhd of version 2', (bytes) => { bytes[find(bytes, 2, 'mdia', 'mdhd').payload] = 2; }, /mdhd version 2/],
  ['an stsc naming chunks the stco lacks', (bytes) => {
    const stsc = find(bytes, 1, ...STBL, 'stsc');
    setU32(bytes, stsc.payload + 8 + (u32(bytes, stsc.payload + 4) - 1) * 12, 9999);
  }, /stsc names chunks the stco lacks/],
  ['an AAC config with sampling index 13', (bytes) => {
    const esds = find(bytes, 1, ...STBL, 'stsd');
    const config = Buffer.from(bytes.buffer, bytes.byteOffset).indexOf(Buffer.from([0x05, 0x80, 0x80, 0x80]), esds.payload) + 5;
    bytes[config] = (bytes[config]! & 0xf8) | (13 >> 1);
    bytes[config + 1] = (bytes[config + 1]! & 0x7f) | ((13 & 1) << 7);
  }, /sampling index 13/],
];

describe('MP4 tracks as FFmpeg 5.1 opens them', () => {
  it('reads the undamaged book from its first sound track', async () => {
    // Debian ffprobe 5.1.9 decodes 45056 samples: this muxer writes no edit list, so of the 45
    // packets only the encoder's first 1024 samples of priming are skipped.
    expect(await measured(join(dir, 'book.m4b'))).toEqual({ reader: 'mp4', codec: 'aac', sample_rate: 44100, num_channels: 1, bit_depth: 32, samples: BOOK_SAMPLES });
  });

  it('reads the book the same with junk or another file appended after its last box, and still calls a cut moov truncated', async () => {
    // Debian ffprobe 5.1.9 skips bytes after the last box that read as no file-level box (an
    // unknown atom) and decodes the same 45056 samples from each of these.
    const junk = Buffer.from(Array.from({ length: 50_000 }, (_, i) => (i * 7919 + 13) & 0xff));
    const mp3Header = Buffer.from([0x49, 0x44, 0x33, 0x04, 0, 0, 0, 0, 0, 0x10, ...new Array(16).fill(0), 0xff, 0xfb, 0x90, 0x64]);
    for (const [name, tail] of [['junk', junk], ['mp3', mp3Header], ['newline', Buffer.from('\n')], ['crlf', Buffer.from('\r\n')], ['seven', Buffer.from([1, 2, 3, 4, 5, 6, 7])]] as const) {
      expect((await measured(variant(`book-${name}.m4b`, (bytes) => Buffer.concat([bytes, tail])))).samples).toBe(BOOK_SAMPLES);
    }
    await expect(probeAudioFile(variant('book-cut.m4b', (bytes) => bytes.subarray(0, bytes.byteLength - 10)))).rejects.toMatchObject({ code: 'truncated' });
  });

  it('leaves the book with a fragmented file appended to ffprobe: mov.c meets moof boxes the moov has no mvex for', async () => {
    // Debian ffprobe 5.1.9 fails an m4a followed by a fragmented MP4 ('trun track id unknown, no tfhd was found').
    const fragmentedPath = join(dir, 'fragmented.mp4');
    await run(ffmpegPath(), ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'sine=f=440:r=44100:d=1', '-c:a', 'aac', '-movflags', 'frag_keyframe+empty_moov', '-frag_duration', '200000', fragmentedPath]);
    const path = variant('book-fragments.m4b', (bytes) => Buffer.concat([bytes, readFileSync(fragmentedPath)]));
    await expect(probeAudio(path, NO_FFPROBE)).rejects.toMatchObject({ code: 'tool_missing' });
  });

  it.each(refusals)('refuses a book whose second or chapter track has %s, in both probes, without ffprobe', async (name, edit, reason) => {
    const path = variant(`${name}.m4b`, edit);
    await expect(probeAudioFile(path)).rejects.toMatchObject({ code: 'corrupt_file', message: expect.stringMatching(reason) });
    await expect(probeVideo(new FileSource(path), videoContext)).rejects.toMatchObject({ code: 'corrupt_file', message: expect.stringMatching(reason) });
  });

  it('refuses a book whose second track has a sample of 2 GiB (the video reader first finds it past the end)', async () => {
    const path = variant('2gib-sample.m4b', (bytes) => setU32(bytes, find(bytes, 1, ...STBL, 'stsz').payload + 12, 0x80000010));
    await expect(probeAudioFile(path)).rejects.toMatchObject({ code: 'corrupt_file', message: expect.stringMatching(/stsz sample size of 2 GiB/) });
    await expect(probeVideo(new FileSource(path), videoContext)).rejects.toMatchObject({ code: 'truncated' });
  });

  it('passes a chapter track whose stsz FFmpeg reads past on to the audio probe without ffprobe', async () => {
    const path = variant('short-stsz-chapters.m4b', (bytes) => emptyStsz(bytes, 2));
    await expect(probeVideo(new FileSource(path), videoContext)).rejects.toMatchObject({ code: 'no_video_stream' });
    expect((await measured(path)).samples).toBe(BOOK_SAMPLES);
  });

  it('calls a sound track whose stsz FFmpeg reads as empty truncated: its stts promises samples no packet holds', async () => {
    const path = variant('short-stsz-audio.m4b', (bytes) => emptyStsz(bytes, 0));
    await expect(probeVideo(new FileSource(path), videoContext)).rejects.toMatchObject({ code: 'no_video_stream' });
    await expect(probeAudioFile(path)).rejects.toMatchObject({ code: 'truncated' });
  });

  it('leaves a sound track that holds its stts or elst twice to the decoder: FFmpeg keeps the last copy, the reader read the first', async () => {
    const repeated = (table: 'stts' | 'elst') => variant(`repeated-${table}.m4b`, (bytes) => {
      const inner = table === 'stts' ? ['mdia', 'minf', 'stbl'] : ['edts'];
      const parents = [moovOf(bytes), find(bytes, 0), ...inner.map((_, depth) => find(bytes, 0, ...inner.slice(0, depth + 1)))];
      const original = find(bytes, 0, ...inner, table);
      return insert(bytes, parents, original.end, bytes.slice(original.start, original.end));
    });
    await expect(probeAudio(repeated('stts'), NO_FFPROBE)).rejects.toMatchObject({ code: 'tool_missing' });
    await expect(probeAudio(repeated('elst'), NO_FFPROBE)).rejects.toMatchObject({ code: 'tool_missing' });
  });

  it('leaves damage it does not model in another track to ffprobe', async () => {
    const path = variant('stts-overrun.m4b', (bytes) => {
      const stts = find(bytes, 1, ...STBL, 'stts');
      setU32(bytes, stts.payload + 4, u32(bytes, stts.payload + 4) + 50);
    });
    await expect(probeVideo(new FileSource(path), videoContext)).rejects.toMatchObject({ code: 'tool_missing' });
    await expect(probe(path, NO_FFPROBE)).rejects.toMatchObject({ code: 'tool_missing' });
  });

  it('takes a video track that is a chapter track for chapter images, not video, and reads the audio without ffprobe', async () => {
    const path = variant('chapter-images.mp4', chapterImages, movie);
    await expect(probeVideo(new FileSource(path), videoContext)).rejects.toMatchObject({ code: 'no_video_stream' });
    // Debian ffprobe 5.1.9: the h264 stream is attached_pic, the AAC track decodes to 45056 samples.
    expect((await measured(path)).samples).toBe(BOOK_SAMPLES);
  });

  it('leaves chapter images whose track repeats its ctts to ffprobe (5.1.9 fails them with ENOMEM, which is not modelled)', async () => {
    const path = variant('chapter-images-two-ctts.mp4', (bytes) => {
      const images = chapterImages(bytes);
      const ctts = find(images, 0, ...STBL, 'ctts');
      const copy = images.slice(ctts.start, ctts.end);
      return insert(images, [moovOf(images), find(images, 0), find(images, 0, 'mdia'), find(images, 0, 'mdia', 'minf'), find(images, 0, ...STBL)], ctts.end, copy);
    }, movie);
    await expect(probe(path, NO_FFPROBE)).rejects.toMatchObject({ code: 'tool_missing' });
    await expect(probeAudio(path, NO_FFPROBE)).rejects.toMatchObject({ code: 'tool_missing' });
  });

  it('does not measure a sound track when an earlier track is audio to FFmpeg by its format', async () => {
    // The first track's handler made 'text': FFmpeg still types it audio from its 'mp4a' entry (mov_codec_id).
    const path = variant('text-handler.m4b', (bytes) => bytes.set([0x74, 0x65, 0x78, 0x74], find(bytes, 0, 'mdia', 'hdlr').payload + 8));
    await expect(probe(path, NO_FFPROBE)).rejects.toMatchObject({ code: 'tool_missing' });
  });
});

const corpus = '/work/shared/corpus/audio';

describe.skipIf(!existsSync(corpus))('damaged audiobooks of the corpus, answered without ffprobe', () => {
  it('mutagen__nero-chapters.m4b: both tracks have an empty stsz, so no packets (SPEC v3: truncated)', async () => {
    await expect(probe(join(corpus, 'mutagen__nero-chapters.m4b'), NO_FFPROBE)).rejects.toMatchObject({ code: 'truncated' });
  });

  it('musicmeta__issue-2672.m4b: xHE-AAC (object type 42), which ffprobe 5.1 cannot open', async () => {
    await expect(probe(join(corpus, 'musicmeta__issue-2672.m4b'), NO_FFPROBE)).rejects.toMatchObject({ code: 'corrupt_file', message: expect.stringMatching(/audio object type 42/) });
  });
});
