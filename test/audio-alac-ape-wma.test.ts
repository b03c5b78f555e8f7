import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { audioContext, measured, probeAudioFile as probe, writeTone } from './helpers/audio.js';
import { ffmpegPath } from '../scripts/fixtures-audio.mjs';
import { alacPacketSamples, parseAlacConfig, type AlacConfig } from '../src/probes/audio/alac.js';
import { DecoderNeeded } from '../src/probes/audio/facts.js';
import { readMatroska } from '../src/probes/audio/matroska.js';
import { readApe } from '../src/probes/audio/ape.js';
import { BufferSource } from '../src/sources/buffer.js';
import { FileSource } from '../src/sources/file.js';

/**
 * ALAC in Matroska, old APE files and WMA read in-process. Expected values are what ffprobe 5.1
 * (Debian) reports for the same bytes: -show_streams, and the decoded length as the sum of
 * -show_frames nb_samples.
 */

const corpus = '/work/shared/corpus/audio';



let dir: string;
const at = (name: string) => join(dir, name);

const tone = (name: string, ...spec: [rate: number, samples: number, channels: number, options: string[]]) => writeTone(at(name), ...spec);

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'audio-alac-ape-wma-'));
  tone('alac-s16.mka', 44100, 10000, 2, ['-c:a', 'alac']);
  tone('alac-s24.mka', 96000, 50000, 1, ['-c:a', 'alac', '-sample_fmt', 's32p', '-frame_size', '1024']);
  tone('alac-6ch.mka', 48000, 30001, 6, ['-c:a', 'alac']);
  tone('alac-remux.mka', 48000, 30001, 2, ['-c:a', 'alac']);
  execFileSync(ffmpegPath(), ['-v', 'error', '-y', '-nostdin', '-i', at('alac-remux.mka'), '-c', 'copy', at('alac-remux.m4a')]);
  const whole = readFileSync(at('alac-s16.mka'));
  writeFileSync(at('alac-cut.mka'), whole.subarray(0, whole.byteLength - 100));
  // The first SimpleBlock (track 1, timestamp 0, keyframe): its packet's first element made a CCE, which the decoder refuses.
  const damaged = Buffer.from(whole);
  const block = damaged.indexOf(Buffer.from([0x81, 0x00, 0x00, 0x80])) + 4;
  damaged[block] = (damaged[block]! & 0x1f) | (2 << 5);
  writeFileSync(at('alac-damaged.mka'), damaged);
}, 60_000);

describe('ALAC in Matroska', () => {
  it('counts full frames and the last frame by its explicit sample count (has_size)', async () => {
    // ffprobe: alac, 44100 Hz, 2 channels, bits_per_raw_sample 16, frames of 4096+4096+1808 samples.
    expect(await measured(at('alac-s16.mka'))).toEqual({ reader: 'matroska', codec: 'alac', sample_rate: 44100, num_channels: 2, bit_depth: 16, samples: 10000 });
  });

  it('reads 24-bit samples and a frame length set by the encoder', async () => {
    // ffprobe: alac, 96000 Hz, 1 channel, bits_per_raw_sample 24 (s32p), 13 frames, 50000 samples.
    expect(await measured(at('alac-s24.mka'))).toEqual({ reader: 'matroska', codec: 'alac', sample_rate: 96000, num_channels: 1, bit_depth: 24, samples: 50000 });
  });

  it('reads several channel elements per packet by the first one', async () => {
    // ffprobe: alac, 48000 Hz, 6 channels, bits_per_raw_sample 16, 30001 samples.
    expect(await measured(at('alac-6ch.mka'))).toEqual({ reader: 'matroska', codec: 'alac', sample_rate: 48000, num_channels: 6, bit_depth: 16, samples: 30001 });
  });

  it('leaves a packet the decoder rejects to it', async () => {
    const source = new FileSource(at('alac-damaged.mka'));
    const head = readFileSync(at('alac-damaged.mka'));
    const input = { source, head, options: {}, detection: audioContext.detection, size: () => source.size() };
    await expect(readMatroska(input)).rejects.toThrow(/ALAC packet the decoder may reject/);
    await source.close();
  });

  it('leaves a cut file to the decoder', async () => {
    const source = new FileSource(at('alac-cut.mka'));
    const head = readFileSync(at('alac-cut.mka'));
    const input = { source, head, options: {}, detection: audioContext.detection, size: () => source.size() };
    await expect(readMatroska(input)).rejects.toBeInstanceOf(DecoderNeeded);
    await source.close();
  });

  it.skipIf(!existsSync(corpus))('reads the corpus ALAC-in-Matroska file as ffprobe decodes it', async () => {
    // ffprobe -show_frames: 56 frames of 4096 samples at 41000 Hz, stereo, bits_per_raw_sample 16.
    expect(await measured(join(corpus, 'musicmeta__alac-in-matroska-short.mka'))).toEqual({
      reader: 'matroska', codec: 'alac', sample_rate: 41000, num_channels: 2, bit_depth: 16, samples: 229376,
    });
  });
});

