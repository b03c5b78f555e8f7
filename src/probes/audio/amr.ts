import { BlockReader, startsWith } from './bytes.js';
import { DecoderNeeded, type AudioFacts, type AudioInput } from './facts.js';
import { containerMime } from './mime.js';

/**
 * AMR-NB and AMR-WB storage files (RFC 4867 §5), as ffmpeg's amr demuxer and decoders play them:
 * each frame is its TOC byte and the speech bits its mode fixes, and decodes to 20 ms (160
 * samples at 8 kHz, 320 at 16 kHz). ffmpeg's decoders refuse SID, NO_DATA and reserved frames,
 * so files holding any, or a frame cut by the end of the file, go to the decoder.
 */

interface AmrVariant {
  magic: string;
  codec: string;
  sampleRate: number;
  /** Frame bytes (TOC included) of the speech modes the decoder plays. */
  speechFrameBytes: number[];
}

const VARIANTS: AmrVariant[] = [
  { magic: '#!AMR\n', codec: 'amr_nb', sampleRate: 8000, speechFrameBytes: [13, 14, 16, 18, 20, 21, 27, 32] },
  { magic: '#!AMR-WB\n', codec: 'amr_wb', sampleRate: 16000, speechFrameBytes: [18, 24, 33, 37, 41, 47, 51, 59, 61] },
];

const SAMPLES_PER_FRAME_PER_KHZ = 20;

export const isAmr = (head: Uint8Array) => VARIANTS.some((variant) => startsWith(head, variant.magic));

export async function readAmr(input: AudioInput): Promise<AudioFacts> {
  const variant = VARIANTS.find((v) => startsWith(input.head, v.magic))!;
  const mime = containerMime('amr', input.head, input.detection)!;
  const size = await input.size();
  const reader = new BlockReader(input.source);
  let frames = 0;
  for (let offset = variant.magic.length; offset < size; frames++) {
    const [toc] = await reader.bytes(offset, 1);
    const mode = (toc! >> 3) & 15;
    const bytes = variant.speechFrameBytes[mode];
    if (bytes === undefined) throw new DecoderNeeded(mime, `AMR frame of mode ${mode} at byte ${offset}`);
    if (offset + bytes > size) throw new DecoderNeeded(mime, `AMR frame at byte ${offset} cut by the end of the file`);
    offset += bytes;
  }
  if (frames === 0) throw new DecoderNeeded(mime, 'AMR file without frames');
  const samples = frames * SAMPLES_PER_FRAME_PER_KHZ * (variant.sampleRate / 1000);
  return { mime, codec: variant.codec, sampleRate: variant.sampleRate, channels: 1, bitDepth: 32, duration: samples / variant.sampleRate };
}
