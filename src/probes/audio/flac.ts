import { ProbeError } from '../../errors.js';
import { readExactly, startsWith, u16be, u24be, u32be } from './bytes.js';
import { crc16, crc8 } from './crc.js';
import { DecoderNeeded, type AudioFacts, type AudioInput } from './facts.js';
import { skipLeadingId3v2, trailingTagsStart } from './tags.js';

/**
 * Native FLAC. STREAMINFO gives the format and the sample count; the last frame in the file
 * (found by scanning back from the end, proven by its CRC-16) shows whether the data holds
 * that many samples, or gives the count when STREAMINFO leaves it unset (0).
 */

const MIME = 'audio/flac';
export const STREAMINFO_SIZE = 34;

export interface StreamInfo {
  /** The smallest block but the last (fixed-size streams: the block size). */
  minBlockSize: number;
  maxBlockSize: number;
  maxFrameSize: number;
  sampleRate: number;
  channels: number;
  bitsPerSample: number;
  /** 0 means unknown. */
  totalSamples: number;
}

export function parseStreamInfo(b: Uint8Array): StreamInfo {
  if (b.byteLength < STREAMINFO_SIZE) throw new ProbeError('corrupt_file', `FLAC STREAMINFO of ${b.byteLength} bytes`);
  const info = {
    minBlockSize: u16be(b, 0),
    maxBlockSize: u16be(b, 2),
    maxFrameSize: u24be(b, 7),
    sampleRate: (b[10]! << 12) | (b[11]! << 4) | (b[12]! >> 4),
    channels: ((b[12]! >> 1) & 7) + 1,
    bitsPerSample: (((b[12]! & 1) << 4) | (b[13]! >> 4)) + 1,
    totalSamples: (b[13]! & 0x0f) * 2 ** 32 + u32be(b, 14),
  };
  if (info.sampleRate === 0 || info.maxBlockSize < 16 || info.bitsPerSample < 4) {
    throw new ProbeError('corrupt_file', `FLAC STREAMINFO is invalid (rate ${info.sampleRate}, block ${info.maxBlockSize}, ${info.bitsPerSample} bits)`);
  }
  return info;
}

/** SPEC fields of a FLAC stream from its STREAMINFO (bit depth: bits_per_raw_sample). */
export function flacFacts(mime: string, info: StreamInfo, samples: number): AudioFacts {
  return {
    mime,
    codec: 'flac',
    sampleRate: info.sampleRate,
    channels: info.channels,
    bitDepth: info.bitsPerSample,
    duration: samples / info.sampleRate,
  };
}

export async function readFlac(input: AudioInput): Promise<AudioFacts> {
  const { end: start } = await skipLeadingId3v2(input.source, input.head);
  const { info, audioStart } = await readMetadata(input, start);
  const declared = info.totalSamples / info.sampleRate;
  const audioEnd = await trailingTagsStart(input.source, audioStart, await input.size());
  if (audioEnd <= audioStart) {
    if (info.totalSamples > 0) throw new ProbeError('truncated', `FLAC STREAMINFO declares ${info.totalSamples} samples, the file holds no frames`);
    return flacFacts(MIME, info, 0);
  }
  const first = parseFrameHeader(await input.source.read(audioStart, 16), 0, info);
  if (!first) {
    // Junk before the frames is the parser's business, but frames that end short of STREAMINFO are truncation either way.
    const found = await firstFrameAfterJunk(input, info, audioStart, audioEnd);
    if (found) await checkReachesDeclared(input, info, found, audioStart, audioEnd);
    throw new DecoderNeeded(MIME, 'no FLAC frame right after the metadata', declared, true);
  }
  const samples = await checkReachesDeclared(input, info, first, audioStart, audioEnd);
  if (samples === undefined) throw new DecoderNeeded(MIME, 'the last FLAC frame could not be located', declared, true);
  if (holdsMoreFrames(info, audioEnd - audioStart)) {
    throw new DecoderNeeded(MIME, 'more frame bytes than STREAMINFO\'s frames can fill (streams joined end to end?)', declared);
  }
  if (info.totalSamples === 0 || samples === info.totalSamples) return flacFacts(MIME, info, samples);
  throw new DecoderNeeded(MIME, `FLAC frames run to sample ${samples}, past the ${info.totalSamples} STREAMINFO declares`, declared);
}

/**
 * Whether the frames take more bytes than STREAMINFO's sample count can fill at its largest frame
 * size. A second stream appended to the first (its frame numbers restart, so its last frame looks
 * like the first stream's) shows this way; ffmpeg's decoder plays both.
 */
