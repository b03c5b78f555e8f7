import { ProbeError } from '../../errors.js';
import { BlockReader, readExactly } from './bytes.js';
import { DecoderNeeded, type AudioFacts, type AudioInput } from './facts.js';
import { containerMime } from './mime.js';
import { skipLeadingId3v2, trailingTagsStart } from './tags.js';

/**
 * TAK, as FFmpeg 5.1's tak demuxer, parser and decoder play it: the parser cuts the data at
 * every frame header (sync 0xA0FF, CRC-checked) and the decoder outputs the stream info's
 * frame length per frame, the header's sample count for the frame flagged last. Every frame is
 * walked: numbered in order, its data CRC-checked (so it decodes whole), and the sum must be the
 * stream info's sample count; frames missing at the end are truncation, anything else goes to
 * the decoder.
 */

const MIME_FORMAT = 'tak';
const BLOCK_END = 0;
const BLOCK_STREAMINFO = 1;
const BLOCK_ENCODER = 4;
const BLOCK_MD5 = 6;
const BLOCK_LAST_FRAME = 7;
/** Codec types the 5.1 decoder implements: mono/stereo and multichannel. */
const DECODED_CODECS = new Set([2, 4]);
const MAX_CHANNELS = 6;
/** Sample sizes set_bps_params maps to an output format (u8p, s16p, s32p); it refuses the rest. */
const DECODED_BITS = new Set([8, 16, 24]);
const FLAG_IS_LAST = 1;
const FLAG_HAS_INFO = 2;
const FLAG_HAS_METADATA = 4;
/** Longer than any frame header (sync, flags and number, last-frame count, stream info, CRC). */
const MAX_HEADER_BYTES = 64;
const SCAN_CHUNK = 1 << 16;

interface StreamInfo {
  codec: number;
  samples: number;
  dataType: number;
  sampleRate: number;
  bps: number;
  channels: number;
  /** Samples per frame (tak_get_nb_samples); undefined for a frame size type FFmpeg refuses. */
  frameSamples: number | undefined;
}


export async function readTak(input: AudioInput): Promise<AudioFacts> {
  const mime = containerMime(MIME_FORMAT, input.head, input.detection)!;
  const { end: start } = await skipLeadingId3v2(input.source, input.head);
  const { info, dataStart, lastFrameEnd } = await readMetadata(input, start + 4);
  checkDecodable(info);
  const size = await input.size();
  if (lastFrameEnd !== undefined && lastFrameEnd > size) {
    throw new ProbeError('truncated', `TAK last-frame block places the last frame's end at byte ${lastFrameEnd}, the file holds ${size}`);
  }
  const dataEnd = lastFrameEnd ?? (await trailingTagsStart(input.source, dataStart, size));
  // Frames missing at the end are truncation only when nothing follows them in the file; frames
  // that stop before a last-frame block's end or trailing tags are the decoder's to measure.
  const endsFile = dataEnd === size;
  const samples = await countFrameSamples(input, info, { start: dataStart, end: dataEnd, endsFile }, mime);
  if (samples < info.samples && endsFile) throw new ProbeError('truncated', `TAK stream info declares ${info.samples} samples, the frames in the file hold ${samples}`);
  if (samples !== info.samples) throw new DecoderNeeded(mime, `TAK frames hold ${samples} samples, the stream info ${info.samples}`);
  return { mime, codec: 'tak', sampleRate: info.sampleRate, channels: info.channels, bitDepth: info.bps, duration: samples / info.sampleRate };
}

/** tak_read_header: metadata blocks (type, 24-bit size, body with a CRC-24) up to the end block. */
async function readMetadata(input: AudioInput, pos: number) {
  let info: StreamInfo | undefined;
  let lastFrameEnd: number | undefined;
  for (;;) {
    const header = await readExactly(input.source, pos, 4, 'TAK metadata block header');
    const type = header[0]! & 0x7f;
    const size = header[1]! | (header[2]! << 8) | (header[3]! << 16);
    pos += 4;
    if (type === BLOCK_END) break;
    if (type === BLOCK_MD5 && size !== 19) throw new ProbeError('corrupt_file', `TAK MD5 block of ${size} bytes`);
    if (type === BLOCK_ENCODER && size <= 3) throw new ProbeError('corrupt_file', `TAK encoder block of ${size} bytes`);
    if (type === BLOCK_STREAMINFO || type === BLOCK_LAST_FRAME) {
      if (size <= 3) throw new ProbeError('corrupt_file', `TAK metadata block ${type} of ${size} bytes`);
      const body = await readExactly(input.source, pos, size, `TAK metadata block ${type}`);
      // ffmpeg only logs a bad block CRC and reads on: what it then plays is the decoder's to say.
      if (!hasValidCrc(body)) throw new DecoderNeeded(containerMime(MIME_FORMAT, input.head, input.detection)!, `TAK metadata block ${type} fails its CRC`);
      if (type === BLOCK_STREAMINFO) {
        if (info) throw new ProbeError('corrupt_file', 'TAK file with two stream info blocks');
        info = parseStreamInfo(new LsbBits(body));
      } else {
        if (size !== 11) throw new ProbeError('corrupt_file', `TAK last-frame block of ${size} bytes`);
        const bits = new LsbBits(body);
        lastFrameEnd = bits.read(40) + bits.read(24);
      }
    }
    pos += size;
  }
  if (!info) throw new DecoderNeeded(containerMime(MIME_FORMAT, input.head, input.detection)!, 'TAK file without a stream info block');
  // The last frame's position counts from the start of the audio data.
  return { info, dataStart: pos, lastFrameEnd: lastFrameEnd === undefined ? undefined : pos + lastFrameEnd };
}

