import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { audioContext, probeAudioSource } from './helpers/audio.js';
import { readAdts } from '../src/probes/audio/adts.js';
import { isAdtsWithoutRate, readRatelessAdts } from '../src/probes/audio/adts-rateless.js';
import { readDff } from '../src/probes/audio/dff.js';
import { DecoderNeeded, type AudioInput } from '../src/probes/audio/facts.js';
import { readMpeg } from '../src/probes/audio/mpeg.js';
import { isMusepackBeforeSv7 } from '../src/probes/audio/musepack.js';
import { BufferSource } from '../src/sources/buffer.js';
import { FileSource } from '../src/sources/file.js';

/**
 * Files ffmpeg 5.1 opens with a demuxer it is sure of and then cannot read: the probe refuses
 * them in-process with the verdict ffprobe reaches, and hands look-alikes whose demuxer or
 * outcome is not certain to ffprobe. Each verdict below was checked against /usr/bin/ffprobe
 * 5.1.9 on the same bytes (the refusals: ffprobe exits with an error or decodes nothing).
 */


const probe = probeAudioSource;

const probeBytes = (bytes: Uint8Array, name: string) => probe(new BufferSource(bytes, name));

/** Calls a reader directly, to see a DecoderNeeded that the probe would hand to ffprobe. */
function readerInput(bytes: Uint8Array, name: string): AudioInput {
  const source = new BufferSource(bytes, name);
  return { source, head: bytes.subarray(0, 65536), options: {}, detection: audioContext.detection, size: () => source.size() };
}

const concat = (...parts: (Uint8Array | number[] | string)[]) =>
  Uint8Array.from(parts.flatMap((p) => (typeof p === 'string' ? [...p].map((c) => c.charCodeAt(0)) : [...p])));
