import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { beforeAll, describe, expect, it } from 'vitest';
import { probeAudioSource, writeTone } from './helpers/audio.js';
import { generateAudioFixtures } from '../scripts/fixtures-audio.mjs';
import { BufferSource } from '../src/sources/buffer.js';
import { FileSource } from '../src/sources/file.js';
import { StreamSource } from '../src/sources/stream.js';


const probe = probeAudioSource;

const probePath = (path: string) => probe(new FileSource(path));

/**
 * Expected values, checked against the oracle (ffprobe 5.1 and the length ffmpeg decodes):
 * [fixture, mime, codec, sample rate, channels, bit depth, samples decoded].
 */
const DECODED: [string, string, string, number, number, number, number][] = [
  ['pcm-u8', 'audio/wav', 'pcm', 22050, 1, 8, 22050],
  ['pcm-s16', 'audio/wav', 'pcm', 44100, 2, 16, 22050],
  ['pcm-s24', 'audio/wav', 'pcm', 48000, 2, 24, 24000],
  ['pcm-s32', 'audio/wav', 'pcm', 48000, 2, 32, 12000],
  ['pcm-f32', 'audio/wav', 'pcm', 44100, 1, 32, 4410],
  ['pcm-f64', 'audio/wav', 'pcm', 44100, 2, 64, 4410],
  ['pcm-6ch', 'audio/wav', 'pcm', 48000, 6, 16, 9600],
  ['w64', 'audio/wav', 'pcm', 44100, 2, 16, 4410],
  ['aiff-s16', 'audio/aiff', 'pcm', 44100, 2, 16, 11025],
  ['flac-s16', 'audio/flac', 'flac', 44100, 2, 16, 44100],
  ['flac-s24', 'audio/flac', 'flac', 96000, 2, 24, 48000],
  // LAME's Info/Xing tag carries the encoder delay and padding: the decoder plays the input exactly.
  ['mp3-cbr', 'audio/mpeg', 'mp3', 44100, 2, 32, 44100],
  ['mp3-vbr', 'audio/mpeg', 'mp3', 44100, 2, 32, 66150],
  ['mp3-mono-22k', 'audio/mpeg', 'mp3', 22050, 1, 32, 22050],
  // Without the tag every frame plays: 59 frames of 1152, delay and padding included.
  ['mp3-vbr-no-xing', 'audio/mpeg', 'mp3', 44100, 2, 32, 59 * 1152],
  ['mp2', 'audio/mpeg', 'mp2', 48000, 2, 32, 42 * 1152],
  ['opus', 'audio/ogg', 'opus', 48000, 2, 32, 48000],
  // This muxer's last granule position stops short of the input; the decoder follows it.
  ['vorbis', 'audio/ogg', 'vorbis', 44100, 2, 32, 43972],
  // 45 AAC frames of 1024, less the 1024 priming samples the edit list skips.
  ['aac-m4a', 'audio/mp4', 'aac', 44100, 2, 32, 44 * 1024],
  ['alac-m4a', 'audio/mp4', 'alac', 44100, 2, 16, 22050],
  // ADTS says nothing of priming: all 48 frames play.
  ['aac-adts', 'audio/aac', 'aac', 48000, 2, 32, 48 * 1024],
  ['wavpack-s16', 'audio/x-wavpack', 'wavpack', 44100, 2, 16, 30000],
  ['wavpack-6ch', 'audio/x-wavpack', 'wavpack', 48000, 6, 16, 12000],
  // Raw AC-3/E-AC-3: every frame plays (1536 samples), the encoder's delay included.
  ['ac3-51', 'audio/ac3', 'ac3', 48000, 6, 32, 32 * 1536],
  ['ac3-mono-44k', 'audio/ac3', 'ac3', 44100, 1, 32, 15 * 1536],
  ['eac3', 'audio/eac3', 'eac3', 44100, 2, 32, 29 * 1536],
  // Matroska/WebM: Opus less its pre-skip and the last block's DiscardPadding plays the input exactly.
  ['opus-webm', 'audio/webm', 'opus', 48000, 2, 32, 48000],
  ['opus-mono-mka', 'audio/x-matroska', 'opus', 48000, 1, 32, 30000],
  ['flac-mka', 'audio/x-matroska', 'flac', 44100, 2, 16, 22050],
  ['pcm-s24-mka', 'audio/x-matroska', 'pcm', 48000, 2, 24, 12000],
  // Every AC-3 frame plays, as in a raw stream.
  ['ac3-mka', 'audio/x-matroska', 'ac3', 48000, 6, 32, 32 * 1536],
  // Vorbis in Matroska goes to the decoder (a damaged packet is dropped, nothing proves one is whole).
  ['vorbis-webm', 'audio/webm', 'vorbis', 44100, 2, 32, 44608],
  // Ogg Speex: 320 samples for each of the 50 packets (one frame per packet), granules aside.
  ['speex-wb', 'audio/ogg', 'speex', 16000, 1, 32, 50 * 320],
  // DSDIFF (hand-built): 35280 bytes per channel of 8 one-bit samples each, at the 1-bit rate.
  ['dff', 'audio/x-dff', 'dsd_msbf', 2822400, 2, 1, 35280 * 8],
  // AMR: 20 ms per speech frame (51 and 50 frames).
  ['amr-nb', 'audio/amr', 'amr_nb', 8000, 1, 32, 51 * 160],
  ['amr-wb', 'audio/amr', 'amr_wb', 16000, 1, 32, 50 * 320],
  ['tta', 'audio/x-tta', 'tta', 44100, 2, 16, 60000],
  // AC-3 in MPEG-TS: the PES payloads joined are 32 whole frames.
  ['ac3-ts', 'video/mpeg', 'ac3', 48000, 2, 32, 32 * 1536],
];

