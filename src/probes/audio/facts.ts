import type { ByteSource } from '../../sources/source.js';
import { NeedsFfprobe } from '../containers/facts.js';
import type { Detection, ProbeOptions } from '../types.js';

/** What a format reader finds about the first audio stream, in SPEC terms. */
export interface AudioFacts {
  /** Content MIME type of the container (SPEC audio table, else ExifTool's). */
  mime: string;
  /** ffprobe's codec_name, folded per SPEC (pcm, alaw, mulaw, ...). */
  codec: string;
  sampleRate: number;
  channels: number;
  bitDepth: number;
  /** Seconds a decoder plays (ffmpeg's decoded length). */
  duration: number;
}

/** One input as the format readers see it. */
export interface AudioInput {
  source: ByteSource;
  /** The first bytes of the file (HEAD_BYTES, fewer when the file is shorter). */
  head: Uint8Array;
  /** Exact file length; on a stream this drains it, so readers ask only when they need it. */
  size(): Promise<number>;
  options: ProbeOptions;
  detection: Detection;
}

export type AudioReader = (input: AudioInput) => Promise<AudioFacts>;

/**
 * Thrown by an in-process reader when the file is valid but its decoded length depends on the
 * decoder (a codec inside WAV, resyncs inside an MP3, ...): the probe then asks ffmpeg's decoder.
 * Carries the container MIME type, which the reader already knows, and the duration the header
 * declares, if any: a decoder that plays less than that means the file is truncated. Where the
 * header counts the very samples the decoder outputs (`declaredIsExact`, FLAC's STREAMINFO), any
 * shortfall is; elsewhere only a clear one, beyond the container's rounding and codec priming.
 */
export class DecoderNeeded extends Error {
  constructor(
    readonly mime: string,
    reason: string,
    readonly declaredDuration?: number,
    readonly declaredIsExact = false,
  ) {
    super(reason);
    this.name = 'DecoderNeeded';
  }

  /** Runs `work`, a reader over a container shared with the video probe, whose doubts become the decoder's. */
  static async ifContainerUnsure<T>(mime: string, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (error instanceof NeedsFfprobe) throw new DecoderNeeded(mime, error.reason);
      throw error;
    }
  }

  /** Runs `work`, adding the header's declared duration to a DecoderNeeded it throws without one. */
  static async declaring<T>(declaredDuration: number | undefined, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (error instanceof DecoderNeeded && error.declaredDuration === undefined && declaredDuration !== undefined) {
        throw new DecoderNeeded(error.mime, error.message, declaredDuration);
      }
      throw error;
    }
  }
}
