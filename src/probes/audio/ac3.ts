import { ProbeError } from '../../errors.js';
import { BlockReader, u16be } from './bytes.js';
import { crc16 } from './crc.js';
import { DecoderNeeded, type AudioFacts, type AudioInput } from './facts.js';
import { containerMime } from './mime.js';

/**
 * Raw AC-3 and E-AC-3 (ffmpeg's ac3/eac3 demuxers): every sync frame decodes to a fixed number
 * of samples (1536 for AC-3, 256 per audio block for E-AC-3) and the decoder trims nothing, so
 * the decoded length is the frame count when every frame is intact. Only files that are frames
 * end to end, each passing its CRC, with one layout throughout, are measured here; anything a
 * decoder might conceal, resync over or reconfigure for (junk, CRC errors, dependent or extra
 * substreams, reduced-rate AC-3, E-AC-3 frames of fewer than 6 blocks) is left to it. Streams
 * joined from files of different sample rates are refused: no one rate describes them.
 */

/** Enough for every header field read here. */
const HEADER_BYTES = 8;
const RATES = [48000, 44100, 32000];
/** E-AC-3 fscod2 rates (fscod 3): half rates, always 6 blocks per frame. */
const HALF_RATES = [24000, 22050, 16000];
/** AC-3 nominal bit rates in kbit/s, by frmsizecod / 2. */
const BIT_RATES = [32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384, 448, 512, 576, 640];
/** Full-bandwidth channels by acmod (0 is dual mono: two channels). */
const ACMOD_CHANNELS = [2, 1, 2, 3, 3, 4, 4, 5];

export interface SyncFrame {
  codec: 'ac3' | 'eac3';
  sampleRate: number;
  channels: number;
  samples: number;
  size: number;
}

export const isAc3At = (bytes: Uint8Array, offset: number) => bytes.byteLength >= offset + HEADER_BYTES && u16be(bytes, offset) === 0x0b77;

export async function readAc3(input: AudioInput): Promise<AudioFacts> {
  // Named by the first frame, as ffmpeg's probe picks its ac3 or eac3 demuxer.
  const mime = containerMime(isEac3(input.head) ? 'eac3' : 'ac3', input.head, input.detection)!;
  const end = await input.size();
  const reader = new BlockReader(input.source);
  let first: SyncFrame | undefined;
  let samples = 0;
  for (let offset = 0; offset < end; ) {
    const frame = parseSyncFrame(await reader.bytes(offset, HEADER_BYTES), mime);
    if (!frame) {
      if (!first) throw new ProbeError('corrupt_file', 'no AC-3 sync frame at the start of the file');
      throw new DecoderNeeded(mime, `bytes that are no AC-3 frame at byte ${offset}`);
    }
    if (offset + frame.size > end) {
      throw new ProbeError('truncated', `the AC-3 frame at byte ${offset} declares ${frame.size} bytes, the file holds ${end - offset}`);
    }
    first ??= frame;
    if (frame.sampleRate !== first.sampleRate && isIntact(await reader.bytes(offset, frame.size))) {
      // ffprobe names the first rate and its decoded samples are counted at the last: no one rate describes the stream.
      throw new ProbeError('corrupt_file', `the AC-3 sample rate changes at byte ${offset} (${first.sampleRate} Hz to ${frame.sampleRate} Hz)`);
    }
    if (!sameLayout(frame, first)) {
      throw new DecoderNeeded(mime, `AC-3 stream changes layout at byte ${offset}`);
    }
    if (!isIntact(await reader.bytes(offset, frame.size))) {
      throw new DecoderNeeded(mime, `AC-3 frame at byte ${offset} fails its CRC`);
    }
    samples += frame.samples;
    offset += frame.size;
  }
  if (!first) throw new ProbeError('corrupt_file', 'no AC-3 frame in the file');
  return {
    mime,
    codec: first.codec,
    sampleRate: first.sampleRate,
    channels: first.channels,
    bitDepth: 32, // ffmpeg's (E-)AC-3 decoders output float
    duration: samples / first.sampleRate,
  };
}

/** A whole sync frame passes its CRC (ffmpeg's check: CRC-16 of everything after the sync word is 0). */
export const isIntact = (frame: Uint8Array) => crc16(frame.subarray(2)) === 0;

/** The same codec, rate and channels: a stream the decoder need not reconfigure for. */
export const sameLayout = (a: SyncFrame, b: SyncFrame) => a.codec === b.codec && a.sampleRate === b.sampleRate && a.channels === b.channels;

const isEac3 = (b: Uint8Array) => b.byteLength > 5 && b[5]! >> 3 > 10;

/** The frame at the start of `b`; undefined when it is no sync frame ffmpeg's parser accepts. */
export function parseSyncFrame(b: Uint8Array, mime: string): SyncFrame | undefined {
  if (!isAc3At(b, 0)) return undefined;
  const bsid = b[5]! >> 3;
  if (bsid <= 8) return parseAc3(b);
  if (bsid <= 10) throw new DecoderNeeded(mime, `reduced-rate AC-3 (bsid ${bsid})`);
  if (bsid <= 16) return parseEac3(b, mime);
  return undefined;
}

function parseAc3(b: Uint8Array): SyncFrame | undefined {
  const fscod = b[4]! >> 6;
  const frmsizecod = b[4]! & 0x3f;
  const sampleRate = RATES[fscod];
  const bitRate = BIT_RATES[frmsizecod >> 1];
  if (!sampleRate || !bitRate) return undefined;
  const acmod = b[6]! >> 5;
  // After acmod: cmixlev (3 front channels), surmixlev (surrounds), dsurmod (2/0), then lfeon.
  const lfeBit = 3 + (acmod & 1 && acmod !== 1 ? 2 : 0) + (acmod & 4 ? 2 : 0) + (acmod === 2 ? 2 : 0);
  const lfe = (u16be(b, 6) >> (15 - lfeBit)) & 1;
  return { codec: 'ac3', sampleRate, channels: ACMOD_CHANNELS[acmod]! + lfe, samples: 1536, size: ac3FrameBytes(fscod, frmsizecod, bitRate) };
}

/** 16-bit words per frame: the bit rate over 1536 samples; at 44.1 kHz the odd code adds a padding word. */
function ac3FrameBytes(fscod: number, frmsizecod: number, bitRate: number): number {
  if (fscod === 0) return bitRate * 4;
  if (fscod === 2) return bitRate * 6;
  return (Math.floor((bitRate * 1536) / 44.1 / 16) + (frmsizecod & 1)) * 2;
}

function parseEac3(b: Uint8Array, mime: string): SyncFrame | undefined {
  const streamType = b[2]! >> 6;
  const substream = (b[2]! >> 3) & 7;
  if (streamType === 3) return undefined;
  if (streamType !== 0 || substream !== 0) throw new DecoderNeeded(mime, 'E-AC-3 with dependent or further substreams');
  const size = ((u16be(b, 2) & 0x7ff) + 1) * 2;
  const fscod = b[4]! >> 6;
  const blocksCode = (b[4]! >> 4) & 3;
  const sampleRate = fscod === 3 ? HALF_RATES[blocksCode] : RATES[fscod];
  if (!sampleRate || size < HEADER_BYTES) return undefined;
  if (fscod !== 3 && blocksCode !== 3) throw new DecoderNeeded(mime, 'E-AC-3 frames of fewer than 6 audio blocks');
  const acmod = (b[4]! >> 1) & 7;
  return { codec: 'eac3', sampleRate, channels: ACMOD_CHANNELS[acmod]! + (b[4]! & 1), samples: 6 * 256, size };
}