function holdsMoreFrames(info: StreamInfo, frameBytes: number): boolean {
  if (info.totalSamples === 0 || info.minBlockSize === 0 || info.maxFrameSize === 0) return false;
  return frameBytes > Math.ceil(info.totalSamples / info.minBlockSize) * info.maxFrameSize;
}

/** The first frame header within the first 64 KiB of the audio. */
async function firstFrameAfterJunk(input: AudioInput, info: StreamInfo, audioStart: number, audioEnd: number): Promise<FrameHeader | undefined> {
  const bytes = await input.source.read(audioStart, Math.min(audioEnd - audioStart, 1 << 16));
  for (let i = 0; i + 16 <= bytes.byteLength; i++) {
    const header = bytes[i] === 0xff ? parseFrameHeader(bytes, i, info) : undefined;
    if (header) return header;
  }
  return undefined;
}

/**
 * The frames in the file must reach the sample count STREAMINFO declares: the last frame found
 * tells where they end (a frame cut by the end of the file ends no later than its header says).
 * Returns the sample count up to the end of the last whole frame, if there is one.
 */
async function checkReachesDeclared(input: AudioInput, info: StreamInfo, first: FrameHeader, audioStart: number, audioEnd: number): Promise<number | undefined> {
  const { samples, lastHeader } = await samplesUpToLastFrame(input, info, first, audioStart, audioEnd);
  const end = samples ?? lastHeader;
  if (end !== undefined && end < info.totalSamples) {
    throw new ProbeError('truncated', `FLAC STREAMINFO declares ${info.totalSamples} samples, the frames in the file end at sample ${end}`);
  }
  return samples;
}

async function readMetadata(input: AudioInput, start: number): Promise<{ info: StreamInfo; audioStart: number }> {
  const magic = await input.source.read(start, 4);
  if (!startsWith(magic, 'fLaC')) throw new ProbeError('corrupt_file', `no fLaC signature at byte ${start}`);
  let info: StreamInfo | undefined;
  let offset = start + 4;
  for (let last = false; !last; ) {
    const header = await readExactly(input.source, offset, 4, 'FLAC metadata block header');
    const type = header[0]! & 0x7f;
    const length = u24be(header, 1);
    last = (header[0]! & 0x80) !== 0;
    if (type === 127) throw new ProbeError('corrupt_file', `invalid FLAC metadata block type at byte ${offset}`);
    if (!info) {
      if (type !== 0 || length !== STREAMINFO_SIZE) throw new ProbeError('corrupt_file', 'FLAC stream does not start with a STREAMINFO block');
      info = parseStreamInfo(await readExactly(input.source, offset + 4, length, 'FLAC STREAMINFO'));
    } else if ((await input.source.read(offset + 4 + length - 1, 1)).byteLength === 0 && length > 0) {
      throw new ProbeError('truncated', `FLAC metadata block at byte ${offset} declares ${length} bytes past the end of the file`);
    }
    offset += 4 + length;
  }
  return { info: info!, audioStart: offset };
}

export interface FrameHeader {
  variable: boolean;
  /** Frame number (fixed block size) or first sample number (variable). */
  number: number;
  blockSize: number;
}

const BLOCK_SIZES = [0, 192, 576, 1152, 2304, 4608, -1, -2, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768];
const RATES = [0, 88200, 176400, 192000, 8000, 16000, 22050, 24000, 32000, 44100, 48000, 96000];
/** Bits per sample by the header's code, as FFmpeg 5.1 reads it (0: STREAMINFO's). */
const SAMPLE_SIZES = [0, 8, 12, 0, 16, 20, 24, 0];

/** A frame header at `o`, valid (CRC-8) and consistent with STREAMINFO, else undefined. */
export function parseFrameHeader(b: Uint8Array, o: number, info: StreamInfo): FrameHeader | undefined {
  const header = parseAnyFrameHeader(b, o);
  return header && !header.differsFrom(info) ? header : undefined;
}

interface AnyFrameHeader extends FrameHeader {
  /**
   * Whether the frame names a sample rate or channel count other than STREAMINFO's, at the same
   * sample size: ffmpeg's decoder follows such a frame, where it refuses one of another size.
   */
  changesStream(info: StreamInfo): boolean;
  /** Whether the frame names a sample rate, channel count or sample size other than STREAMINFO's. */
  differsFrom(info: StreamInfo): boolean;
}

