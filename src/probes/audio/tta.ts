import { crc32 } from 'node:zlib';
import { ProbeError } from '../../errors.js';
import { BlockReader, readExactly, startsWith, u16le, u32le } from './bytes.js';
import { DecoderNeeded, type AudioFacts, type AudioInput } from './facts.js';
import { containerMime } from './mime.js';
import { checkStreamShape } from './pcm.js';

/**
 * True Audio (TTA1), as ffmpeg's tta demuxer and decoder play it: the header's sample count,
 * in frames of 256/245 s that the seek table sizes. Every frame must be in the file and pass its
 * CRC-32 (then the decoder plays all of it); encrypted files and damaged frames go to the decoder.
 */

const HEADER_BYTES = 22;
const SIMPLE_FORMAT = 1;

export const isTta = (head: Uint8Array) => startsWith(head, 'TTA1');

export async function readTta(input: AudioInput): Promise<AudioFacts> {
  const mime = containerMime('tta', input.head, input.detection)!;
  const header = await readExactly(input.source, 0, HEADER_BYTES, 'TTA header');
  if (!hasValidCrc(header)) throw new DecoderNeeded(mime, 'TTA header fails its CRC');
  const [format, channels, bits, sampleRate, samples] = [u16le(header, 4), u16le(header, 6), u16le(header, 8), u32le(header, 10), u32le(header, 14)];
  if (format !== SIMPLE_FORMAT) throw new DecoderNeeded(mime, `TTA format ${format}`);
  checkStreamShape('TTA', channels, sampleRate);
  if (![8, 16, 24].includes(bits) || samples === 0) throw new DecoderNeeded(mime, `TTA of ${bits} bits, ${samples} samples`);
  const frameLength = Math.floor((sampleRate * 256) / 245);
  const frames = Math.ceil(samples / frameLength);
  const table = await readExactly(input.source, HEADER_BYTES, frames * 4 + 4, 'TTA seek table');
  if (!hasValidCrc(table)) throw new DecoderNeeded(mime, 'TTA seek table fails its CRC');
  await checkFrames(input, table, frames, HEADER_BYTES + table.byteLength, mime);
  return { mime, codec: 'tta', sampleRate, channels, bitDepth: bits, duration: samples / sampleRate };
}

/** TTA's CRC-32 (zlib's) of everything but the last 4 bytes, stored in them. */
const hasValidCrc = (bytes: Uint8Array) => crc32(bytes.subarray(0, -4)) === u32le(bytes, bytes.byteLength - 4);

async function checkFrames(input: AudioInput, table: Uint8Array, frames: number, start: number, mime: string): Promise<void> {
  const size = await input.size();
  const reader = new BlockReader(input.source);
  let offset = start;
  for (let i = 0; i < frames; i++) {
    const frameBytes = u32le(table, i * 4);
    if (offset + frameBytes > size) {
      throw new ProbeError('truncated', `TTA frame ${i + 1} of ${frames} runs to byte ${offset + frameBytes}, the file holds ${size}`);
    }
    if (frameBytes < 4 || !hasValidCrc(await reader.bytes(offset, frameBytes))) throw new DecoderNeeded(mime, `TTA frame ${i + 1} fails its CRC`);
    offset += frameBytes;
  }
}