const ENCORD_PLAYS = ['audio/mpeg', 'audio/wav', 'audio/flac', 'audio/mp4'];

describe('probeAudio on generated fixtures', () => {
  let paths: Record<string, string>;
  beforeAll(() => {
    paths = generateAudioFixtures() as Record<string, string>;
  });

  it.each(DECODED)('%s: %s %s %i Hz, %i channels, %i bits, %i samples', async (name, mime, codec, rate, channels, bits, samples) => {
    const path = paths[name]!;
    const { metadata, warnings } = await probePath(path);
    expect(metadata).toEqual({
      duration: expect.closeTo(samples / rate, 9),
      file_size: readFileSync(path).byteLength,
      mime_type: mime,
      sample_rate: rate,
      bit_depth: bits,
      codec,
      num_channels: channels,
    });
    expect(warnings.map((w) => w.code)).toEqual(ENCORD_PLAYS.includes(mime) ? [] : ['unsupported_by_encord']);
  });

  it.each([
    ['wav-truncated', 'truncated', /data chunk .* declares 88200 bytes/],
    ['mp3-truncated', 'truncated', /declares 7075 bytes/],
    ['ac3-truncated', 'truncated', /AC-3 frame at byte 47616 declares 1536 bytes, the file holds 1436/],
    ['tta-truncated', 'truncated', /TTA frame 2 of 2 runs to byte \d+, the file holds \d+/],
    ['dff-truncated', 'truncated', /DSDIFF DSD chunk declares 70560 bytes, the file holds 20000/],
    ['flac-truncated', 'truncated', /STREAMINFO declares 44100 samples/],
    ['flac-joined-rates', 'corrupt_file', /changes its sample rate or channel count/],
    ['ape-truncated', 'truncated', /APE descriptor declares audio data up to byte 212, the file holds 116/],
    ['midi', 'no_audio_stream', /MIDI/],
    ['id3-only', 'no_audio_stream', /ID3v2/],
    ['empty', 'empty_file', /empty/],
  ])('%s: %s', async (name, code, message) => {
    const failure = probePath(paths[name]!);
    await expect(failure).rejects.toMatchObject({ code });
    await expect(failure).rejects.toThrow(message);
  });

  it.each(['mp3-vbr', 'flac-s16', 'aac-m4a', 'opus', 'pcm-s24', 'opus-webm', 'ac3-51'])('%s reads the same from a Buffer and from a stream', async (name) => {
    const path = paths[name]!;
    const bytes = readFileSync(path);
    const fromFile = await probePath(path);
    const fromBuffer = await probe(new BufferSource(bytes, name));
    const fromStream = await probe(new StreamSource(Readable.from([bytes.subarray(0, 1000), bytes.subarray(1000)]), name));
    expect(fromBuffer.metadata).toEqual(fromFile.metadata);
    expect(fromStream.metadata).toEqual(fromFile.metadata);
  });

  it('leaves bytes after the last AC-3 frame to the decoder, whose parser may drop that frame with them', async () => {
    const { metadata, details } = await probePath(paths['ac3-junk']!);
    expect(details).toMatchObject({ reader: 'ffprobe', fallback: expect.stringMatching(/no AC-3 frame at byte 49152/) });
    expect(metadata.duration).toBeLessThanOrEqual(1.024);
  });

  it.each([
    ['opus-webm', 'matroska'],
    ['flac-mka', 'matroska'],
    ['ac3-mka', 'matroska'],
    ['vorbis-webm', 'ffprobe'],
    ['speex-wb', 'ogg'],
    // The decoder drops a packet holding fewer frames than the header says, which only a bitstream parse tells.
    ['speex-3-per-packet', 'ffprobe'],
    ['amr-nb', 'amr'],
    ['ac3-ts', 'mpegts'],
    ['mp2-ts', 'ffprobe'],
    // ffmpeg's AMR decoders refuse NO_DATA and SID frames: what plays is theirs to say.
    ['amr-no-data', 'ffprobe'],
  ])('%s is measured by %s', async (name, reader) => {
    expect((await probePath(paths[name]!)).details).toMatchObject({ reader });
  });

  it('leaves a Matroska block of a track that does not exist to the decoder (ffmpeg loses the blocks after it)', async () => {
    const failure = probePath(paths['opus-webm-bad-track']!);
    await expect(failure).rejects.toMatchObject({ code: 'truncated' });
    await expect(failure).rejects.toThrow(/the decoder produced no audio/);
  });

  it('reads a WAV whose data chunk size is 0xFFFFFFFF (streamed) to the end of the file', async () => {
    const wav = Buffer.from(readFileSync(paths['pcm-s16']!));
    wav.writeUInt32LE(0xffffffff, 4);
    wav.writeUInt32LE(0xffffffff, 40);
    const { metadata } = await probe(new BufferSource(wav.subarray(0, 44 + 4000)));
    expect(metadata.duration).toBeCloseTo(1000 / 44100, 12);
  });

  it('calls a FLAC file cut inside its last frame truncated (STREAMINFO counts every sample the decoder plays)', async () => {
    const whole = readFileSync(paths['flac-s16']!);
    for (const cut of [1, 7, 100]) {
      await expect(probe(new BufferSource(whole.subarray(0, whole.byteLength - cut), 'cut.flac'))).rejects.toMatchObject({ code: 'truncated' });
    }
  });

  it('leaves two FLAC streams joined end to end to the decoder, which plays both (frame numbers restart)', async () => {
    const result = await probePath(paths['flac-joined']!); // flac-s16 (1 s at 44100 Hz) and its frames again
    expect(result.metadata).toMatchObject({ duration: 2, sample_rate: 44100, num_channels: 2 }); // ffprobe -show_frames: 88200 samples
    expect(result.details).toMatchObject({ reader: 'ffprobe', fallback: expect.stringMatching(/joined end to end/) });
  });

  it('refuses a stream whose channel count changes (two MP3 files joined end to end)', async () => {
    const mono = join(mkdtempSync(join(tmpdir(), 'mono-44k-')), 'mono-44k.mp3');
    writeTone(mono, 44100, 11025, 1, ['-c:a', 'libmp3lame', '-b:a', '64k']);
    const joined = Buffer.concat([readFileSync(paths['mp3-cbr']!), readFileSync(mono)]);
    await expect(probe(new BufferSource(joined, 'joined.mp3'))).rejects.toMatchObject({ code: 'corrupt_file', message: expect.stringMatching(/channel count changes/) });
  });

  it('ignores a chunk after the data that claims more bytes than the file holds', async () => {
    const wav = Buffer.concat([readFileSync(paths['pcm-s16']!), Buffer.from('LIST'), Buffer.from([0xff, 0xff, 0xff, 0x7f])]);
    const { metadata } = await probe(new BufferSource(wav));
    expect(metadata.duration).toBeCloseTo(0.5, 12);
  });
});

