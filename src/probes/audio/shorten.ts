import { ProbeError } from '../../errors.js';
import { ascii, readExactly, u16be, u16le, u32be, u32le } from './bytes.js';
import { DecoderNeeded, type AudioFacts, type AudioInput } from './facts.js';
import { containerMime } from './mime.js';
import { skipLeadingId3v2 } from './tags.js';

/**
 * Shorten, as FFmpeg 5.1's shn demuxer and shorten decoder play it: no header counts the
 * samples, the decoder outputs one frame of the current block size for every block of all
 * channels until the quit command. So the whole bitstream is walked (every Rice code read,
 * none reconstructed), block by block; the sum must be what the WAV or AIFF header carried in
 * the stream declares, else the decoder decides. Large files go to the decoder, which walks
 * them faster.
 */

/** Beyond this the bit walk costs more than ffmpeg's decoder. */
const MAX_WALKED_BYTES = 4 * 1024 * 1024;

const ULONGSIZE = 2;
const TYPESIZE = 4;
const CHANSIZE = 0;
const LPCQSIZE = 2;
const ENERGYSIZE = 3;
const BITSHIFTSIZE = 2;
const NSKIPSIZE = 1;
const LPCQUANT = 5;
const FNSIZE = 2;
const VERBATIM_CKSIZE_SIZE = 5;
const VERBATIM_BYTE_SIZE = 8;
const DEFAULT_BLOCK_SIZE = 256;
const MAX_BLOCKSIZE = 65535;
const MAX_CHANNELS = 8;
const NWRAP = 3;
const CANONICAL_HEADER_SIZE = 44;
const OUT_BUFFER_SIZE = 16384;

const FN = { DIFF3: 3, QUIT: 4, BLOCKSIZE: 5, BITSHIFT: 6, QLPC: 7, ZERO: 8, VERBATIM: 9 } as const;
/** Sample types the decoder outputs (U8, S16HL, S16LH), with their decoded sample size. */
const DECODED_TYPES = new Map([[2, 8], [3, 16], [5, 16]]);

export async function readShorten(input: AudioInput): Promise<AudioFacts> {
  const mime = containerMime('shn', input.head, input.detection)!;
  const { end: start } = await skipLeadingId3v2(input.source, input.head);
  const size = (await input.size()) - start;
  if (size > MAX_WALKED_BYTES) throw new DecoderNeeded(mime, `Shorten stream of ${size} bytes: the decoder walks it faster`);
  const bits = new Rice(await readExactly(input.source, start, size, 'Shorten stream'));
  try {
    const stream = readHeader(bits, mime);
    const format = readEmbeddedHeader(bits, mime);
    const samples = countBlocks(bits, stream, mime);
    if (samples < format.frames) {
      throw new ProbeError('truncated', `the embedded header declares ${format.frames} samples, the Shorten blocks in the file hold ${samples}`);
    }
    if (samples !== format.frames) throw new DecoderNeeded(mime, `Shorten blocks hold ${samples} samples, the embedded header declares ${format.frames}`);
    return { mime, codec: 'shorten', sampleRate: format.sampleRate, channels: stream.channels, bitDepth: stream.bitDepth, duration: samples / format.sampleRate };
  } catch (error) {
    if (error instanceof EndOfBits) throw new ProbeError('truncated', 'the Shorten stream ends inside a block');
    throw error;
  }
}

interface StreamHeader {
  version: number;
  channels: number;
  blockSize: number;
  nwrap: number;
  bitDepth: number;
}

/** read_header (shorten.c) and what shn_probe demands. */
function readHeader(bits: Rice, mime: string): StreamHeader {
  if (bits.read(32) !== 0x616a6b67) throw new ProbeError('corrupt_file', 'no Shorten signature');
  const version = bits.read(8);
  if (version > 3) throw new DecoderNeeded(mime, `Shorten version ${version}`);
  const uint = (k: number) => {
    const width = version === 0 ? k : bits.unsigned(ULONGSIZE);
    if (width > 31) throw new ProbeError('corrupt_file', `Shorten field width ${width}`);
    return bits.unsigned(width);
  };
  const type = uint(TYPESIZE);
  const channels = uint(CHANSIZE);
  let blockSize = DEFAULT_BLOCK_SIZE;
  let maxLpc = 0;
  if (version > 0) {
    blockSize = uint(Math.log2(DEFAULT_BLOCK_SIZE));
    maxLpc = uint(LPCQSIZE);
    const nmean = uint(0);
    const skip = uint(NSKIPSIZE);
    if (maxLpc > 1024 || nmean > 32768) throw new ProbeError('corrupt_file', `Shorten header declares ${maxLpc} LPC coefficients, ${nmean} means`);
    bits.skip(skip * 8);
  }
  const bitDepth = DECODED_TYPES.get(type);
  if (bitDepth === undefined) throw new ProbeError('corrupt_file', `Shorten sample type ${type}, which ffmpeg does not decode`);
  if (channels < 1 || channels > MAX_CHANNELS) throw new ProbeError('corrupt_file', `Shorten header declares ${channels} channels`);
  if (blockSize < 1 || blockSize > MAX_BLOCKSIZE) throw new ProbeError('corrupt_file', `Shorten header declares blocks of ${blockSize} samples`);
  return { version, channels, blockSize, nwrap: Math.max(NWRAP, maxLpc), bitDepth };
}