/** A valid (CRC-8) frame header at `o`, whatever stream parameters it names. */
function parseAnyFrameHeader(b: Uint8Array, o: number): AnyFrameHeader | undefined {
  if (o + 6 > b.byteLength || b[o] !== 0xff || (b[o + 1]! & 0xfe) !== 0xf8) return undefined;
  const blockCode = b[o + 2]! >> 4;
  const rateCode = b[o + 2]! & 0x0f;
  const channelCode = b[o + 3]! >> 4;
  const sizeCode = (b[o + 3]! >> 1) & 7;
  if (blockCode === 0 || rateCode === 15 || channelCode > 10 || sizeCode === 3 || (b[o + 3]! & 1) !== 0) return undefined;
  const layoutDiffers = (info: StreamInfo) =>
    (rateCode >= 1 && rateCode <= 11 && RATES[rateCode] !== info.sampleRate) || (channelCode < 8 ? channelCode + 1 : 2) !== info.channels;
  const sameSize = (info: StreamInfo) => SAMPLE_SIZES[sizeCode] === 0 || SAMPLE_SIZES[sizeCode] === info.bitsPerSample;
  const changesStream = (info: StreamInfo) => layoutDiffers(info) && sameSize(info);
  const differsFrom = (info: StreamInfo) => layoutDiffers(info) || !sameSize(info);
  const coded = codedNumber(b, o + 4);
  if (!coded) return undefined;
  let p = coded.end;
  let blockSize = BLOCK_SIZES[blockCode]!;
  if (blockSize < 0) {
    const extra = blockSize === -1 ? 1 : 2;
    if (p + extra > b.byteLength) return undefined;
    blockSize = (extra === 1 ? b[p]! : u16be(b, p)) + 1;
    p += extra;
  }
  p += rateCode === 12 ? 1 : rateCode >= 13 ? 2 : 0;
  if (p >= b.byteLength || crc8(b.subarray(o, p)) !== b[p]) return undefined;
  return { variable: (b[o + 1]! & 1) === 1, number: coded.value, blockSize, changesStream, differsFrom };
}

/** FLAC's UTF-8-like coded frame or sample number (up to 36 bits in 7 bytes). */
function codedNumber(b: Uint8Array, o: number): { value: number; end: number } | undefined {
  const first = b[o];
  if (first === undefined) return undefined;
  let extra = 0;
  while (extra < 8 && (first << extra) & 0x80) extra++;
  if (extra === 1 || extra === 8) return undefined;
  const length = extra === 0 ? 1 : extra;
  if (o + length > b.byteLength) return undefined;
  let value = extra === 0 ? first : first & (0x7f >> extra);
  for (let i = 1; i < length; i++) {
    const next = b[o + i]!;
    if ((next & 0xc0) !== 0x80) return undefined;
    value = value * 64 + (next & 0x3f);
  }
  return { value, end: o + length };
}

/**
 * The sample count up to the end of the last frame: the last frame header before `audioEnd`
 * whose CRC-16 covers exactly the bytes up to `audioEnd`. `samples` is undefined when there is
 * no such frame (the file ends inside a frame, or something that is not FLAC follows the
 * frames); `lastHeader` is then where the last frame header found would end, unproven.
 */
async function samplesUpToLastFrame(
  input: AudioInput,
  info: StreamInfo,
  first: FrameHeader,
  audioStart: number,
  audioEnd: number,
): Promise<{ samples?: number; lastHeader?: number }> {
  const window = Math.min(audioEnd - audioStart, lastFrameBound(info));
  const tail = await readExactly(input.source, audioEnd - window, window, 'FLAC frames');
  const footer = u16be(tail, tail.byteLength - 2);
  const endOf = (frame: FrameHeader) => (frame.variable ? frame.number + frame.blockSize : frame.number * first.blockSize + frame.blockSize);
  let lastHeader: number | undefined;
  for (let i = tail.byteLength - 8; i >= 0; i--) {
    if (tail[i] !== 0xff) continue;
    const frame = parseAnyFrameHeader(tail, i);
    if (!frame || frame.variable !== first.variable) continue;
    const whole = crc16(tail.subarray(i, tail.byteLength - 2)) === footer;
    // The decoder follows a frame's own rate and channel count, so the stream has no single one.
    if (whole && frame.changesStream(info)) throw new ProbeError('corrupt_file', 'the FLAC stream changes its sample rate or channel count after STREAMINFO');
    if (frame.differsFrom(info)) continue;
    lastHeader ??= endOf(frame);
    if (whole) return { samples: endOf(frame) };
  }
  return lastHeader === undefined ? {} : { lastHeader };
}

/** Bytes enough to hold the last frame: STREAMINFO's maximum frame size, else a block stored verbatim. */
function lastFrameBound(info: StreamInfo): number {
  const verbatim = Math.ceil((info.maxBlockSize * info.channels * (info.bitsPerSample + 1)) / 8) + 64;
  return Math.min(Math.max(info.maxFrameSize > 0 ? info.maxFrameSize + 16 : verbatim, 1 << 16), 1 << 24);
}