const corpus = '/work/shared/corpus/audio';
const expectedPath = '/work/shared/corpus/expected.jsonl';

describe.skipIf(!existsSync(corpus) || !existsSync(expectedPath))('probeAudio on the shared corpus', () => {
  interface Expected {
    file: string;
    status: 'ok' | 'error' | 'unsure';
    metadata?: Record<string, unknown>;
  }
  // Read when the tests run: vitest collects a skipped describe's body too.
  const expectedByName = () => new Map(
    readFileSync(expectedPath, 'utf8')
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Expected)
      .filter((e) => e.file.startsWith('audio/'))
      .map((e) => [e.file.slice('audio/'.length), e]),
  );

  it('never returns a value that differs from the ground truth, nor a value where an error is due', async () => {
    const expected = expectedByName();
    const wrong: string[] = [];
    let matched = 0;
    for (const name of readdirSync(corpus)) {
      const truth = expected.get(name);
      if (!truth || truth.status === 'unsure') continue;
      const result = await probePath(join(corpus, name)).catch(() => undefined);
      if (!result) continue;
      const { duration, ...rest } = result.metadata;
      const { duration: want, ...wantRest } = (truth.metadata ?? {}) as { duration?: number };
      const same = truth.status === 'ok' && JSON.stringify(rest) === JSON.stringify(wantRest) && Math.abs(duration - want!) <= Math.max(0.01, 1e-3 * want!);
      if (same) matched++;
      else wrong.push(`${name}: ${JSON.stringify(result.metadata)}`);
    }
    expect(wrong).toEqual([]);
    // Files the in-process readers measure: every WAV, AIFF, FLAC, MP3, Ogg and MP4 in the corpus at least.
    expect(matched).toBeGreaterThanOrEqual(120);
  });
});