/** What tak_decode_frame refuses for a frame with this stream info. */
function checkDecodable(info: StreamInfo): void {
  const refuse = (why: string): never => {
    throw new ProbeError('corrupt_file', `TAK stream ffmpeg cannot decode: ${why}`);
  };
  if (!DECODED_CODECS.has(info.codec)) throw new DecoderNeeded('audio/x-tak', `TAK codec type ${info.codec}`);
  if (info.dataType !== 0) refuse(`data type ${info.dataType}`);
  if ((info.codec === 2 && info.channels > 2) || info.channels > MAX_CHANNELS) refuse(`${info.channels} channels`);
  if (!DECODED_BITS.has(info.bps)) refuse(`${info.bps} bits per sample`);
  if (info.frameSamples === undefined) refuse('an invalid frame size');
}

/**
 * Walks the frames from `start` to `end` as the parser splits them, checking each one's number
 * and data CRC, and returns the samples the decoder outputs for them.
 */
async function countFrameSamples(input: AudioInput, info: StreamInfo, data: AudioData, mime: string): Promise<number> {
  const { start, end } = data;
  const reader = new BlockReader(input.source);
  const first = await reader.bytes(start, MAX_HEADER_BYTES);
  let frame = parseFrameHeader(first, 0, info);
  // The decoder learns the frame length from the first frame's stream info.
  if (!frame || frame.number !== 0 || !frame.hasInfo) {
    if (start >= end) throw new ProbeError('truncated', 'TAK file ends before its first frame');
    throw new DecoderNeeded(mime, `no TAK frame header where the audio data starts (byte ${start})`);
  }
  let samples = 0;
  let frameStart = start;
  for (;;) {
    const next = await findNextFrame(reader, frameStart + frame.headerBytes, end, info);
    const frameEnd = next?.offset ?? end;
    if (!next?.crcOk && !(next === undefined && (await dataCrcOk(reader, frameStart + frame.headerBytes, end)))) {
      if (next === undefined && !frame.last && data.endsFile) {
        throw new ProbeError('truncated', `TAK frame ${frame.number} is cut by the end of the file at byte ${end}`);
      }
      throw new DecoderNeeded(mime, `TAK frame ${frame.number} fails its data CRC`);
    }
    if (frame.last && next) throw new DecoderNeeded(mime, `TAK frames follow frame ${frame.number}, flagged last`);
    samples += frame.last ? frame.lastSamples : info.frameSamples!;
    if (!next) return samples;
    if (next.header.number !== frame.number + 1) throw new DecoderNeeded(mime, `TAK frame ${next.header.number} follows frame ${frame.number}`);
    frame = next.header;
    frameStart = frameEnd;
  }
}

interface AudioData {
  start: number;
  end: number;
  /** Nothing follows the audio data in the file. */
  endsFile: boolean;
}

interface FrameHeader {
  number: number;
  last: boolean;
  lastSamples: number;
  hasInfo: boolean;
  headerBytes: number;
}

/**
 * The next frame header after `from`, with whether the data CRC of the frame before it (its
 * last 3 bytes, over the bytes from `from`) holds. Undefined when no header follows before `end`.
 */
async function findNextFrame(reader: BlockReader, from: number, end: number, info: StreamInfo) {
  let crc = CRC24_INIT;
  // The last three bytes before `offset`: the CRC if a header starts there, else data it covers.
  const tail = [0, 0, 0];
  for (let chunkStart = from; chunkStart < end; chunkStart += SCAN_CHUNK) {
    const bytes = await reader.bytes(chunkStart, Math.min(SCAN_CHUNK + MAX_HEADER_BYTES, end - chunkStart));
    const scanned = Math.min(SCAN_CHUNK, bytes.byteLength);
    for (let i = 0; i < scanned; i++) {
      const offset = chunkStart + i;
      if (offset - from >= 3) {
        if (bytes[i] === 0xff && bytes[i + 1] === 0xa0) {
          const header = parseFrameHeader(bytes, i, info);
          if (header) return { offset, header, crcOk: crc === (tail[0]! | (tail[1]! << 8) | (tail[2]! << 16)) };
        }
        crc = crc24Byte(crc, tail[0]!);
      }
      tail.shift();
      tail.push(bytes[i]!);
    }
  }
  return undefined;
}

