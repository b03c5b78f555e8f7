import { ProbeError } from '../../errors.js';

/** Linear PCM and G.711 as WAV and AIFF store them: what ffmpeg decodes them as. */
export interface PcmLayout {
  /** SPEC codec name: pcm, alaw or mulaw. */
  codec: 'pcm' | 'alaw' | 'mulaw';
  /** Bytes per sample in the data. */
  sampleBytes: number;
  /** SPEC bit depth: the decoder's sample size for PCM (bits_per_raw_sample / bits_per_sample), 8 for G.711. */
  bitDepth: number;
}

/** ffmpeg's ff_get_pcm_codec_id: integer PCM of 1, 2, 3, 4 or 8 bytes; float of 4 or 8. */
export function linearPcm(bitsPerSample: number, float: boolean): PcmLayout | undefined {
  const bytes = (bitsPerSample + 7) >> 3;
  const sizes = float ? [4, 8] : [1, 2, 3, 4, 8];
  return sizes.includes(bytes) ? { codec: 'pcm', sampleBytes: bytes, bitDepth: 8 * bytes } : undefined;
}

export const G711 = {
  alaw: { codec: 'alaw', sampleBytes: 1, bitDepth: 8 },
  mulaw: { codec: 'mulaw', sampleBytes: 1, bitDepth: 8 },
} as const satisfies Record<string, PcmLayout>;

/** The decoded length of PCM data: whole sample frames only (ffmpeg's pcm decoder drops a partial one). */
export function pcmDuration(dataBytes: number, layout: PcmLayout, channels: number, sampleRate: number): number {
  return Math.floor(dataBytes / (layout.sampleBytes * channels)) / sampleRate;
}

/** Channel count and rate must be usable before any duration is computed from them. */
export function checkStreamShape(format: string, channels: number, sampleRate: number): void {
  if (!Number.isInteger(channels) || channels < 1 || channels > 1024) {
    throw new ProbeError('corrupt_file', `${format} header declares ${channels} channels`);
  }
  if (!Number.isFinite(sampleRate) || sampleRate < 1 || sampleRate > 2 ** 31) {
    throw new ProbeError('corrupt_file', `${format} header declares a sample rate of ${sampleRate}`);
  }
}
