import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { probeAudio } from '../src/probes/audio.js';
import type { ProbeContext } from '../src/probes/types.js';
import { BufferSource } from '../src/sources/buffer.js';

// Musepack frames walked symbol by symbol as FFmpeg 5.1's mpc7 / mpc8 decoders spend them.
// Hand-built streams use the smallest frames the codes allow (every band silent); the frame
// counts asserted are the decoders' rules applied to them, and ffprobe 5.1.9 decodes the
// same bytes to the same counts (-show_frames nb_samples summed).

const context: ProbeContext = { options: {}, detection: { modality: 'audio', mime: '', format: '', warnings: [] } };

async function probeBytes(bytes: Uint8Array) {
  const source = new BufferSource(bytes);
  try {
    return await probeAudio(source, context);
  } finally {
    await source.close();
  }
}

const ascii = (text: string) => [...text].map((c) => c.charCodeAt(0));
const u32le = (n: number) => [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24];
const bitsOf = (value: number, count: number) => Array.from({ length: count }, (_, i) => (value >> (count - 1 - i)) & 1);
const bitString = (text: string) => [...text].map(Number);

// ---------------------------------------------------------------------------------------------
// SV7: frames of a 20-bit length and that many bits, big-endian bits of little-endian words.

/** Band 0: two 4-bit resolutions of 0; each further band: the 1-bit code of "no change" per channel. */
const silentSv7Frame = (maxBand: number) => [0, 0, 0, 0, 0, 0, 0, 0, ...new Array(2 * maxBand).fill(1)];

interface Sv7Frame {
  bits: number[];
  /** The length field, when it is not the frame's own. */
  declared?: number;
}

function sv7(frames: Sv7Frame[], { maxBand = 0, count = frames.length } = {}): Uint8Array {
  const bits: number[] = new Array(8).fill(0);
  for (const frame of frames) bits.push(...bitsOf(frame.declared ?? frame.bits.length, 20), ...frame.bits);
  while (bits.length % 32) bits.push(0);
  const stream: number[] = [];
  for (let w = 0; w < bits.length; w += 32) stream.push(...u32le(bits.slice(w, w + 32).reduce((word, bit) => word * 2 + bit, 0)));
  // Stream info (big-endian bits of a little-endian word): intensity stereo, mid/side, max band.
  const streamInfo = [0, 0, 0, maxBand, ...new Array(12).fill(0)];
  return Uint8Array.from([...ascii('MP+'), 0x17, ...u32le(count), ...streamInfo, ...stream]);
}

const silent = (n: number, maxBand = 0): Sv7Frame[] => Array.from({ length: n }, () => ({ bits: silentSv7Frame(maxBand) }));

describe('Musepack SV7 frames', () => {
  it('plays 1152 samples for every frame the decoder takes', async () => {
    const { metadata, details } = await probeBytes(sv7(silent(5, 3), { maxBand: 3 }));
    expect(details).toMatchObject({ reader: 'musepack' });
    expect(metadata).toMatchObject({ mime_type: 'audio/x-musepack', codec: 'musepack7', sample_rate: 44100, num_channels: 2, bit_depth: 16 });
    expect(metadata.duration).toBeCloseTo((5 * 1152) / 44100, 9);
  });

  it('keeps a frame whose spare bits end in its last word and drops one whose bits run a word past', async () => {
    // The first frame's bits start 28 bits into its packet: 8 decoded + 20 spare end in the
    // second word, where 8 decoded bits end too. The third frame's 100 bits hold 8 decoded ones.
    const frames = silent(4);
    frames[0] = { bits: [...silentSv7Frame(0), ...new Array(20).fill(0)] };
    expect((await probeBytes(sv7(frames))).metadata.duration).toBeCloseTo((4 * 1152) / 44100, 9);
    frames[2] = { bits: [...silentSv7Frame(0), ...new Array(92).fill(0)] };
    expect((await probeBytes(sv7(frames))).metadata.duration).toBeCloseTo((3 * 1152) / 44100, 9);
  });

  it('drops a frame whose subband resolution leaves -1..17', async () => {
    // Band 0 at 15, band 1 three steps up (the 9-bit code 0xbb): 18.
    const bad = { bits: [...bitString('11110000'), ...bitsOf(0xbb, 9), 1] };
    const { metadata } = await probeBytes(sv7([...silent(2, 1), bad, ...silent(1, 1)], { maxBand: 1 }));
    expect(metadata.duration).toBeCloseTo((3 * 1152) / 44100, 9);
  });

  it('calls a stream the decoder plays nothing of truncated', async () => {
    const frames = Array.from({ length: 3 }, () => ({ bits: [...silentSv7Frame(0), ...new Array(40).fill(0)] }));
    await expect(probeBytes(sv7(frames))).rejects.toMatchObject({ code: 'truncated', message: expect.stringMatching(/no audio/) });
  });

  it('calls a stream cut inside a frame truncated', async () => {
    const whole = sv7(silent(40));
    await expect(probeBytes(whole.subarray(0, whole.byteLength - 8))).rejects.toMatchObject({ code: 'truncated' });
  });
});