async function dataCrcOk(reader: BlockReader, from: number, end: number): Promise<boolean> {
  if (end - from < 4) return false;
  return hasValidCrc(await reader.bytes(from, end - from));
}

/** ff_tak_decode_frame_header plus the parser's header CRC check; undefined if either fails. */
function parseFrameHeader(bytes: Uint8Array, offset: number, info: StreamInfo): FrameHeader | undefined {
  const bits = new LsbBits(bytes.subarray(offset, offset + MAX_HEADER_BYTES));
  try {
    if (bits.read(16) !== 0xa0ff) return undefined;
    const flags = bits.read(3);
    const number = bits.read(21);
    let lastSamples = 0;
    if (flags & FLAG_IS_LAST) {
      lastSamples = bits.read(14) + 1;
      bits.read(2);
    }
    if (flags & FLAG_HAS_INFO) {
      if (!sameFormat(parseStreamInfo(bits), info)) return undefined;
      if (bits.read(6)) bits.read(25);
      bits.align();
    }
    if (flags & FLAG_HAS_METADATA) return undefined;
    const headerBytes = bits.bytesRead() + 3;
    if (headerBytes > bytes.byteLength - offset) return undefined;
    if (!hasValidCrc(bytes.subarray(offset, offset + headerBytes))) return undefined;
    return { number, last: (flags & FLAG_IS_LAST) !== 0, lastSamples, hasInfo: (flags & FLAG_HAS_INFO) !== 0, headerBytes };
  } catch {
    return undefined;
  }
}

/** A frame whose stream info changes the format would reconfigure the decoder mid-stream. */
const sameFormat = (a: StreamInfo, b: StreamInfo) =>
  a.codec === b.codec && a.dataType === b.dataType && a.sampleRate === b.sampleRate && a.bps === b.bps && a.channels === b.channels &&
  a.frameSamples === b.frameSamples;

/** tak_parse_streaminfo (tak.c). */
function parseStreamInfo(bits: LsbBits): StreamInfo {
  const codec = bits.read(6);
  bits.read(4); // profile
  const frameType = bits.read(4);
  const samples = bits.read(35);
  const dataType = bits.read(3);
  const sampleRate = bits.read(18) + 6000;
  const bps = bits.read(5) + 8;
  const channels = bits.read(4) + 1;
  if (bits.read(1)) {
    bits.read(5);
    if (bits.read(1)) for (let i = 0; i < channels; i++) bits.read(6);
  }
  return { codec, samples, dataType, sampleRate, bps, channels, frameSamples: frameSamplesFor(sampleRate, frameType) };
}

const FRAME_DURATION_QUANTS = [3, 4, 6, 8, 4096, 8192, 16384, 512, 1024, 2048];
const LAST_TIMED_TYPE = 3;

/** tak_get_nb_samples: types 0-3 are durations in 1/32 s, the others sample counts. */
function frameSamplesFor(sampleRate: number, type: number): number | undefined {
  const quant = FRAME_DURATION_QUANTS[type];
  if (quant === undefined) return undefined;
  const timed = (q: number) => Math.floor((sampleRate * q) / 32);
  const [samples, max] = type <= LAST_TIMED_TYPE ? [timed(quant), 16384] : [quant, timed(FRAME_DURATION_QUANTS[LAST_TIMED_TYPE]!)];
  return samples > 0 && samples <= max ? samples : undefined;
}

/** FFmpeg's little-endian bit reader: bits from the least significant end of each byte. */
class LsbBits {
  private bit = 0;

  constructor(private readonly bytes: Uint8Array) {}

  read(count: number): number {
    let value = 0;
    for (let i = 0; i < count; i++, this.bit++) {
      const byte = this.bytes[this.bit >> 3];
      if (byte === undefined) throw new RangeError('TAK bits run past the bytes');
      if ((byte >> (this.bit & 7)) & 1) value += 2 ** i;
    }
    return value;
  }

  align(): void {
    this.bit = (this.bit + 7) & ~7;
  }

  bytesRead(): number {
    return Math.ceil(this.bit / 8);
  }
}

/** TAK's CRC-24 (OpenPGP's: polynomial 0x864CFB, initial 0xB704CE), stored little-endian after the bytes. */
const CRC24_INIT = 0xb704ce;
const CRC24_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let byte = 0; byte < 256; byte++) {
    let crc = byte << 16;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x800000 ? ((crc << 1) ^ 0x864cfb) & 0xffffff : (crc << 1) & 0xffffff;
    table[byte] = crc;
  }
  return table;
})();

const crc24Byte = (crc: number, byte: number) => ((crc << 8) & 0xffffff) ^ CRC24_TABLE[(crc >> 16) ^ byte]!;

function hasValidCrc(bytes: Uint8Array): boolean {
  let crc = CRC24_INIT;
  const n = bytes.byteLength - 3;
  for (let i = 0; i < n; i++) crc = crc24Byte(crc, bytes[i]!);
  return crc === ((bytes[n + 2]! << 16) | (bytes[n + 1]! << 8) | bytes[n]!);
}
