import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { probeAudioBytes as probeBytes, readerInput } from './helpers/audio.js';
import { DecoderNeeded } from '../src/probes/audio/facts.js';
import { readMusepack } from '../src/probes/audio/musepack.js';
import { readShorten } from '../src/probes/audio/shorten.js';
import { readTak } from '../src/probes/audio/tak.js';

const concat = (...parts: (Uint8Array | number[] | string)[]) =>
  Uint8Array.from(parts.flatMap((p) => (typeof p === 'string' ? [...p].map((c) => c.charCodeAt(0)) : [...p])));
const u32le = (n: number) => [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24];

// ---------------------------------------------------------------------------------------------
// Musepack SV7: a header and a chain of frames, each a 20-bit bit length and that many bits,
// in big-endian bits of little-endian 32-bit words, starting 8 bits into the word after the
// 24 header bytes (the layout mppenc writes and ffmpeg's mpc demuxer reads).

interface Sv7Options {
  frames?: number;
  version?: number;
  maxBand?: number;
  rateIndex?: number;
}

function sv7(frameBits: number[], options: Sv7Options = {}): Uint8Array {
  const bits: number[] = new Array(8).fill(0);
  for (const [i, length] of frameBits.entries()) {
    for (let b = 19; b >= 0; b--) bits.push((length >> b) & 1);
    for (let b = 0; b < length; b++) bits.push((i + b) % 3 === 0 ? 1 : 0);
  }
  while (bits.length % 32) bits.push(0);
  const stream: number[] = [];
  for (let w = 0; w < bits.length; w += 32) {
    const word = bits.slice(w, w + 32).reduce((value, bit) => value * 2 + bit, 0);
    stream.push(...u32le(word));
  }
  const { frames = frameBits.length, version = 0x17, maxBand = 26, rateIndex = 0 } = options;
  const streamInfo = [0, 0, rateIndex, (1 << 6) | maxBand, ...new Array(12).fill(0)];
  return concat('MP+', [version], u32le(frames), streamInfo, stream);
}

/** Lengths that put the next frame's length field in one word and across two. */
const SV7_FRAMES = [100, 5000, 37, 2900];

