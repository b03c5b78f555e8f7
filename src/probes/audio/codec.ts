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
