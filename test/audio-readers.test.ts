import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { measured, probeAudioFile as probe, writeTone } from './helpers/audio.js';
import { parseMpegHeader } from '../src/probes/audio/mpeg.js';
import { probeAudio } from '../src/probes/index.js';

/**
 * The in-process readers on the cases that used to go to ffprobe: 24-bit PCM in 4-byte slots,
 * odd WAV block aligns, IMA ADPCM and MP3 in WAV, MP3 frames after junk. Expected sample counts
 * are what ffprobe 5.1 (Debian) decodes from the same bytes (`-show_frames`, nb_samples summed).
 */




let dir: string;
const at = (name: string) => join(dir, name);

const tone = (name: string, ...spec: [rate: number, samples: number, channels: number, options: string[]]) => writeTone(at(name), ...spec);

/** Rewrites little-endian 16-bit fields of a file into a new one. */
function patched(from: string, to: string, fields: [offset: number, value: number][]): void {
  const bytes = readFileSync(at(from));
  for (const [offset, value] of fields) bytes.writeUInt16LE(value, offset);
  writeFileSync(at(to), bytes);
}

/** Byte offset of the MPEG frame `count` frames after `offset`. */
function afterFrames(bytes: Buffer, offset: number, count: number): number {
  for (let i = 0; i < count; i++) offset += parseMpegHeader(bytes.readUInt32BE(offset))!.frameSize;
  return offset;
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'audio-readers-'));
  // This ffmpeg writes 24- and 32-bit PCM as WAVE_FORMAT_EXTENSIBLE: fmt at 20, wValidBitsPerSample at 38.
  tone('s32.wav', 48000, 12000, 2, ['-c:a', 'pcm_s32le']);
  patched('s32.wav', 's24-in-32.wav', [[38, 24]]);
  tone('s24.wav', 44100, 22050, 2, ['-c:a', 'pcm_s24le']);
  tone('s16-long.wav', 44100, 88200, 2, ['-c:a', 'pcm_s16le']);
  patched('s24.wav', 's24-block-align-0.wav', [[32, 0]]);
  tone('ima.wav', 44100, 10000, 2, ['-c:a', 'adpcm_ima_wav']);
  tone('ima-mono.wav', 22050, 10000, 1, ['-c:a', 'adpcm_ima_wav']);
  tone('mp3.wav', 44100, 22050, 2, ['-c:a', 'libmp3lame', '-b:a', '128k', '-f', 'wav']);
  tone('cbr.mp3', 44100, 44100, 2, ['-c:a', 'libmp3lame', '-b:a', '128k', '-write_xing', '0']);
  tone('cbr-48k.mp3', 48000, 4800, 2, ['-c:a', 'libmp3lame', '-b:a', '128k', '-write_xing', '0', '-id3v2_version', '0']);
  tone('tone-44k.aac', 44100, 44100, 1, ['-c:a', 'aac', '-f', 'adts']);
  tone('tone-48k.aac', 48000, 24000, 1, ['-c:a', 'aac', '-f', 'adts']);
  tone('tone-44k.ac3', 44100, 44100, 2, ['-c:a', 'ac3']);
  tone('mono.opus', 48000, 48000, 1, ['-c:a', 'libopus']);
  tone('tone.wv', 44100, 22050, 2, ['-c:a', 'wavpack']);
  tone('stereo.opus', 48000, 48000, 2, ['-c:a', 'libopus']);
  tone('tone-48k.ac3', 48000, 24000, 2, ['-c:a', 'ac3']);
  tone('aac.mka', 48000, 48000, 2, ['-c:a', 'aac', '-b:a', '128k']);
  tone('mp3.mka', 44100, 22050, 2, ['-c:a', 'libmp3lame', '-b:a', '128k']);
  tone('aac-22k.mka', 22050, 22050, 1, ['-c:a', 'aac', '-b:a', '64k']);
  const mp3 = readFileSync(at('cbr.mp3'));
  const id3v2End = 10 + ((mp3[6]! << 21) | (mp3[7]! << 14) | (mp3[8]! << 7) | mp3[9]!);
  const tenth = afterFrames(mp3, id3v2End, 10);
  writeFileSync(at('junk.mp3'), Buffer.concat([mp3.subarray(0, tenth), Buffer.alloc(100, 0x55), mp3.subarray(tenth)]));
  writeFileSync(at('zeros.mp3'), Buffer.concat([mp3.subarray(0, tenth), Buffer.alloc(100, 0), mp3.subarray(tenth)]));
}, 60_000);

