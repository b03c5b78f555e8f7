import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { probeAudioBytes as probeBytes, readerInput } from './helpers/audio.js';
import { DecoderNeeded } from '../src/probes/audio/facts.js';
import { readMusepack } from '../src/probes/audio/musepack.js';

// Musepack frames walked symbol by symbol as FFmpeg 5.1's mpc7 / mpc8 decoders spend them.
// Hand-built streams use the smallest frames the codes allow (every band silent); the frame
// counts asserted are the decoders' rules applied to them, and ffprobe 5.1.9 decodes the
// same bytes to the same counts (-show_frames nb_samples summed).

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

  it('reads past leading ID3v2 tags and takes no trailing tag for frames', async () => {
    const id3v2 = [...ascii('ID3'), 3, 0, 0, 0, 0, 0, 20, ...new Array(20).fill(0)];
    const tags = [...apeTag(), ...ascii('TAG'), ...new Array(125).fill(0)];
    const { metadata, details } = await probeBytes(Uint8Array.from([...id3v2, ...sv7(silent(3)), ...tags]));
    expect(details).toMatchObject({ reader: 'musepack' });
    expect(metadata.duration).toBeCloseTo((3 * 1152) / 44100, 9);
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

/** An APEv2 tag of no items, with header and footer (flags: has header). */
function apeTag(): number[] {
  const part = (flags: number) => [...ascii('APETAGEX'), ...u32le(2000), ...u32le(32), ...u32le(0), ...u32le(flags), ...new Array(8).fill(0)];
  return [...part(0xa0000000), ...part(0x80000000)];
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

  it('stops at an APE tag after the stream end, and leaves other bytes there to the decoder', async () => {
    const stream = sv8([[0x7f], [0x7f]]);
    const tagged = await probeBytes(Uint8Array.from([...stream, ...apeTag()]));
    expect(tagged.details).toMatchObject({ reader: 'musepack' });
    expect(tagged.metadata.duration).toBeCloseTo((8 * 1152) / 44100, 9);
    // ffprobe reads on after the stream end packet when stream probing stopped at it.
    const id3v1 = Uint8Array.from([...stream, ...ascii('TAG'), ...new Array(125).fill(0)]);
    await expect(readMusepack(readerInput(id3v1))).rejects.toBeInstanceOf(DecoderNeeded);
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

  /** A copy of a corpus file with one bit flipped, or a little-endian 32-bit field rewritten. */
  function mutated(name: string, edit: { flip?: [number, number]; word?: [number, (value: number) => number] }): Uint8Array {
    const bytes = corpusFile(name);
    if (edit.flip) bytes[edit.flip[0]] ^= 1 << edit.flip[1];
    if (edit.word) {
      const view = new DataView(bytes.buffer, bytes.byteOffset);
      view.setUint32(edit.word[0], edit.word[1](view.getUint32(edit.word[0], true)) >>> 0, true);
    }
    return bytes;
  }

  // Frames decoded: ffprobe 5.1.9 on the same mutated bytes.
  it.each([
    ['a flipped bit that makes the decoder drop a frame', 'filetype__fixture-sv7.mpc', { flip: [2087, 1] }, 10],
    ['the mid/side flag flipped', 'filetype__fixture-sv7.mpc', { word: [8, (v: number) => v ^ (1 << 30)] }, 1],
    ['20 subbands instead of 31', 'filetype__fixture-sv7.mpc', { word: [8, (v: number) => (v & ~(0x3f << 24)) | (20 << 24)] }, 3],
    ['a frame count of 5', 'filetype__fixture-sv7.mpc', { word: [4, () => 5] }, 5],
    ['a 12th frame counted, read from the tag and dropped', 'filetype__fixture-sv7.mpc', { word: [4, () => 12] }, 11],
    ['a flipped bit that changes the band counts', 'filetype__fixture-sv8.mpc', { flip: [1532, 6] }, 43],
    ['a flipped bit early in the packet', 'filetype__fixture-sv8.mpc', { flip: [112, 6] }, 3],
    ['another frames per packet', 'filetype__fixture-sv8.mpc', { flip: [17, 1] }, 4],
    ['a flipped bit in a one-byte packet', 'mutagen__sv8_header.mpc', { flip: [100, 2] }, 55],
  ] as const)('%s (%s)', async (_what, name, edit, frames) => {
    const { metadata, details } = await probeBytes(mutated(name, edit));
    expect(details.reader).toBe('musepack');
    expect(metadata.duration).toBeCloseTo((frames * 1152) / metadata.sample_rate!, 9);
  });

  it('calls a frame count the frames in the file do not reach truncated', async () => {
    await expect(probeBytes(mutated('filetype__fixture-sv7.mpc', { word: [4, () => 16] }))).rejects.toMatchObject({ code: 'truncated' });
  });
});
