import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ffmpegPath } from '../scripts/fixtures-audio.mjs';
import { probeAudio } from '../src/probes/audio.js';
import { firstFrameSbr, lowRateAacConfig } from '../src/probes/audio/aac-sbr.js';
import { SCALEFACTOR_CODE, SPECTRAL_CODES, type HuffmanTable } from '../src/probes/audio/aac-tables.js';
import { readAdts } from '../src/probes/audio/adts.js';
import { parseAacConfig } from '../src/probes/audio/codec.js';
import { DecoderNeeded } from '../src/probes/audio/facts.js';
import type { ProbeContext } from '../src/probes/types.js';
import { FileSource } from '../src/sources/file.js';

/**
 * Implicit SBR in AAC-LC at 24 kHz or less, decided from the first raw_data_block as FFmpeg 5.1's
 * decoder decides it. Expected stream values are what ffprobe 5.1 (Debian) reports for the same
 * bytes: -show_streams, and the decoded length as the sum of -show_frames nb_samples.
 */

const context: ProbeContext = { options: {}, detection: { modality: 'audio', mime: '', format: '', warnings: [] } };
const corpus = '/work/shared/corpus/audio';

/** Bits written MSB first as a string of '0' / '1', padded with zeros to whole bytes. */
function bytesOf(bits: string): Uint8Array {
  const padded = bits + '0'.repeat(-bits.length & 7);
  return Uint8Array.from({ length: padded.length / 8 }, (_, i) => parseInt(padded.slice(8 * i, 8 * i + 8), 2));
}

const field = (value: number, width: number) => value.toString(2).padStart(width, '0');
/** An individual_channel_stream with no bands: global gain, long-window ics_info with max_sfb 0, no tools. */
const silentIcs = field(100, 8) + '0' + '00' + '0' + field(0, 6) + '0' + '000';
const SCE = '000' + '0000' + silentIcs;
const CPE = '001' + '0000' + '0' + silentIcs + silentIcs;
/** A FIL element of 2 bytes holding an SBR extension payload (type 13) with no header. */
const FIL_SBR = '110' + field(2, 4) + '1101' + '0'.repeat(12);
const END = '111';

function rawBlock(channels: 1 | 2, sbr: boolean): Uint8Array {
  return bytesOf((channels === 1 ? SCE : CPE) + (sbr ? FIL_SBR : '') + END);
}

/** ADTS: MPEG-4, no CRC, AAC-LC, one raw data block per frame. */
function adtsFrame(raw: Uint8Array, rateIndex: number, channels: number): Uint8Array {
  const length = raw.byteLength + 7;
  const header = bytesOf('1'.repeat(12) + '0' + '00' + '1' + '01' + field(rateIndex, 4) + '0' + field(channels, 3) + '0000' + field(length, 13) + '1'.repeat(11) + '00');
  return Uint8Array.from([...header, ...raw]);
}

/** The raw data blocks of an ADTS file without CRCs. */
function adtsBlocks(bytes: Uint8Array): Uint8Array[] {
  const blocks: Uint8Array[] = [];
  for (let o = 0; o + 7 <= bytes.byteLength; ) {
    const length = ((bytes[o + 3]! & 3) << 11) | (bytes[o + 4]! << 3) | (bytes[o + 5]! >> 5);
    blocks.push(bytes.subarray(o + 7, o + length));
    o += length;
  }
  return blocks;
}

async function measured(path: string) {
  const source = new FileSource(path);
  try {
    const { metadata, details } = await probeAudio(source, context);
    const { sample_rate, num_channels, duration } = metadata;
    return { reader: details?.reader, sample_rate, num_channels, samples: Math.round(duration! * sample_rate!) };
  } finally {
    await source.close();
  }
}

describe('Huffman tables', () => {
  // FFmpeg's VLC builder rejects incomplete or ambiguous codes; each table must be a complete prefix code.
  it.each([['scalefactor', SCALEFACTOR_CODE] as const, ...SPECTRAL_CODES.map((table, i) => [`codebook ${i + 1}`, table] as const)])('%s is complete and prefix-free', (_, table: HuffmanTable) => {
    const [codes, lengths] = table;
    expect(codes).toHaveLength(lengths.length);
    expect(lengths.reduce((sum, length) => sum + 2 ** -length, 0)).toBeCloseTo(1, 12);
    const words = codes.map((code, i) => code.toString(2).padStart(lengths[i]!, '0')).sort();
    for (let i = 1; i < words.length; i++) expect(words[i]!.startsWith(words[i - 1]!)).toBe(false);
  });
  it('has the sizes of ff_aac_spectral_sizes', () => {
    expect(SPECTRAL_CODES.map(([codes]) => codes.length)).toEqual([81, 81, 81, 81, 81, 81, 64, 64, 169, 169, 289]);
    expect(SCALEFACTOR_CODE[0]).toHaveLength(121);
  });
});