describe('WAV', () => {
  it('reads 24-bit samples in 4-byte slots as ffmpeg does: pcm_f24le, 4-byte samples, 32 bits', async () => {
    expect(await measured(at('s24-in-32.wav'))).toEqual({ reader: 'wav', codec: 'pcm', sample_rate: 48000, num_channels: 2, bit_depth: 32, samples: 12000 });
  });

  it('drops the partial sample frame at the end of each 4096-byte packet when block align is 0', async () => {
    // 6-byte frames: 682 per packet, 4 bytes of each packet lost; ffprobe decodes 22028 samples.
    expect(await measured(at('s24-block-align-0.wav'))).toEqual({ reader: 'wav', codec: 'pcm', sample_rate: 44100, num_channels: 2, bit_depth: 24, samples: 22028 });
  });

  it('measures 4-bit IMA ADPCM by its blocks', async () => {
    expect(await measured(at('ima.wav'))).toEqual({ reader: 'wav', codec: 'adpcm_ima_wav', sample_rate: 44100, num_channels: 2, bit_depth: 4, samples: 10170 });
    expect(await measured(at('ima-mono.wav'))).toEqual({ reader: 'wav', codec: 'adpcm_ima_wav', sample_rate: 22050, num_channels: 1, bit_depth: 4, samples: 10205 });
  });

  it('measures MP3 in WAV frame by frame, the Info frame included (no demuxer trims it)', async () => {
    expect(await measured(at('mp3.wav'))).toEqual({ reader: 'wav', codec: 'mp3', sample_rate: 44100, num_channels: 2, bit_depth: 32, samples: 21 * 1152 });
  });

  it('leaves IMA ADPCM whose block header the decoder rejects to ffmpeg', async () => {
    const bytes = readFileSync(at('ima.wav'));
    const data = bytes.indexOf('data') + 8;
    bytes[data + 2 * 2048 + 2] = 89; // step index of the third block (block align 2048)
    writeFileSync(at('ima-bad-step.wav'), bytes);
    expect((await probe(at('ima-bad-step.wav'))).details?.reader).toBe('ffprobe');
  });

  it('leaves 16-bit PCM holding a DTS or S/PDIF sync word in the first 128 KiB to the decoder, and only then', async () => {
    const bytes = readFileSync(at('s16-long.wav'));
    const data = bytes.indexOf('data') + 8;
    const planted = (name: string, at: number, word: number) => {
      const copy = Buffer.from(bytes);
      copy.writeUInt32BE(word, data + at);
      writeFileSync(join(dir, name), copy);
      return join(dir, name);
    };
    const dts = await probe(planted('dts-word.wav', 70_001, 0x7ffe8001));
    expect(dts.details).toEqual({ reader: 'ffprobe', fallback: `WAV PCM data with a compressed-audio sync word at byte ${data + 70_001}` });
    const spdif = await probe(planted('spdif-word.wav', 3, 0x72f81f4e));
    expect(spdif.details?.fallback).toBe(`WAV PCM data with a compressed-audio sync word at byte ${data + 3}`);
    expect((await probe(planted('late-word.wav', 32 * 4096, 0x7ffe8001))).details).toEqual({ reader: 'wav' });
  });
});

describe('MPEG audio after junk', () => {
  it('drops the frame that follows junk, as the parser glues them into one packet the decoder rejects', async () => {
    expect(await measured(at('cbr.mp3'))).toMatchObject({ reader: 'mpeg', samples: 40 * 1152 });
    expect(await measured(at('junk.mp3'))).toMatchObject({ reader: 'mpeg', samples: 39 * 1152 });
  });

  it('keeps the frame after zero bytes, which the decoder skips', async () => {
    expect(await measured(at('zeros.mp3'))).toMatchObject({ reader: 'mpeg', samples: 40 * 1152 });
  });
});