const zeros = (n: number) => new Array<number>(n).fill(0);
const u64be = (n: number) => [0, 0, 0, 0, (n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];

/** An ID3v2.3 tag of `size` bytes in all (one padded TIT2 frame). */
function id3v2(size: number): Uint8Array {
  const body = size - 10;
  const syncsafe = [(body >> 21) & 127, (body >> 14) & 127, (body >> 7) & 127, body & 127];
  return concat('ID3', [3, 0, 0], syncsafe, 'TIT2', [0, 0, 0, 1, 0, 0, 0], zeros(body - 11));
}

/** MPEG-1 layer III, 128 kbit/s, 44.1 kHz, joint stereo: 417 bytes, silent side information. */
const MP3_FRAME = concat([0xff, 0xfb, 0x90, 0x64], zeros(413));
const ID3V1 = concat('TAG', 'a title', zeros(118));

describe('ID3v2-tagged MP3 without a pair of frames (mp3_read_header fails: EINVAL)', () => {
  it('refuses tags followed by zeros only', async () => {
    // ffprobe 5.1.9: "Failed to read frame size: Could not seek to ...", Invalid argument.
    await expect(probeBytes(concat(id3v2(4352), zeros(272)), 'x.mp3')).rejects.toMatchObject({ code: 'corrupt_file', message: expect.stringMatching(/mp3 demuxer/) });
  });

  it('refuses a lone frame between zeros, with an ID3v1 tag at the end', async () => {
    // ffprobe 5.1.9: Invalid argument (the frame's successor is zeros, then the scan meets the end).
    const bytes = concat(id3v2(2096), zeros(300), MP3_FRAME, zeros(50), ID3V1);
    for (const name of ['x.mp3', 'x.mp2', 'x.mpa', 'x.m2a']) {
      await expect(probeBytes(bytes, name)).rejects.toMatchObject({ code: 'corrupt_file', message: expect.stringMatching(/mp3 demuxer/) });
    }
  });

  it('leaves the same bytes to ffmpeg under a name its mp3 demuxer is not chosen by', async () => {
    const bytes = concat(id3v2(2096), zeros(300), MP3_FRAME, zeros(50));
    for (const name of ['x.bin', 'x']) await expect(readMpeg(readerInput(bytes, name))).rejects.toBeInstanceOf(DecoderNeeded);
  });

  it('leaves bytes another format may claim to ffmpeg', async () => {
    const text = concat(id3v2(200), zeros(10), 'some bytes that are no MPEG audio');
    await expect(readMpeg(readerInput(text, 'x.mp3'))).rejects.toBeInstanceOf(DecoderNeeded);
  });

  it('leaves zeros that ffmpeg probes as another format to ffmpeg', async () => {
    // ffprobe 5.1.9 opens the first as tiertexseq (pcm_s16be audio), the second as adp (adpcm_dtk, 48000 Hz, 2 channels).
    const seq = concat(id3v2(200), zeros(256), MP3_FRAME, zeros(50));
    const adp = concat(id3v2(200), zeros(285), 'TAG', 'A'.repeat(30), zeros(95));
    for (const bytes of [seq, adp]) await expect(readMpeg(readerInput(bytes, 'x.mp3'))).rejects.toBeInstanceOf(DecoderNeeded);
  });

  it('leaves frames behind 256 zero bytes to ffmpeg, whose tiertexseq probe ties its mp3 probe there', async () => {
    // ffprobe 5.1.9 -v trace: mp3 and tiertexseq both score 25, so no format: Invalid data found (255 zero bytes: mp3).
    const frames = concat(MP3_FRAME, MP3_FRAME, MP3_FRAME, MP3_FRAME, MP3_FRAME, MP3_FRAME);
    await expect(readMpeg(readerInput(concat(id3v2(200), zeros(256), frames), 'x.mp3'))).rejects.toBeInstanceOf(DecoderNeeded);
    const { codec, sampleRate } = await readMpeg(readerInput(concat(id3v2(200), zeros(255), frames), 'x.mp3'));
    expect({ codec, sampleRate }).toEqual({ codec: 'mp3', sampleRate: 44100 });
  });

  it('leaves a few frames under another format\'s extension to ffmpeg; seven frames make them MP3 whatever the name', async () => {
    // ffprobe 5.1.9: two frames named .aac are no format (Invalid data found); eight are mp3.
    await expect(readMpeg(readerInput(concat(MP3_FRAME, MP3_FRAME), 'x.aac'))).rejects.toBeInstanceOf(DecoderNeeded);
    const { codec } = await readMpeg(readerInput(concat(...Array.from({ length: 8 }, () => MP3_FRAME)), 'x.aac'));
    expect(codec).toBe('mp3');
  });

  it('leaves junk longer than the 64 KiB search to ffmpeg, which then reads on from the tags', async () => {
    // ffprobe 5.1.9 decodes the lone frame of this file (the search ends without a verdict).
    const bytes = concat(id3v2(200), zeros(65536), MP3_FRAME, zeros(50));
    await expect(readMpeg(readerInput(bytes, 'x.mp3'))).rejects.toBeInstanceOf(DecoderNeeded);
  });
});

/** A header-only ADTS frame of 27 bytes with sampling-frequency index `sf`, stereo. */
function adtsFrame(sf: number): Uint8Array {
  const length = 27;
  return concat([0xff, 0xf1, 0x40 | (sf << 2), 0x80 | (length >> 11), (length >> 3) & 0xff, ((length & 7) << 5) | 0x1f, 0xfc], zeros(length - 7));
}

describe('ADTS whose headers name no sampling rate (index 13-15)', () => {
  it('refuses a file in which no header is one the parser accepts', async () => {
    // ffprobe 5.1.9: stream aac, 0 Hz, 0 channels, no frame decoded.
    for (const sf of [13, 14, 15]) {
      const bytes = concat(...Array.from({ length: 8 }, () => adtsFrame(sf)));
      await expect(probeBytes(bytes, 'x.aac')).rejects.toMatchObject({ code: 'corrupt_file', message: expect.stringMatching(/sampling rate/) });
    }
  });

  it('leaves a file with a usable header later to the decoder', async () => {
    const bytes = concat(adtsFrame(15), adtsFrame(15), adtsFrame(15), adtsFrame(4));
    await expect(readRatelessAdts(readerInput(bytes, 'x.aac'))).rejects.toBeInstanceOf(DecoderNeeded);
  });

  it('leaves files of fewer than three frames to ffmpeg, whose probe may pick no format for them', async () => {
    // ffprobe 5.1.9 on one or two frames of a 44.1 kHz stereo ADTS encode: Invalid data found when processing input.
    for (const frames of [1, 2]) {
      const bytes = concat(...Array.from({ length: frames }, () => adtsFrame(4)));
      await expect(readAdts(readerInput(bytes, 'x.aac'))).rejects.toBeInstanceOf(DecoderNeeded);
    }
  });

  it('is only decided where ffmpeg surely probes ADTS: three chained frames from the start', () => {
    expect(isAdtsWithoutRate(concat(adtsFrame(15), adtsFrame(15), adtsFrame(15)))).toBe(true);
    expect(isAdtsWithoutRate(concat(adtsFrame(15), adtsFrame(15)))).toBe(false);
    expect(isAdtsWithoutRate(concat(adtsFrame(4), adtsFrame(4), adtsFrame(4)))).toBe(false);
  });
});

const chunk = (id: string, body: Uint8Array | number[]) => concat(id, u64be(body.length), [...body], body.length & 1 ? [0] : []);

function dstFile(dstBody: Uint8Array): Uint8Array {
  const prop = concat('SND ', chunk('FS  ', [0, 0x2b, 0x11, 0]), chunk('CHNL', concat([0, 2], 'SLFTSRGT')), chunk('CMPR', concat('DST ', [11], 'DST Encoded')));
  const body = concat('DSD ', chunk('FVER', [1, 5, 0, 0]), chunk('PROP', prop), chunk('DST ', dstBody));
  return concat('FRM8', u64be(body.length), body);
}

describe('DSDIFF with DST compression', () => {
  const frte = chunk('FRTE', [0, 0, 0, 0, 0, 75]);

  it('refuses a DST chunk that holds no DST frame (iff.c read_dst_frame: End of file)', async () => {
    // ffprobe 5.1.9: "End of file".
    await expect(probeBytes(dstFile(frte), 'x.dff')).rejects.toMatchObject({ code: 'corrupt_file', message: expect.stringMatching(/no DST frame/) });
  });

  it('refuses a local chunk of no bytes (AVERROR_INVALIDDATA)', async () => {
    await expect(probeBytes(dstFile(concat('DSTI', u64be(0))), 'x.dff')).rejects.toMatchObject({ code: 'corrupt_file' });
  });

  it('hands DST frames to the decoder', async () => {
    await expect(readDff(readerInput(dstFile(concat(frte, chunk('DSTF', zeros(100)))), 'x.dff'))).rejects.toBeInstanceOf(DecoderNeeded);
  });
});

describe('Musepack SV4-SV6', () => {
  /** First word (little-endian): bitrate 128 in bits 23-31, version in bits 11-20. */
  const sv = (version: number) => concat([(version << 11) & 0xff, ((version << 11) >> 8) & 0xff, 0, 0x40], zeros(1000).map((_, i) => (i * 37) & 0xff));

  it('refuses an .mpc file with an SV4-SV6 header (ffmpeg: "Not a Musepack file")', async () => {
    for (const version of [4, 5, 6]) {
      await expect(probeBytes(sv(version), 'x.mpc')).rejects.toMatchObject({ code: 'unsupported_format', message: expect.stringMatching(/SV4-SV6/) });
    }
  });

  it('decides only under .mpc, the extension that makes ffmpeg choose its mpc demuxer', () => {
    expect(isMusepackBeforeSv7(sv(5), 'mpc')).toBe(true);
    expect(isMusepackBeforeSv7(sv(5), 'mp+')).toBe(false);
    expect(isMusepackBeforeSv7(sv(7), 'mpc')).toBe(false);
  });
});

const corpus = '/work/shared/corpus/audio';

describe.skipIf(!existsSync(corpus))('corpus files ffprobe 5.1.9 cannot read, refused in-process', () => {
  // [file, the error code the probe gives in-process, what ffprobe 5.1.9 printed]
  const REFUSED: [string, string][] = [
    ['musicmeta__bug-non ascii chars.mp3', 'corrupt_file'], // Failed to read frame size: Could not seek to 1295
    ['musicmeta__issue-453.mp3', 'corrupt_file'], // Failed to read frame size: Could not seek to 1264
    ['musicmeta__adts-sf-escape.aac', 'corrupt_file'], // aac, 0 Hz, 0 channels, nothing decoded
    ['mutagen__5644800-2ch-s01-silence-dst.dff', 'corrupt_file'], // End of file
    ['mutagen__sv5_header.mpc', 'unsupported_format'], // Not a Musepack file
  ];
  it.each(REFUSED)('%s', async (name, code) => {
    const error = await probe(new FileSource(join(corpus, name))).catch((e: unknown) => e);
    expect(error).toMatchObject({ code });
    expect((error as Error).message).not.toMatch(/ffprobe/);
  });
});