describe('Musepack SV7 (hand-built frame chains)', () => {
  it('calls a file whose last frame is cut truncated', async () => {
    const whole = sv7(SV7_FRAMES);
    await expect(probeBytes(whole.subarray(0, whole.byteLength - 4))).rejects.toMatchObject({ code: 'truncated' });
    await expect(probeBytes(whole.subarray(0, 20))).rejects.toMatchObject({ code: 'truncated' });
  });

  it('calls a frame count the file cannot hold truncated', async () => {
    await expect(probeBytes(sv7(SV7_FRAMES, { frames: 1_000_000 }))).rejects.toThrow(/declares 1000000 frames/);
  });

  it('refuses what ffmpeg refuses: too many subbands, a frame table past UINT_MAX', async () => {
    await expect(probeBytes(sv7(SV7_FRAMES, { maxBand: 32 }))).rejects.toMatchObject({ code: 'corrupt_file' });
    await expect(probeBytes(sv7(SV7_FRAMES, { frames: 0x10000000 }))).rejects.toMatchObject({ code: 'corrupt_file' });
  });

  it('leaves to the decoder a stream without a frame count, or of another version', async () => {
    for (const bytes of [sv7(SV7_FRAMES, { frames: 0 }), sv7(SV7_FRAMES, { version: 0x08 })]) {
      await expect(readMusepack(readerInput(bytes))).rejects.toBeInstanceOf(DecoderNeeded);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Musepack SV8 stream header refusals (frames: audio-musepack.test.ts).

interface Sv8Options {
  rateIndex?: number;
  channels?: number;
  version?: number;
  crc?: number[];
  packetSize?: number;
}

function sv8(options: Sv8Options = {}): Uint8Array {
  const { rateIndex = 0, channels = 2, version = 8, crc = [1, 2, 3, 4], packetSize = 14 } = options;
  // CRC, version, samples (44100 as a variable-length number), beginning silence 0, format.
  const fields = [...crc, version, 0x82, 0xd8, 0x44, 0, (rateIndex << 5) | 25, ((channels - 1) << 4) | 0x08 | 3];
  return concat('MPCK', 'SH', [packetSize], fields, 'SE', [3], 'AP', [6, 1, 2, 3, 4]);
}

describe('Musepack SV8 stream header', () => {
  it.each([
    ['an undefined sample rate', { rateIndex: 4 }, /sample rate index 4/],
    ['more channels than the decoder takes', { channels: 3 }, /3 channels/],
    ['another stream version', { version: 7 }, /stream version 7/],
    ['a zero CRC, which the probe rejects', { crc: [0, 0, 0, 0] }, /does not recognise/],
    ['a header size the probe rejects', { packetSize: 5 }, /does not recognise/],
  ])('refuses %s', async (_what, options, message) => {
    await expect(probeBytes(sv8(options))).rejects.toMatchObject({ code: 'corrupt_file', message: expect.stringMatching(message) });
  });

  it('calls a file that ends inside the stream header truncated', async () => {
    await expect(probeBytes(sv8().subarray(0, 12))).rejects.toMatchObject({ code: 'truncated' });
  });
});

// ---------------------------------------------------------------------------------------------
// TAK: metadata blocks and frames with CRC-24s, in FFmpeg's little-endian bit order.

/** OpenPGP CRC-24, bit by bit (independent of the reader's table), stored little-endian. */
function withCrc24(bytes: number[]): number[] {
  let crc = 0xb704ce;
  for (const byte of bytes) {
    crc ^= byte << 16;
    for (let i = 0; i < 8; i++) crc = crc & 0x800000 ? ((crc << 1) ^ 0x864cfb) & 0xffffff : (crc << 1) & 0xffffff;
  }
  return [...bytes, crc & 0xff, (crc >> 8) & 0xff, crc >> 16];
}

/** Fields as [value, bits], least significant bit first, padded to whole bytes. */
function lsbBits(fields: [number, number][]): number[] {
  const bits = fields.flatMap(([value, count]) => Array.from({ length: count }, (_, i) => Math.floor(value / 2 ** i) % 2));
  const bytes: number[] = [];
  for (let i = 0; i < bits.length; i += 8) bytes.push(bits.slice(i, i + 8).reduce((byte, bit, j) => byte | (bit << j), 0));
  return bytes;
}

/** Stereo 16-bit 44.1 kHz, frame size type 1: 44100 x 4 / 32 = 5512 samples per frame. */
const takStreamInfo = (samples: number, bits = 16): [number, number][] =>
  [[2, 6], [0, 4], [1, 4], [samples, 35], [0, 3], [44100 - 6000, 18], [bits - 8, 5], [2 - 1, 4], [0, 1]];

function takFrame(number: number, lastSamples: number | undefined, samples: number, data: number[]): number[] {
  const flags = (lastSamples ? 1 : 0) | (number === 0 ? 2 : 0);
  const fields: [number, number][] = [[0xa0ff, 16], [flags, 3], [number, 21]];
  if (lastSamples) fields.push([lastSamples - 1, 14], [0, 2]);
  if (number === 0) fields.push(...takStreamInfo(samples), [0, 6]);
  return [...withCrc24(lsbBits(fields)), ...withCrc24(data)];
}

const block = (type: number, body: number[]) => [type, body.length & 0xff, body.length >> 8, body.length >> 16, ...body];

function tak(options: { declared?: number; lastFrameAt?: number; bits?: number } = {}): Uint8Array {
  const frames = [...takFrame(0, undefined, 6512, [1, 2, 3, 4, 5, 0xff]), ...takFrame(1, 1000, 6512, [9, 8, 7, 6])];
  const lastFrame = options.lastFrameAt === undefined ? [] : block(7, withCrc24(lsbBits([[options.lastFrameAt, 40], [20, 24]])));
  return concat('tBaK', block(1, withCrc24(lsbBits(takStreamInfo(options.declared ?? 6512, options.bits)))), lastFrame, block(0, []), frames);
}

describe('TAK (hand-built frames)', () => {
  it('plays the frame length per frame and the last frame its own count', async () => {
    const { metadata, details } = await probeBytes(tak());
    expect(details).toMatchObject({ reader: 'tak' });
    expect(metadata).toMatchObject({ mime_type: 'audio/x-tak', codec: 'tak', sample_rate: 44100, num_channels: 2, bit_depth: 16 });
    expect(metadata.duration).toBeCloseTo(6512 / 44100, 9);
  });

  it('calls a stream info count the frames do not reach truncated, when the frames end the file', async () => {
    await expect(probeBytes(tak({ declared: 20000 }))).rejects.toThrow(/declares 20000 samples, the frames in the file hold 6512/);
    const tagged = concat(tak({ declared: 20000 }), 'TAG', new Array(125).fill(0));
    await expect(readTak(readerInput(tagged))).rejects.toBeInstanceOf(DecoderNeeded);
  });

  it('calls a last frame placed past the end of the file truncated', async () => {
    await expect(probeBytes(tak({ lastFrameAt: 5000 }))).rejects.toMatchObject({ code: 'truncated' });
  });

  it('refuses a sample size the decoder has no output format for', async () => {
    await expect(probeBytes(tak({ bits: 20 }))).rejects.toThrow(/20 bits per sample/);
  });

  it('leaves a frame that fails its data CRC to the decoder', async () => {
    const bytes = tak();
    bytes[bytes.byteLength - 20] ^= 0x10;
    await expect(readTak(readerInput(bytes))).rejects.toBeInstanceOf(DecoderNeeded);
  });
});

// ---------------------------------------------------------------------------------------------
// Shorten: a minimal encoder of the bitstream (Rice codes, MSB first), whose block layout the
// decoder turns into frames: blocks of 256, then a shorter last block, then the quit command.

class RiceWriter {
  readonly bits: number[] = [];

  put(value: number, count: number): void {
    for (let i = count - 1; i >= 0; i--) this.bits.push(Math.floor(value / 2 ** i) % 2);
  }

  unsigned(value: number, k: number): void {
    for (let i = 0; i < Math.floor(value / 2 ** k); i++) this.bits.push(0);
    this.bits.push(1);
    this.put(value % 2 ** k, k);
  }

  signed(value: number, k: number): void {
    this.unsigned(value >= 0 ? 2 * value : -2 * value - 1, k + 1);
  }

  bytes(): Uint8Array {
    const bits = [...this.bits, ...new Array((8 - (this.bits.length % 8)) % 8).fill(0)];
    return Uint8Array.from({ length: bits.length / 8 }, (_, i) => bits.slice(i * 8, i * 8 + 8).reduce((byte, bit) => byte * 2 + bit, 0));
  }
}

interface ShortenOptions {
  version?: number;
  type?: number;
  samples?: number;
  declared?: number;
}

function wavHeader(channels: number, bits: number, frames: number): number[] {
  const le = (n: number, bytes: number) => Array.from({ length: bytes }, (_, i) => Math.floor(n / 256 ** i) % 256);
  const data = (frames * channels * bits) / 8;
  return [...concat('RIFF', le(36 + data, 4), 'WAVE', 'fmt ', le(16, 4), le(1, 2), le(channels, 2), le(44100, 4), le((44100 * channels * bits) / 8, 4),
    le((channels * bits) / 8, 2), le(bits, 2), 'data', le(data, 4))];
}

function shorten(options: ShortenOptions = {}): Uint8Array {
  const { version = 2, type = 5, samples = 1000 } = options;
  const channels = 2;
  const w = new RiceWriter();
  w.put(0x616a6b67, 32);
  w.put(version, 8);
  const uint = (value: number, k: number) => {
    if (version === 0) return w.unsigned(value, k);
    const width = Math.max(0, Math.floor(Math.log2(value + 1)));
    w.unsigned(width, 2);
    w.unsigned(value, width);
  };
  uint(type, 4);
  uint(channels, 0);
  if (version > 0) [256, 0, 4, 0].forEach((value, i) => uint(value, [8, 2, 0, 1][i]!));
  const header = wavHeader(channels, type === 2 ? 8 : 16, options.declared ?? samples);
  w.unsigned(9, 2);
  w.unsigned(header.length, 5);
  header.forEach((byte) => w.unsigned(byte, 8));
  let blockSize = 256;
  for (let done = 0; done < samples; done += blockSize) {
    if (samples - done < blockSize) {
      blockSize = samples - done;
      w.unsigned(5, 2);
      uint(blockSize, 8); // version 0 codes it in log2 of the block size before it
    }
    for (let channel = 0; channel < channels; channel++) {
      w.unsigned(channel + 1, 2); // DIFF1, DIFF2: residuals of 3 bits
      w.unsigned(3 + (version === 0 ? 1 : 0), 3);
      for (let i = 0; i < blockSize; i++) w.signed((i % 7) - 3, 3);
    }
  }
  w.unsigned(4, 2);
  return w.bytes();
}

describe('Shorten (hand-encoded streams)', () => {
  it('plays every block of every channel, the last one at its own size', async () => {
    const { metadata, details } = await probeBytes(shorten());
    expect(details).toMatchObject({ reader: 'shorten' });
    expect(metadata).toMatchObject({ mime_type: 'audio/x-shorten', codec: 'shorten', sample_rate: 44100, num_channels: 2, bit_depth: 16 });
    expect(metadata.duration).toBeCloseTo(1000 / 44100, 9);
  });

  it('reads version 0 streams and 8-bit samples', async () => {
    const version0 = await probeBytes(shorten({ version: 0, samples: 700 }));
    expect(version0.details).toMatchObject({ reader: 'shorten' });
    expect(version0.metadata.duration).toBeCloseTo(700 / 44100, 9);
    expect((await probeBytes(shorten({ type: 2 }))).metadata.bit_depth).toBe(8);
  });

  it('calls a stream cut inside a block, or short of what its WAV header declares, truncated', async () => {
    const whole = shorten();
    await expect(probeBytes(whole.subarray(0, whole.byteLength - 40))).rejects.toMatchObject({ code: 'truncated' });
    await expect(probeBytes(shorten({ declared: 1200 }))).rejects.toThrow(/declares 1200 samples, the Shorten blocks in the file hold 1000/);
  });

  it('leaves to the decoder blocks beyond what the WAV header declares', async () => {
    await expect(readShorten(readerInput(shorten({ declared: 900 })))).rejects.toBeInstanceOf(DecoderNeeded);
  });

  it('refuses a sample type the decoder does not output', async () => {
    await expect(probeBytes(shorten({ type: 1 }))).rejects.toMatchObject({ code: 'corrupt_file' });
  });
});

// ---------------------------------------------------------------------------------------------
// Corpus files, when the shared corpus is there. Sample counts: ffprobe 5.1's decoded frames
// (-show_frames nb_samples summed).

const corpus = join(import.meta.dirname, '../../shared/corpus/audio');
const corpusFile = (name: string) => readFileSync(join(corpus, name));

describe.skipIf(!existsSync(corpus))('Musepack, TAK and Shorten corpus files', () => {
  it.each([
    ['mutagen__has-tags.tak', 'tak', 44100, 2, 16, 3652],
    ['mutagen__silence-44-s.tak', 'tak', 44100, 2, 16, 162496],
    ['taglib__2sec-silence.shn', 'shorten', 44100, 2, 16, 88200],
  ])('%s', async (name, codec, rate, channels, bits, samples) => {
    const { metadata, details } = await probeBytes(corpusFile(name));
    expect(details.reader).not.toBe('ffprobe');
    expect(metadata).toMatchObject({ codec, sample_rate: rate, num_channels: channels, bit_depth: bits });
    expect(metadata.duration).toBeCloseTo(samples / rate, 9);
  });

  it.each([
    ['taglib__zerodiv.mpc', 'corrupt_file'],
    ['taglib__segfault.mpc', 'corrupt_file'],
    ['taglib__segfault2.mpc', 'truncated'],
  ])('%s is refused as ffmpeg refuses it', async (name, code) => {
    await expect(probeBytes(corpusFile(name))).rejects.toMatchObject({ code });
  });
});