describe('first raw_data_block', () => {
  it('finds an SBR payload after the channel element, mono or stereo', () => {
    expect(firstFrameSbr(rawBlock(1, true), { samplingIndex: 7, channelConfig: 1 })).toEqual({ sbr: true });
    expect(firstFrameSbr(rawBlock(2, true), { samplingIndex: 11, channelConfig: 2 })).toEqual({ sbr: true });
    expect(firstFrameSbr(rawBlock(2, false), { samplingIndex: 7, channelConfig: 2 })).toEqual({ sbr: false });
  });

  it('is unsure where the decoder would fail the frame or treat it otherwise', () => {
    const core = { samplingIndex: 7, channelConfig: 1 } as const;
    expect(firstFrameSbr(bytesOf(FIL_SBR + SCE + END), core)).toHaveProperty('unsure'); // SBR before the channel element
    expect(firstFrameSbr(rawBlock(2, true), core)).toHaveProperty('unsure'); // a CPE in a mono configuration
    expect(firstFrameSbr(rawBlock(1, true).subarray(0, 4), core)).toHaveProperty('unsure'); // cut before END
    expect(firstFrameSbr(Uint8Array.from([...rawBlock(1, false), 0x21]), core)).toHaveProperty('unsure'); // bytes after END
    expect(firstFrameSbr(bytesOf(SCE + SCE + END), core)).toHaveProperty('unsure'); // a second channel element
    expect(firstFrameSbr(bytesOf('000' + '0000' + field(100, 8) + '1' + '0'.repeat(20) + END), core)).toHaveProperty('unsure'); // reserved bit
  });
});

describe('AudioSpecificConfig at 24 kHz or less', () => {
  it('leaves plain AAC-LC to the first frame', () => {
    expect(parseAacConfig(Uint8Array.of(0x13, 0x90))).toMatchObject({ sbr: { sampleRate: 22050, channelConfig: 2, sbr: 'implicit', sbrChannels: 2 } });
    expect(parseAacConfig(Uint8Array.of(0x15, 0x88))).toMatchObject({ sbr: { sampleRate: 8000, channelConfig: 1, sbr: 'implicit', sbrChannels: 2 } });
  });

  it('follows a sync extension that turns SBR off or on', () => {
    // musicmeta__pr-544.m4a: LC 8 kHz stereo, sync extension with SBR off.
    expect(parseAacConfig(Uint8Array.of(0x15, 0x90, 0x56, 0xe5, 0x00))).toMatchObject({ sbr: { sampleRate: 8000, channelConfig: 2, sbr: 'off' } });
    // taglib__zero-length-mdat.m4a: LC 22.05 kHz mono, SBR on at 44.1 kHz, PS off.
    expect(parseAacConfig(Uint8Array.of(0x13, 0x88, 0x56, 0xe5, 0xa5, 0x48, 0x00))).toMatchObject({ sbr: { sbr: 'explicit', sbrChannels: 1 } });
  });

  // Object type 5 / 29, core rate, channels, extension rate, core object type (ISO 14496-3 1.6.2.1).
  const hierarchical = (type: number, rate: number, channels: number, ext: number, core: number) =>
    bytesOf(field(type, 5) + field(rate, 4) + field(channels, 4) + field(ext, 4) + field(core, 5) + '000');

  it('reads object types 5 and 29 as SBR on from the first frame (ffprobe 5.1 on such patched files: 2x rate, 2 channels)', () => {
    expect(parseAacConfig(hierarchical(5, 7, 1, 4, 2))).toMatchObject({ sbr: { sbr: 'explicit', sampleRate: 22050, channelConfig: 1, sbrChannels: 2 } });
    expect(parseAacConfig(hierarchical(29, 3, 2, 0, 2))).toMatchObject({ sbr: { sbr: 'explicit', sampleRate: 48000, channelConfig: 2, sbrChannels: 2 } });
    expect(parseAacConfig(hierarchical(5, 7, 2, 7, 2))).not.toHaveProperty('sbr'); // extension rate = core rate
    expect(parseAacConfig(hierarchical(5, 7, 2, 4, 1))).not.toHaveProperty('sbr'); // AAC Main core
  });

  it('leaves other object types and layouts to the decoder', () => {
    expect(lowRateAacConfig(Uint8Array.of(0x0b, 0x90), 1, 7, 2, 22050)).not.toHaveProperty('sbr'); // AAC Main
    expect(lowRateAacConfig(Uint8Array.of(0x13, 0xb0), 2, 7, 6, 22050)).not.toHaveProperty('sbr'); // 5.1
    expect(parseAacConfig(Uint8Array.of(0x13, 0x94))).not.toHaveProperty('sbr'); // 960-sample frames
  });
});