describe('streams joined from files of different sample rates', () => {
  // ffprobe names the first rate, the decoder fallback counted every sample at the last one, and
  // ffmpeg -f null plays each part at its own rate: no pair of SPEC values describes the stream.
  const joined = (name: string, first: string, second: string) => {
    const head = readFileSync(at(first));
    writeFileSync(at(name), Buffer.concat([head, readFileSync(at(second))]));
    return head.byteLength;
  };

  it('refuses MPEG audio (ffmpeg plays this 44100 + 48000 Hz join in 1.19 s; the decoder fallback said 1.10 s)', async () => {
    const at44k = joined('joined-rates.mp3', 'cbr.mp3', 'cbr-48k.mp3');
    await expect(probe(at('joined-rates.mp3'))).rejects.toMatchObject({
      code: 'corrupt_file',
      message: `the MPEG audio sample rate changes at byte ${at44k} (44100 Hz to 48000 Hz)`,
    });
  });

  it('leaves a lone MPEG frame of another rate between frames of the first to the decoder', async () => {
    const mp3 = readFileSync(at('cbr.mp3'));
    const stray = readFileSync(at('cbr-48k.mp3'));
    const strayFrame = stray.subarray(0, parseMpegHeader(stray.readUInt32BE(0))!.frameSize);
    const tenth = afterFrames(mp3, 10 + ((mp3[6]! << 21) | (mp3[7]! << 14) | (mp3[8]! << 7) | mp3[9]!), 10);
    writeFileSync(at('stray-rate.mp3'), Buffer.concat([mp3.subarray(0, tenth), strayFrame, mp3.subarray(tenth)]));
    expect((await probe(at('stray-rate.mp3'))).details).toEqual({ reader: 'ffprobe', fallback: `MPEG frame of another layout at byte ${tenth}` });
  });

  it('refuses ADTS, whose frame walk used to stop at the first frame of the second part', async () => {
    const at44k = joined('joined-rates.aac', 'tone-44k.aac', 'tone-48k.aac');
    await expect(probe(at('joined-rates.aac'))).rejects.toMatchObject({
      code: 'corrupt_file',
      message: `the ADTS sample rate changes at byte ${at44k} (44100 Hz to 48000 Hz)`,
    });
  });

  it('refuses AC-3', async () => {
    const at44k = joined('joined-rates.ac3', 'tone-44k.ac3', 'tone-48k.ac3');
    await expect(probe(at('joined-rates.ac3'))).rejects.toMatchObject({
      code: 'corrupt_file',
      message: `the AC-3 sample rate changes at byte ${at44k} (44100 Hz to 48000 Hz)`,
    });
  });
});

describe('signatures behind ID3v2 tags', () => {
  const id3v2 = (size: number) => Buffer.concat([Buffer.from([0x49, 0x44, 0x33, 3, 0, 0, (size >> 21) & 0x7f, (size >> 14) & 0x7f, (size >> 7) & 0x7f, size & 0x7f]), Buffer.alloc(size)]);

  it('reads WavPack behind one ID3v2 tag, and leaves it behind two (or one past the probe buffer) to ffprobe, whose probe skips only one that fits', async () => {
    const wv = readFileSync(at('tone.wv'));
    writeFileSync(at('one-tag.wv'), Buffer.concat([id3v2(100), wv]));
    expect(await measured(at('one-tag.wv'))).toMatchObject({ reader: 'wavpack', samples: 22050 });
    // Debian ffprobe 5.1.9: "Invalid data found when processing input" behind two tags; mp3 with 0 channels behind a 1.1 MB one.
    for (const [name, tags] of [['two-tags.wv', [id3v2(100), id3v2(100)]], ['big-tag.wv', [id3v2(1_100_000)]]] as const) {
      writeFileSync(at(name), Buffer.concat([...tags, wv]));
      await expect(probeAudio(at(name), { ffprobePath: '/nonexistent/ffprobe' })).rejects.toMatchObject({ code: 'tool_missing' });
    }
  });
});

describe('the decoder fallback', () => {
  it('names the channel count every decoded frame has, not the one the last chained Ogg link declares', async () => {
    // ffprobe -show_streams says 1 channel; after -show_frames its stream fields show the second link's 2.
    writeFileSync(at('chained.opus'), Buffer.concat([readFileSync(at('mono.opus')), readFileSync(at('stereo.opus'))]));
    expect(await measured(at('chained.opus'))).toEqual({ reader: 'ffprobe', codec: 'opus', sample_rate: 48000, num_channels: 1, bit_depth: 32, samples: 2 * 48000 });
  });
});

