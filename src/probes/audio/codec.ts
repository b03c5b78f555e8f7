import { hierarchicalSbrConfig, lowRateAacConfig, type LowRateAac } from './aac-sbr.js';

/**
 * SPEC's codec naming and bit-depth rules, applied to ffprobe's stream fields and shared by the
 * in-process readers (which name codecs as ffprobe would).
 */

/** ffprobe codec_name with linear PCM folded to `pcm`, G.711 to `alaw` / `mulaw`. */
export function specCodecName(ffprobeName: string): string {
  if (ffprobeName === 'pcm_alaw') return 'alaw';
  if (ffprobeName === 'pcm_mulaw') return 'mulaw';
  if (/^pcm_[suf]\d/.test(ffprobeName)) return 'pcm';
  return ffprobeName;
}

/** Codecs whose bit depth is the stored sample size (SPEC: linear PCM and lossless codecs). */
const LOSSLESS = new Set(['pcm', 'flac', 'alac', 'wavpack', 'ape', 'tta', 'tak', 'shorten', 'wmalossless', 'mlp', 'truehd']);

/** Bits per sample of ffmpeg's decoded sample formats (planar or not). */
const SAMPLE_FORMAT_BITS: Record<string, number> = { u8: 8, s16: 16, s32: 32, s64: 64, flt: 32, dbl: 64 };

export function sampleFormatBits(sampleFormat: string | undefined): number | undefined {
  return sampleFormat ? SAMPLE_FORMAT_BITS[sampleFormat.replace(/p$/, '')] : undefined;
}

export interface StreamDepthFields {
  /** SPEC codec name. */
  codec: string;
  bitsPerRawSample?: number;
  bitsPerSample?: number;
  sampleFormat?: string;
}

/**
 * SPEC bit_depth: lossless and linear PCM: bits_per_raw_sample, else bits_per_sample, else the
 * decoded sample size; A-law/µ-law 8; ADPCM its coded bits per sample; DSD 1; lossy codecs: the
 * decoded sample size (32 for float decoders). Undefined when the fields do not say.
 */
export function specBitDepth(fields: StreamDepthFields): number | undefined {
  const { codec, bitsPerRawSample, bitsPerSample } = fields;
  const decoded = sampleFormatBits(fields.sampleFormat);
  if (codec === 'alaw' || codec === 'mulaw') return 8;
  if (codec.startsWith('dsd_')) return 1;
  if (codec.startsWith('adpcm_')) return positive(bitsPerSample);
  if (LOSSLESS.has(codec) || codec.startsWith('pcm_')) return positive(bitsPerRawSample) ?? positive(bitsPerSample) ?? decoded;
  return decoded;
}

const positive = (n: number | undefined) => (n !== undefined && n > 0 ? n : undefined);

const AAC_RATES = [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350];
const AOT_USAC = 42;

/**
 * Why an AudioSpecificConfig is not plain AAC a reader can measure: the decoder's business, or
 * damage. `sbr`: AAC-LC whose SBR the config turns on or leaves to the first frame (aac-sbr.ts).
 */
export type AacConfigProblem = { decoderNeeded: string; sbr?: LowRateAac } | { corrupt: string };

/**
 * AudioSpecificConfig (ISO 14496-3 1.6.2.1) for plain AAC (Main, LC, LTP) with a channel
 * configuration, 1024 samples per frame; anything that makes ffmpeg's decoder change rate,
 * channels or frame length (SBR, PS, a 960-sample frame, a PCE) is a problem to hand back. A
 * core rate of 24 kHz or less may carry implicit SBR, which only decoding reveals, and which
 * matters only when there are frames to decode (`framesDecoded`).
 */
export function parseAacConfig(asc: Uint8Array, framesDecoded = true): { sampleRate: number; channels: number } | AacConfigProblem {
  if (asc.byteLength < 2) return { corrupt: 'AudioSpecificConfig is cut short' };
  let bit = 0;
  // Past its end the config reads as zeros, as ffmpeg's padded bit reader reads it.
  const read = (n: number) => {
    let value = 0;
    for (let i = 0; i < n; i++, bit++) value = value * 2 + (((asc[bit >> 3] ?? 0) >> (7 - (bit & 7))) & 1);
    return value;
  };
  let objectType = read(5);
  if (objectType === 31) objectType = 32 + read(6);
  const rateIndex = read(4);
  const sampleRate = rateIndex === 15 ? read(24) : AAC_RATES[rateIndex];
  const channelConfig = read(4);
  if (objectType === AOT_USAC) return { corrupt: 'AAC audio object type 42 (USAC): ffmpeg 5.1 has no decoder for it' };
  if ((objectType === 5 || objectType === 29) && framesDecoded) return hierarchicalSbrConfig(asc);
  if (![1, 2, 4].includes(objectType)) return { decoderNeeded: `AAC audio object type ${objectType}` };
  if (!sampleRate) return { corrupt: `AAC sampling frequency index ${rateIndex}` };
  if (sampleRate <= 24000 && framesDecoded) return lowRateAacConfig(asc, objectType, rateIndex, channelConfig, sampleRate);
  if (channelConfig === 0 || channelConfig > 7) return { decoderNeeded: `AAC channel configuration ${channelConfig}` };
  if (read(1) === 1) return { decoderNeeded: 'AAC with 960-sample frames' };
  if (read(1) === 1) read(14); // dependsOnCoreCoder: coreCoderDelay
  read(1); // extensionFlag (none for these object types)
  if (asc.byteLength * 8 - bit >= 16 && read(11) === 0x2b7 && read(5) === 5 && read(1) === 1) {
    return { decoderNeeded: 'AAC with SBR signalled in a sync extension' };
  }
  return { sampleRate, channels: channelConfig === 7 ? 8 : channelConfig };
}