interface EmbeddedFormat {
  sampleRate: number;
  /** Sample frames the WAV data chunk or the AIFF COMM chunk declares. */
  frames: number;
}

/** The verbatim WAV or AIFF header the stream must start with (decode_wave_header / decode_aiff_header). */
function readEmbeddedHeader(bits: Rice, mime: string): EmbeddedFormat {
  if (bits.unsigned(FNSIZE) !== FN.VERBATIM) throw new ProbeError('corrupt_file', 'the Shorten stream does not start with its WAV or AIFF header');
  const length = bits.unsigned(VERBATIM_CKSIZE_SIZE);
  if (length < CANONICAL_HEADER_SIZE || length >= OUT_BUFFER_SIZE) throw new ProbeError('corrupt_file', `Shorten embedded header of ${length} bytes`);
  const header = Uint8Array.from({ length }, () => bits.unsigned(VERBATIM_BYTE_SIZE) & 0xff);
  const format = ascii(header, 0) === 'RIFF' ? waveFormat(header) : ascii(header, 0) === 'FORM' ? aiffFormat(header) : undefined;
  if (!format) throw new DecoderNeeded(mime, `Shorten embedded header ${JSON.stringify(ascii(header, 0))} states no sample count`);
  return format;
}

function waveFormat(header: Uint8Array): EmbeddedFormat | undefined {
  if (ascii(header, 8) !== 'WAVE') throw new ProbeError('corrupt_file', 'Shorten embedded RIFF header is not WAVE');
  let sampleRate: number | undefined;
  let frameBytes = 0;
  for (let pos = 12; pos + 8 <= header.byteLength; pos += 8 + u32le(header, pos + 4)) {
    const id = ascii(header, pos);
    if (id === 'fmt ' && pos + 24 <= header.byteLength) {
      if (u16le(header, pos + 8) !== 1) throw new ProbeError('corrupt_file', 'Shorten embedded WAV header of a format ffmpeg does not decode');
      sampleRate = u32le(header, pos + 12);
      frameBytes = u16le(header, pos + 20);
      const bps = u16le(header, pos + 22);
      if (bps !== 8 && bps !== 16) throw new ProbeError('corrupt_file', `Shorten embedded WAV header of ${bps} bits per sample`);
    }
    if (id === 'data' && sampleRate && frameBytes && u32le(header, pos + 4) % frameBytes === 0) {
      return { sampleRate, frames: u32le(header, pos + 4) / frameBytes };
    }
  }
  return undefined;
}

function aiffFormat(header: Uint8Array): EmbeddedFormat | undefined {
  if (!['AIFF', 'AIFC'].includes(ascii(header, 8))) throw new ProbeError('corrupt_file', 'Shorten embedded FORM header is not AIFF');
  for (let pos = 12; pos + 8 <= header.byteLength; pos += 8 + u32be(header, pos + 4) + (u32be(header, pos + 4) & 1)) {
    if (ascii(header, pos) !== 'COMM' || pos + 26 > header.byteLength) continue;
    const bps = u16be(header, pos + 14);
    if (bps !== 8 && bps !== 16) throw new ProbeError('corrupt_file', `Shorten embedded AIFF header of ${bps} bits per sample`);
    return { sampleRate: extendedRate(header, pos + 16), frames: u32be(header, pos + 10) };
  }
  return undefined;
}

/** decode_aiff_header's reading of the 80-bit float sample rate. */
function extendedRate(b: Uint8Array, o: number): number {
  const exp = u16be(b, o) - 16383 - 63;
  if (exp < -63 || exp > 63) throw new ProbeError('corrupt_file', 'Shorten embedded AIFF sample rate out of range');
  const mantissa = (BigInt(u32be(b, o + 2)) << 32n) | BigInt(u32be(b, o + 6));
  const rate = exp >= 0 ? mantissa << BigInt(exp) : (mantissa + (1n << BigInt(-exp - 1))) >> BigInt(-exp);
  const value = Number(BigInt.asIntN(32, rate));
  if (value < 1) throw new ProbeError('corrupt_file', `Shorten embedded AIFF sample rate ${value}`);
  return value;
}

/**
 * shorten_decode_frame's command loop: each call decodes one block of every channel and
 * outputs it at the current block size; the quit command, or fewer bits than a command needs,
 * ends the stream. Anything the decoder would stop at or reconfigure for mid-block goes to the
 * decoder.
 */