describe('Matroska MP3', () => {
  it('counts the frames the parser cuts, less the last block\'s DiscardPadding (the LAME padding)', async () => {
    // 21 frames of 1152 (the Info frame among them), 1037 samples of padding: ffprobe decodes 23155.
    expect(await measured(at('mp3.mka'))).toEqual({ reader: 'matroska', codec: 'mp3', sample_rate: 44100, num_channels: 2, bit_depth: 32, samples: 23155 });
  });
});

describe('Matroska AAC', () => {
  it('counts 1024 samples a frame, no priming trimmed (48 frames for 48000 input samples)', async () => {
    expect(await measured(at('aac.mka'))).toEqual({ reader: 'matroska', codec: 'aac', sample_rate: 48000, num_channels: 2, bit_depth: 32, samples: 48 * 1024 });
  });

  // ffprobe 5.1: 22050 Hz, 1 channel, 23 frames of 1024 (the native encoder writes no SBR, so the first frame keeps it off).
  it('reads AAC-LC at 24 kHz or less at its core rate once the first frame shows no SBR', async () => {
    expect(await measured(at('aac-22k.mka'))).toEqual({ reader: 'matroska', codec: 'aac', sample_rate: 22050, num_channels: 1, bit_depth: 32, samples: 23 * 1024 });
  });
});

const corpus = '/work/shared/corpus/audio';

describe.skipIf(!existsSync(corpus))('corpus files that used to go to ffprobe', () => {
  // [file, fields ffprobe 5.1 reports, with samples decoded]
  const cases: [string, Awaited<ReturnType<typeof measured>>][] = [
    ['hound__pcmwaveformat-24bit-4byte-48kHz-stereo.wav', { reader: 'wav', codec: 'pcm', sample_rate: 48000, num_channels: 2, bit_depth: 32, samples: 2 }],
    ['hound__waveformatextensible-24bit-4byte-48kHz-stereo.wav', { reader: 'wav', codec: 'pcm', sample_rate: 48000, num_channels: 2, bit_depth: 32, samples: 2 }],
    ['musicmeta__dvi_adpcm.wav', { reader: 'wav', codec: 'adpcm_ima_wav', sample_rate: 44100, num_channels: 2, bit_depth: 4, samples: 5085 }],
    ['musicmeta__mpeglayer3.wav', { reader: 'wav', codec: 'mp3', sample_rate: 44100, num_channels: 2, bit_depth: 32, samples: 5760 }],
    // Junk before the first frame: ffmpeg's probe still picks MP3 (score 25) and skips the junk.
    ['taglib__invalid-frames2.mp3', { reader: 'mpeg', codec: 'mp3', sample_rate: 44100, num_channels: 2, bit_depth: 32, samples: 13824 }],
    ['taglib__invalid-frames3.mp3', { reader: 'mpeg', codec: 'mp3', sample_rate: 44100, num_channels: 2, bit_depth: 32, samples: 8064 }],
    ['taglib__no-tags.mka', { reader: 'matroska', codec: 'mp3', sample_rate: 44100, num_channels: 2, bit_depth: 32, samples: 19584 }],
    ['musicmeta__02 - Poxfil - Solid Ground (5 sec).mka', { reader: 'matroska', codec: 'aac', sample_rate: 44100, num_channels: 2, bit_depth: 32, samples: 221184 }],
  ];
  it.each(cases)('%s', async (file, expected) => {
    expect(await measured(join(corpus, file))).toEqual(expected);
  });

  // [file, error]: ffmpeg decodes far less than STREAMINFO declares (frames after junk end early); no ADIF demuxer.
  const errors: [string, string][] = [
    ['mutagen__52-overwritten-metadata.flac', 'truncated'],
    ['mutagen__52-too-short-block-size.flac', 'truncated'],
    ['mutagen__adif.aac', 'unsupported_format'],
  ];
  it.each(errors)('%s is %s', async (file, code) => {
    await expect(probe(join(corpus, file))).rejects.toMatchObject({ code });
  });
});