describe('streams written by ffmpeg', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'aac-sbr-'));
  });

  it('parses every frame of the native (LC) encoder to its END element without SBR', () => {
    for (const [rate, index] of [[8000, 11], [11025, 10], [16000, 8], [22050, 7], [24000, 6]] as const) {
      for (const channels of [1, 2] as const) {
        const path = join(dir, `lc-${rate}-${channels}.aac`);
        execFileSync(ffmpegPath(), ['-v', 'error', '-y', '-f', 'lavfi', '-i', `anoisesrc=r=${rate}:d=1.5:a=0.4`, '-ac', String(channels), '-c:a', 'aac', '-f', 'adts', path]);
        const blocks = adtsBlocks(readFileSync(path));
        expect(blocks.length).toBeGreaterThan(10);
        for (const block of blocks) expect(firstFrameSbr(block, { samplingIndex: index, channelConfig: channels })).toEqual({ sbr: false });
      }
    }
  });

  // ffprobe 5.1 on the same bytes (ADTS from these frames, remuxed with -c copy): 44100 Hz, 2 channels
  // (a mono core gets parametric stereo), 10 frames of 2048 samples.
  it('reads an M4A whose first frame carries SBR as HE-AAC', async () => {
    const adts = join(dir, 'sbr-mono.aac');
    const m4a = join(dir, 'sbr-mono.m4a');
    writeFileSync(adts, Buffer.concat(Array.from({ length: 10 }, () => adtsFrame(rawBlock(1, true), 7, 1))));
    execFileSync(ffmpegPath(), ['-v', 'error', '-y', '-i', adts, '-c', 'copy', m4a]);
    expect(await measured(m4a)).toEqual({ reader: 'mp4', sample_rate: 44100, num_channels: 2, samples: 20480 });
  });

  // ffprobe 5.1 on the same bytes: 44100 Hz, 2 channels, 10 frames of 2048.
  it('reads a fragmented M4A whose first frame carries SBR as HE-AAC', async () => {
    const adts = join(dir, 'sbr-frag.aac');
    const m4a = join(dir, 'sbr-frag.m4a');
    writeFileSync(adts, Buffer.concat(Array.from({ length: 10 }, () => adtsFrame(rawBlock(1, true), 7, 1))));
    execFileSync(ffmpegPath(), ['-v', 'error', '-y', '-i', adts, '-c', 'copy', '-bsf:a', 'aac_adtstoasc', '-movflags', 'frag_keyframe', '-frag_duration', '100000', m4a]);
    expect(await measured(m4a)).toEqual({ reader: 'mp4', sample_rate: 44100, num_channels: 2, samples: 20480 });
  });

  // ffprobe 5.1 on the same bytes (ADTS remuxed to Matroska with -c copy; the track states the 22050 Hz mono core):
  // 44100 Hz, 2 channels, 10 frames of 2048; for a stereo core at 16000 Hz: 32000 Hz, 2 channels, 10 of 2048.
  it('reads a Matroska track whose first frame carries SBR as HE-AAC', async () => {
    for (const [channels, index, rate] of [[1, 7, 44100], [2, 8, 32000]] as const) {
      const adts = join(dir, `sbr-${channels}.aac`);
      const mka = join(dir, `sbr-${channels}.mka`);
      writeFileSync(adts, Buffer.concat(Array.from({ length: 10 }, () => adtsFrame(rawBlock(channels, true), index, channels))));
      execFileSync(ffmpegPath(), ['-v', 'error', '-y', '-i', adts, '-c', 'copy', mka]);
      expect(await measured(mka)).toEqual({ reader: 'matroska', sample_rate: rate, num_channels: 2, samples: 20480 });
    }
  });

  // ffprobe 5.1: 22050 Hz, 1 channel, 10 frames of 1024 (the first frame locks the configuration, as in MP4).
  it('ignores SBR that first appears after the first frame of a Matroska track', async () => {
    const adts = join(dir, 'late-sbr-mka.aac');
    const mka = join(dir, 'late-sbr.mka');
    writeFileSync(adts, Buffer.concat(Array.from({ length: 10 }, (_, i) => adtsFrame(rawBlock(1, i >= 3), 7, 1))));
    execFileSync(ffmpegPath(), ['-v', 'error', '-y', '-i', adts, '-c', 'copy', mka]);
    expect(await measured(mka)).toEqual({ reader: 'matroska', sample_rate: 22050, num_channels: 1, samples: 10240 });
  });

  // ffprobe 5.1: 22050 Hz, 1 channel, 10 frames of 1024 ("Implicit SBR was found with a first occurrence after the first frame").
  it('ignores SBR that first appears after the first frame of an M4A', async () => {
    const adts = join(dir, 'late-sbr.aac');
    const m4a = join(dir, 'late-sbr.m4a');
    writeFileSync(adts, Buffer.concat(Array.from({ length: 10 }, (_, i) => adtsFrame(rawBlock(1, i >= 3), 7, 1))));
    execFileSync(ffmpegPath(), ['-v', 'error', '-y', '-i', adts, '-c', 'copy', m4a]);
    expect(await measured(m4a)).toEqual({ reader: 'mp4', sample_rate: 22050, num_channels: 1, samples: 10240 });
  });
});