// ---------------------------------------------------------------------------------------------
// SV8: packets (2-letter key, variable-length size) and frames of the mpc8 decoder.

function sv8(packets: number[][], { framesExponent = 1, samples = 1152 } = {}): Uint8Array {
  const varlen = (n: number) => (n < 128 ? [n] : [0x80 | (n >> 7), n & 0x7f]);
  // CRC, version 8, sample count, beginning silence, then 44.1 kHz with 1 band; stereo, no mid/side.
  const header = [1, 2, 3, 4, 8, ...varlen(samples), 0, 0x00, 0x10 | framesExponent];
  const packet = (key: string, body: number[]) => [...ascii(key), body.length + 3, ...body];
  return Uint8Array.from([...ascii('MPCK'), ...packet('SH', header), ...packets.flatMap((body) => packet('AP', body)), ...ascii('SE'), 3]);
}

describe('Musepack SV8 frames', () => {
  // 0x7f: a keyframe of no bands (the 1-bit band count 0), then frames of no band change ('1').
  it('draws the stream frames per packet from each packet', async () => {
    const { metadata, details } = await probeBytes(sv8([[0x7f], [0x7f], [0x7f]]));
    expect(details).toMatchObject({ reader: 'musepack' });
    expect(metadata).toMatchObject({ codec: 'musepack8', sample_rate: 44100, num_channels: 2, bit_depth: 16 });
    expect(metadata.duration).toBeCloseTo((12 * 1152) / 44100, 9);
  });

  it('carries the frame count past a packet the decoder used up, so the next one is no keyframe', async () => {
    // 16 frames per packet: the first packet's 8 bits hold 8 frames; the next packets start
    // mid-cycle with a band count step ('01': +32) the stream's one band refuses.
    const { metadata } = await probeBytes(sv8([[0x7f], [0x7f], [0x7f]], { framesExponent: 2 }));
    expect(metadata.duration).toBeCloseTo((8 * 1152) / 44100, 9);
  });
});

// ---------------------------------------------------------------------------------------------
// Corpus files and mutated copies of them, when the shared corpus is there. Sample counts:
// ffprobe 5.1.9's decoded frames (-show_frames nb_samples summed).

const corpus = join(import.meta.dirname, '../../shared/corpus/audio');
const corpusFile = (name: string) => new Uint8Array(readFileSync(join(corpus, name)));

describe.skipIf(!existsSync(corpus))('Musepack corpus files', () => {
  it.each([
    ['filetype__fixture-sv7.mpc', 'musepack7', 44100, 12672],
    ['musicmeta__apev2.sv7.mpc', 'musepack7', 44100, 12672],
    ['mutagen__click.mpc', 'musepack7', 44100, 3456],
    ['filetype__fixture-sv8.mpc', 'musepack8', 48000, 25344],
    ['mutagen__sv8_header.mpc', 'musepack8', 44100, 66816],
  ])('%s', async (name, codec, rate, samples) => {
    const { metadata, details } = await probeBytes(corpusFile(name));
    expect(details.reader).toBe('musepack');
    expect(metadata).toMatchObject({ codec, sample_rate: rate, num_channels: 2, bit_depth: 16 });
    expect(metadata.duration).toBeCloseTo(samples / rate, 9);
  });
});
