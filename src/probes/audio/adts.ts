import { ProbeError } from '../../errors.js';
import { BlockReader, u16be, u32be } from './bytes.js';
import { DecoderNeeded, type AudioFacts, type AudioInput } from './facts.js';
import { countFrames, type FrameSyntax } from './frames.js';
import { hasLibfaacMarker } from './mp4.js';
import { skipLeadingId3v2 } from './tags.js';

/**
 * AAC in ADTS frames, as ffmpeg's aac demuxer and decoder play it: 1024 samples per frame,
 * every frame in the file counted. Streams the decoder may reconfigure are left to it: a core
 * rate of 24 kHz or less (implicit SBR doubles the rate, PS adds a channel), a channel layout
 * given by a PCE (configuration 0), several raw data blocks in a frame.
 */

const MIME = 'audio/aac';
const HEADER_BYTES = 7;
const SAMPLES_PER_FRAME = 1024;
const RATES = [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350];

interface AdtsHeader {
  /** Bits that stay the same in every frame of a stream (ID, layer, profile, rate, channels). */
  fixed: number;
  sampleRate: number;
  channelConfig: number;
  frameLength: number;
  rawBlocks: number;
  protectionAbsent: boolean;
}

/** ff_adts_header_parse's checks: sync, a rate in the table, a frame at least a header long. */
export function parseAdtsHeader(b: Uint8Array, o: number): AdtsHeader | undefined {
  if (o + HEADER_BYTES > b.byteLength || u16be(b, o) >> 4 !== 0xfff) return undefined;
  const sampleRate = RATES[(b[o + 2]! >> 2) & 15];
  const frameLength = (u32be(b, o + 3) >> 13) & 0x1fff;
  if (!sampleRate || frameLength < HEADER_BYTES) return undefined;
  return {
    fixed: (u32be(b, o) & 0xfffefdc0) >>> 0,
    sampleRate,
    channelConfig: ((b[o + 2]! & 1) << 2) | (b[o + 3]! >> 6),
    frameLength,
    rawBlocks: b[o + 6]! & 3,
    protectionAbsent: (b[o + 1]! & 1) === 1,
  };
}

export function isAdtsAt(bytes: Uint8Array, offset: number): boolean {
  const header = parseAdtsHeader(bytes, offset);
  return header !== undefined && ((bytes[offset + 1]! >> 1) & 3) === 0;
}

export async function readAdts(input: AudioInput): Promise<AudioFacts> {
  const { end: start } = await skipLeadingId3v2(input.source, input.head);
  const reader = new BlockReader(input.source);
  const first = parseAdtsHeader(await reader.bytes(start, HEADER_BYTES), 0);
  if (!first) throw new ProbeError('corrupt_file', `no ADTS frame at byte ${start}`);
  // A raw FLAC frame header (0xFFF8/9) reads as ADTS with a CRC; ffmpeg's probe may take the file for either.
  if (!first.protectionAbsent) throw new DecoderNeeded(MIME, 'ADTS with CRC (or raw FLAC frames that look like it)');
  if (first.sampleRate <= 24000) throw new DecoderNeeded(MIME, `ADTS at ${first.sampleRate} Hz may carry SBR`);
  if (first.channelConfig === 0) throw new DecoderNeeded(MIME, 'ADTS channel layout in a program config element');
  const frames = await countFrames(reader, start, await input.size(), adtsFrames(first));
  // ffmpeg's AAC decoder drops the first frame of libfaac output, which names itself in a FIL element.
  const played = hasLibfaacMarker(await reader.bytes(start, first.frameLength)) ? frames - 1 : frames;
  return {
    mime: MIME,
    codec: 'aac',
    sampleRate: first.sampleRate,
    channels: first.channelConfig === 7 ? 8 : first.channelConfig,
    bitDepth: 32, // ffmpeg's AAC decoder outputs float
    duration: (Math.max(0, played) * SAMPLES_PER_FRAME) / first.sampleRate,
  };
}

function adtsFrames(first: AdtsHeader): FrameSyntax {
  return {
    name: 'ADTS',
    mime: MIME,
    headerBytes: HEADER_BYTES,
    cutLastFrame: 'truncated',
    frameSize(bytes, offset) {
      const header = parseAdtsHeader(bytes, offset);
      if (!header || header.fixed !== first.fixed) return undefined;
      if (header.rawBlocks !== 0) throw new DecoderNeeded(MIME, 'ADTS frame with several raw data blocks');
      return header.frameLength;
    },
  };
}