/** readAdts over bytes in a file, as the audio probe hands them over. */
async function readAdtsFile(path: string) {
  const source = new FileSource(path);
  try {
    const head = readFileSync(path).subarray(0, 4096);
    return await readAdts({ source, head, size: () => source.size(), options: {}, detection: context.detection });
  } finally {
    await source.close();
  }
}

describe('ADTS at 24 kHz or less', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'aac-sbr-adts-'));
  });
  const write = (name: string, sbrFrom: number, frames: number) => {
    const path = join(dir, name);
    writeFileSync(path, Buffer.concat(Array.from({ length: frames }, (_, i) => adtsFrame(rawBlock(1, i >= sbrFrom), 7, 1))));
    return path;
  };

  // ffprobe 5.1: 44100 Hz, 2 channels, 10 frames of 2048.
  it('reads SBR in the first frame as HE-AAC for the whole stream', async () => {
    expect(await readAdtsFile(write('sbr.aac', 0, 10))).toMatchObject({ sampleRate: 44100, channels: 2, duration: 20480 / 44100 });
  });

  it('reads a stream without SBR in any frame at its core rate', async () => {
    expect(await readAdtsFile(write('lc.aac', 99, 10))).toMatchObject({ sampleRate: 22050, channels: 1, duration: 10240 / 22050 });
  });

  // ffprobe 5.1 switches there: 3 frames of 1024 then 7 of 2048 (ADTS headers reopen the configuration).
  it('leaves SBR that first appears in a later frame to the decoder', async () => {
    await expect(readAdtsFile(write('late.aac', 3, 10))).rejects.toBeInstanceOf(DecoderNeeded);
  });

  it('leaves streams of fewer than three frames to ffmpeg, whose probe may not take them for ADTS', async () => {
    await expect(readAdtsFile(write('short.aac', 0, 2))).rejects.toBeInstanceOf(DecoderNeeded);
  });
});

describe.skipIf(!existsSync(corpus))('corpus', () => {
  // ffprobe 5.1: aac LC 8000 Hz, 2 channels, 2 frames of 1024.
  it('musicmeta__pr-544.m4a: SBR switched off by its sync extension', async () => {
    expect(await measured(join(corpus, 'musicmeta__pr-544.m4a'))).toEqual({ reader: 'mp4', sample_rate: 8000, num_channels: 2, samples: 2048 });
  });

  // ffprobe 5.1: aac HE-AAC 44100 Hz, 1 channel, 24 frames of 2048.
  it('taglib__zero-length-mdat.m4a: SBR on, parametric stereo off', async () => {
    expect(await measured(join(corpus, 'taglib__zero-length-mdat.m4a'))).toEqual({ reader: 'mp4', sample_rate: 44100, num_channels: 1, samples: 49152 });
  });

  // The same stream, and the stereo HE-AAC of a corpus MPEG-TS, remuxed into Matroska with -c copy. ffprobe 5.1 on
  // the remuxes: 44100 Hz, 1 channel, 24 frames of 2048; 44100 Hz, 2 channels, 57 frames of 2048.
  it('HE-AAC remuxed into Matroska: SBR from the config, or implicit in the first frame', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'aac-sbr-mka-'));
    const cases = [
      [join(corpus, 'taglib__zero-length-mdat.m4a'), { reader: 'matroska', sample_rate: 44100, num_channels: 1, samples: 49152 }],
      [join(corpus, '../video/mediabunny__no-initial-keyframe.ts'), { reader: 'matroska', sample_rate: 44100, num_channels: 2, samples: 116736 }],
    ] as const;
    for (const [i, [source, expected]] of cases.filter(([source]) => existsSync(source)).entries()) {
      const mka = join(dir, `${i}.mka`);
      execFileSync(ffmpegPath(), ['-v', 'quiet', '-y', '-i', source, '-map', '0:a', '-c', 'copy', mka]);
      expect(await measured(mka)).toEqual(expected);
    }
  });
});
