import { ProbeError } from '../../errors.js';
import { isAdtsAt, parseAdtsHeader, PROBE_CERTAIN_FRAMES, probedRun } from './adts.js';
import { BlockReader } from './bytes.js';
import { DecoderNeeded, type AudioFacts, type AudioInput } from './facts.js';

/**
 * ADTS frames whose headers ffmpeg cannot use: a sampling-frequency index of 13-15 (reserved,
 * and the escape value ADTS has no field for). ffmpeg's aac demuxer still opens such a file
 * (its probe looks only at the sync word and frame lengths), but its parser, which runs
 * ff_adts_header_parse at every byte, never cuts a frame, so the decoder never runs: ffprobe
 * prints a stream of 0 Hz and 0 channels and decodes nothing. One header anywhere in the file
 * that the parser accepts may start frames the decoder plays, so such files go to ffmpeg.
 */

const MIME = 'audio/aac';
const HEADER_BYTES = 7;

/**
 * A file that starts with ADTS frames ffmpeg's probe surely takes for ADTS (score 51, which no
 * format that could play such bytes reaches) while the first header names no sampling rate.
 */
export function isAdtsWithoutRate(head: Uint8Array): boolean {
  return !isAdtsAt(head, 0) && probedRun(head) >= PROBE_CERTAIN_FRAMES;
}

export async function readRatelessAdts(input: AudioInput): Promise<AudioFacts> {
  if (await hasParsableHeader(new BlockReader(input.source), 0, await input.size())) {
    throw new DecoderNeeded(MIME, 'ADTS frames without a sampling rate, and a usable header later');
  }
  throw new ProbeError('corrupt_file', 'no ADTS header in the file names a sampling rate: ffmpeg\'s AAC parser finds no frame to decode');
}

/** Whether any position in [start, end) holds a header ff_adts_header_parse accepts. */
async function hasParsableHeader(reader: BlockReader, start: number, end: number): Promise<boolean> {
  const chunk = 1 << 20;
  for (let from = start; from + HEADER_BYTES <= end; from += chunk) {
    const bytes = await reader.bytes(from, Math.min(chunk + HEADER_BYTES, end - from));
    for (let i = 0; i + HEADER_BYTES <= bytes.byteLength; i++) {
      if (bytes[i] === 0xff && parseAdtsHeader(bytes, i)) return true;
    }
  }
  return false;
}