describe('ALAC in MP4', () => {
  it('counts each packet by its frame header, not by the stts durations a remux carries over', async () => {
    // The MP4 keeps the Matroska millisecond timestamps: stts 4080, 4128, 4080, ... and 0 for the
    // last packet, which starts after the edit ends and is dropped. ffprobe -show_frames: 7 frames
    // of 4096 = 28672 samples (the stts durations add up to 28656).
    expect(await measured(at('alac-remux.m4a'))).toEqual({ reader: 'mp4', codec: 'alac', sample_rate: 48000, num_channels: 2, bit_depth: 16, samples: 28672 });
  });
});

describe('ALAC packets', () => {
  const config: AlacConfig = { frameLength: 4096, bitDepth: 16, riceHistoryMult: 40, riceInitialHistory: 10, riceLimit: 14, channels: 1, sampleRate: 44100 };

  /** Packet bytes from fields (width in bits, value), MSB first. */
  function packet(fields: [bits: number, value: number][]): Uint8Array {
    const total = fields.reduce((sum, [width]) => sum + width, 0);
    const out = new Uint8Array(Math.ceil(total / 8));
    let bit = 0;
    for (const [width, value] of fields) {
      for (let b = width - 1; b >= 0; b--, bit++) if (Math.floor(value / 2 ** b) % 2) out[bit >> 3]! |= 0x80 >> (bit & 7);
    }
    return out;
  }
  /** An element header: type, tag, unused bits, has_size, extra bits, uncompressed flag. */
  const header = (element: number, hasSize: number, uncompressed: number) => [[3, element], [4, 0], [12, 0], [1, hasSize], [2, 0], [1, uncompressed]] as [number, number][];
  const verbatim = (samples: number, channels: number) => new Array(samples * channels).fill([16, 0x1234]) as [number, number][];
  const END: [number, number] = [3, 7];

  it('decodes a verbatim frame to its explicit count, else the frame length', () => {
    expect(alacPacketSamples(packet([...header(0, 1, 1), [32, 3], ...verbatim(3, 1), END]), config)).toBe(3);
    expect(alacPacketSamples(packet([...header(0, 0, 1), ...verbatim(4096, 1), END]), config)).toBe(4096);
    const stereo = { ...config, channels: 2 };
    expect(alacPacketSamples(packet([...header(1, 1, 1), [32, 5], ...verbatim(5, 2), END]), stereo)).toBe(5);
  });

  it('refuses what the decoder refuses', () => {
    expect(alacPacketSamples(packet([...header(0, 1, 1), [32, 3], ...verbatim(3, 1)]), config)).toBeUndefined(); // no END element
    expect(alacPacketSamples(packet([...header(0, 1, 1), [32, 3], ...verbatim(2, 1)]), config)).toBeUndefined(); // samples missing
    expect(alacPacketSamples(packet([...header(2, 1, 1), [32, 3], ...verbatim(3, 1), END]), config)).toBeUndefined(); // CCE element
    expect(alacPacketSamples(packet([...header(1, 1, 1), [32, 3], ...verbatim(3, 2), END]), config)).toBeUndefined(); // a pair in a mono stream
    expect(alacPacketSamples(packet([...header(0, 1, 1), [32, 5000], END]), config)).toBeUndefined(); // above the frame length
    expect(alacPacketSamples(packet([...header(0, 1, 0), [32, 3], [16, 0], [4, 0], [4, 0], [3, 4], [5, 0], END]), config)).toBeUndefined(); // lpc_quant 0
    const stereo = { ...config, channels: 2 };
    expect(alacPacketSamples(packet([...header(0, 1, 1), [32, 3], ...verbatim(3, 1), END]), stereo)).toBeUndefined(); // one channel of two
  });

  it('parses the config as ffmpeg lays it out', () => {
    const cookie = Uint8Array.from([0, 0, 16, 0, 0, 16, 40, 10, 14, 2, 0, 255, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xac, 0x44]);
    expect(parseAlacConfig(cookie)).toEqual({ frameLength: 4096, bitDepth: 16, riceHistoryMult: 40, riceInitialHistory: 10, riceLimit: 14, channels: 2, sampleRate: 44100 });
    expect(parseAlacConfig(cookie.subarray(0, 23))).toBeUndefined();
  });
});

