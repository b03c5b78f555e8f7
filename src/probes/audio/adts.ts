import { ProbeError } from '../../errors.js';
import { decodedLayout, firstFrameSbr, type LowRateAac } from './aac-sbr.js';
import { BlockReader, u16be, u32be } from './bytes.js';
import { DecoderNeeded, type AudioFacts, type AudioInput } from './facts.js';
import { countFrames, type FrameSyntax } from './frames.js';
import { hasLibfaacMarker } from './aac-sbr.js';
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
  /** Audio object type - 1 (1: AAC-LC). */
  profile: number;
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
    profile: b[o + 2]! >> 6,
  };
}

export function isAdtsAt(bytes: Uint8Array, offset: number): boolean {
  const header = parseAdtsHeader(bytes, offset);
  return header !== undefined && ((bytes[offset + 1]! >> 1) & 3) === 0;
}

/** adts_aac_probe scores a file whose first three frames chain AVPROBE_SCORE_EXTENSION + 1 (else 1, or 25 for a later run). */
export const PROBE_CERTAIN_FRAMES = 3;
/** The 13-bit frame length field's largest value. */
const MAX_FRAME_BYTES = 8191;

/** adts_aac_probe's first run: frames chained from the start by sync word and length alone. */
export function probedRun(b: Uint8Array): number {
  const end = b.byteLength - HEADER_BYTES;
  let frames = 0;
  for (let o = 0; o < end; frames++) {
    if ((u16be(b, o) & 0xfff6) !== 0xfff0) break;
    const length = (u32be(b, o + 3) >> 13) & 0x1fff;
    if (length < HEADER_BYTES) break;
    o += Math.min(length, end - o);
  }
  return frames;
}

export async function readAdts(input: AudioInput): Promise<AudioFacts> {
  const { end: start } = await skipLeadingId3v2(input.source, input.head);
  const reader = new BlockReader(input.source);
  const first = parseAdtsHeader(await reader.bytes(start, HEADER_BYTES), 0);
  if (!first) throw new ProbeError('corrupt_file', `no ADTS frame at byte ${start}`);
  // A raw FLAC frame header (0xFFF8/9) reads as ADTS with a CRC; ffmpeg's probe may take the file for either.
  if (!first.protectionAbsent) throw new DecoderNeeded(MIME, 'ADTS with CRC (or raw FLAC frames that look like it)');
  if (first.channelConfig === 0) throw new DecoderNeeded(MIME, 'ADTS channel layout in a program config element');
  // Fewer than three chained frames: adts_aac_probe scores 1, which other formats tie or beat (ffprobe then finds none).
  if (probedRun(await reader.bytes(start, PROBE_CERTAIN_FRAMES * MAX_FRAME_BYTES + HEADER_BYTES)) < PROBE_CERTAIN_FRAMES) {
    throw new DecoderNeeded(MIME, `fewer than ${PROBE_CERTAIN_FRAMES} ADTS frames chained from byte ${start}`);
  }
  const size = await input.size();
  const sbr = first.sampleRate <= 24000 ? await lowRateLayout(input, start, size, first) : undefined;
  const frames = await countFrames(reader, start, size, adtsFrames(first));
  // ffmpeg's AAC decoder drops the first frame of libfaac output, which names itself in a FIL element.
  const libfaac = hasLibfaacMarker(await reader.bytes(start, first.frameLength));
  if (libfaac && sbr?.frameSamples === 2048) throw new DecoderNeeded(MIME, `ADTS at ${first.sampleRate} Hz with SBR beside libfaac's marker`);
  const played = libfaac ? frames - 1 : frames;
  return {
    mime: MIME,
    codec: 'aac',
    sampleRate: sbr?.sampleRate ?? first.sampleRate,
    channels: sbr?.channels ?? (first.channelConfig === 7 ? 8 : first.channelConfig),
    bitDepth: 32, // ffmpeg's AAC decoder outputs float
    duration: (Math.max(0, played) * (sbr?.frameSamples ?? SAMPLES_PER_FRAME)) / (sbr?.sampleRate ?? first.sampleRate),
  };
}

/** Frames walked at most for SBR; longer streams without it in their first frame go to the decoder. */
const MAX_SBR_SCAN_FRAMES = 60_000;

/**
 * ADTS at 24 kHz or less (AAC-LC, one SCE or one CPE): FFmpeg's decoder takes the configuration
 * from every frame header and, until SBR is on, turns it on at any frame that carries SBR data
 * (aac-sbr.ts). SBR in the first frame holds for the whole stream; without it, every frame must
 * be free of SBR. The frame walk that follows judges the stream's end and any junk.
 */
async function lowRateLayout(input: AudioInput, start: number, size: number, first: AdtsHeader) {
  const reason = `ADTS at ${first.sampleRate} Hz may carry SBR`;
  const samplingIndex = RATES.indexOf(first.sampleRate);
  if (first.profile !== 1 || (first.channelConfig !== 1 && first.channelConfig !== 2)) throw new DecoderNeeded(MIME, reason);
  const config: LowRateAac = { samplingIndex, channelConfig: first.channelConfig, sampleRate: first.sampleRate, sbr: 'implicit', sbrChannels: 2 };
  const reader = new BlockReader(input.source);
  let sbr = false;
  let frames = 0;
  for (let offset = start; offset + HEADER_BYTES <= size && !(sbr && frames >= 3); frames++) {
    if (frames === MAX_SBR_SCAN_FRAMES) throw new DecoderNeeded(MIME, `${reason} (more than ${MAX_SBR_SCAN_FRAMES} frames)`);
    const header = parseAdtsHeader(await reader.bytes(offset, HEADER_BYTES), 0);
    if (!header || header.fixed !== first.fixed || offset + header.frameLength > size) break;
    if (!sbr) {
      const verdict = firstFrameSbr((await reader.bytes(offset, header.frameLength)).subarray(HEADER_BYTES), config);
      if ('unsure' in verdict) throw new DecoderNeeded(MIME, `${reason} (frame ${frames}: ${verdict.unsure})`);
      if (verdict.sbr && frames > 0) throw new DecoderNeeded(MIME, `${reason} (first in frame ${frames})`);
      sbr = verdict.sbr;
    }
    offset += header.frameLength;
  }
  // Fewer than three chained frames leave ffmpeg's probe unsure the file is ADTS (adts_aac_probe scores 1).
  if (frames < 3) throw new DecoderNeeded(MIME, `${reason} (${frames} frames)`);
  return decodedLayout(config, sbr);
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
    async refuseParameterChange(reader, offset, end) {
      const header = parseAdtsHeader(await reader.bytes(offset, HEADER_BYTES), 0);
      if (!header || offset + header.frameLength + HEADER_BYTES > end) return;
      const next = parseAdtsHeader(await reader.bytes(offset + header.frameLength, HEADER_BYTES), 0);
      if (next?.fixed !== header.fixed) return;
      // ffprobe names the first rate and its decoded samples are counted at the last: no one rate describes the stream.
      if (header.sampleRate !== first.sampleRate) {
        throw new ProbeError('corrupt_file', `the ADTS sample rate changes at byte ${offset} (${first.sampleRate} Hz to ${header.sampleRate} Hz)`);
      }
      throw new DecoderNeeded(MIME, `ADTS stream parameters change at byte ${offset}`);
    },
  };
}