function countBlocks(bits: Rice, stream: StreamHeader, mime: string): number {
  const { version, channels, nwrap } = stream;
  let blockSize = stream.blockSize;
  let channel = 0;
  let samples = 0;
  const odd = (why: string): never => {
    throw new DecoderNeeded(mime, `Shorten stream ${why}`);
  };
  for (;;) {
    const command = bits.left() < 3 + FNSIZE ? undefined : bits.unsignedOrEnd(FNSIZE);
    if (command === undefined) {
      if (channel !== 0) throw new EndOfBits();
      return samples;
    }
    if (command === FN.QUIT) {
      if (channel !== 0) odd('quits inside a block');
      return samples;
    }
    if (command === FN.VERBATIM) {
      const length = bits.unsigned(VERBATIM_CKSIZE_SIZE);
      if (length > bits.left()) odd(`holds a verbatim chunk of ${length} bytes past its end`);
      for (let i = 0; i < length; i++) bits.unsigned(VERBATIM_BYTE_SIZE);
    } else if (command === FN.BITSHIFT) {
      if (bits.unsigned(BITSHIFTSIZE) > 32) odd('shifts by more than 32 bits');
    } else if (command === FN.BLOCKSIZE) {
      const width = version === 0 ? Math.floor(Math.log2(blockSize)) : bits.unsigned(ULONGSIZE);
      const next = width > 31 ? 0 : bits.unsigned(width);
      if (next < 1 || next > blockSize || channel !== 0) odd(`changes its block size from ${blockSize} to ${next}`);
      blockSize = next;
    } else if (command <= FN.DIFF3 || command === FN.QLPC || command === FN.ZERO) {
      skipChannelBlock(bits, command, version, nwrap, blockSize, odd);
      if (++channel === channels) {
        samples += blockSize;
        channel = 0;
      }
    } else {
      odd(`holds unknown command ${command}`);
    }
  }
}

/** The Rice codes of one channel's block: energy, LPC coefficients and a residual per sample. */
function skipChannelBlock(bits: Rice, command: number, version: number, nwrap: number, blockSize: number, odd: (why: string) => never): void {
  if (command === FN.ZERO) return;
  const residual = bits.unsigned(ENERGYSIZE) - (version === 0 ? 1 : 0);
  if (residual < 0 || residual > 30) odd(`codes residuals in ${residual} bits`);
  if (command === FN.QLPC) {
    const order = bits.unsigned(LPCQSIZE);
    if (order > nwrap) odd(`predicts from ${order} samples`);
    for (let i = 0; i < order; i++) bits.unsigned(LPCQUANT + 1);
  }
  for (let i = 0; i < blockSize; i++) bits.unsigned(residual + 1);
}

class EndOfBits extends Error {}

/** MSB-first bits with the decoder's Rice codes: a run of zeros ended by a one, then k low bits. */
class Rice {
  private pos = 0;
  private readonly total: number;

  constructor(private readonly bytes: Uint8Array) {
    this.total = bytes.byteLength * 8;
  }

  left(): number {
    return this.total - this.pos;
  }

  skip(count: number): void {
    this.pos += count;
    if (this.pos > this.total) throw new EndOfBits();
  }

  read(count: number): number {
    if (count === 0) return 0;
    if (this.pos + count > this.total) throw new EndOfBits();
    if (count > 24) return this.read(count - 16) * 0x10000 + this.read(16);
    const b = this.bytes;
    const i = this.pos >> 3;
    // Four bytes from the one holding the next bit; past the end they read as zeros.
    const window = (b[i]! << 24) | ((b[i + 1] ?? 0) << 16) | ((b[i + 2] ?? 0) << 8) | (b[i + 3] ?? 0);
    const value = (window << (this.pos & 7)) >>> (32 - count);
    this.pos += count;
    return value;
  }

  /** A code that the end of the stream cuts reads as nothing (the decoder's -1). */
  unsignedOrEnd(k: number): number | undefined {
    try {
      return this.unsigned(k);
    } catch (error) {
      if (error instanceof EndOfBits) return undefined;
      throw error;
    }
  }

  /** get_ur_golomb_shorten: (zeros before the first one) << k, plus the k bits after it. */
  unsigned(k: number): number {
    let zeros = 0;
    for (;;) {
      if (this.pos >= this.total) throw new EndOfBits();
      const offset = this.pos & 7;
      const rest = (this.bytes[this.pos >> 3]! << offset) & 0xff;
      if (rest === 0) {
        zeros += 8 - offset;
        this.pos += 8 - offset;
        continue;
      }
      const lead = Math.clz32(rest) - 24;
      zeros += lead;
      this.pos += lead + 1;
      return zeros * 2 ** k + this.read(k);
    }
  }
}