describe('Monkey\'s Audio before 3.98', () => {
  /**
   * A file as MAC 3.9x lays it out: the 32-byte header, the seek element count (4 bytes), a 44-byte WAV
   * header, the seek table, then frames of a CRC word (high bit: frame flags follow) and the
   * flags, as the decoder reads them (32-bit words byte-swapped).
   */
  function oldApe(version: number, frameFlags: number[], finalBlocks: number, channels = 2): Uint8Array {
    const header = Buffer.alloc(36);
    header.write('MAC ', 0, 'latin1');
    header.writeUInt16LE(version, 4);
    header.writeUInt16LE(2000, 6); // compression level: normal
    header.writeUInt16LE(0x12, 8); // flags: CRC, seek element count present
    header.writeUInt16LE(channels, 10);
    header.writeUInt32LE(44100, 12);
    header.writeUInt32LE(44, 16); // WAV header bytes
    header.writeUInt32LE(frameFlags.length, 24);
    header.writeUInt32LE(finalBlocks, 28);
    header.writeUInt32LE(frameFlags.length, 32);
    const firstFrame = 36 + 44 + 4 * frameFlags.length;
    const frameBytes = 12;
    const seek = Buffer.alloc(4 * frameFlags.length);
    frameFlags.forEach((_, i) => seek.writeUInt32LE(firstFrame + i * frameBytes, 4 * i));
    const frames = Buffer.concat(frameFlags.map((flags) => {
      const frame = Buffer.alloc(frameBytes);
      frame.writeUInt32LE(0x80001234, 0); // stored little-endian: the decoder's byte swap reads it big-endian
      frame.writeUInt32LE(flags, 4);
      return frame;
    }));
    return Buffer.concat([header, Buffer.alloc(44), seek, frames]);
  }

  async function read(bytes: Uint8Array) {
    const source = new BufferSource(bytes);
    try {
      return await readApe({ source, head: bytes, options: {}, detection: audioContext.detection, size: () => source.size() });
    } finally {
      await source.close();
    }
  }

  it('counts the frames by version when the last frame is silence the decoder fills from its flags', async () => {
    // 3.95+: 294912 blocks a frame; two frames, the last of 1000 blocks.
    const facts = await read(oldApe(3960, [3, 3], 1000));
    expect(facts).toMatchObject({ codec: 'ape', sampleRate: 44100, channels: 2, bitDepth: 16 });
    expect(Math.round(facts.duration * 44100)).toBe(294912 + 1000);
    // 3.90-3.94: 73728 blocks a frame; a mono frame with one silence bit is silent.
    expect(Math.round((await read(oldApe(3930, [3, 1], 5, 1))).duration * 44100)).toBe(73728 + 5);
  });

  it('leaves a last frame with audio in it, and versions before 3.90, to the decoder', async () => {
    await expect(read(oldApe(3960, [3, 0], 1000))).rejects.toBeInstanceOf(DecoderNeeded);
    await expect(read(oldApe(3960, [3, 1], 1000))).rejects.toBeInstanceOf(DecoderNeeded); // one silent channel of two
    await expect(read(oldApe(3890, [3], 1000))).rejects.toBeInstanceOf(DecoderNeeded);
  });

  it('calls a file whose last frame starts past its end truncated', async () => {
    const whole = oldApe(3960, [3, 3], 1000);
    await expect(read(whole.subarray(0, whole.byteLength - 12))).rejects.toMatchObject({ code: 'truncated' });
  });

  it.skipIf(!existsSync(corpus))('reads the corpus 3.96 file as ffprobe decodes it', async () => {
    // ffprobe -show_frames: 162496 samples (35 frames of 4608, one of 1216), 44100 Hz, 2 channels, bits_per_raw_sample 16.
    expect(await measured(join(corpus, 'mutagen__mac-396.ape'))).toEqual({ reader: 'ape', codec: 'ape', sample_rate: 44100, num_channels: 2, bit_depth: 16, samples: 162496 });
  });
});
