/**
 * ALAC as ffmpeg's alac decoder (libavcodec/alac.c) sees it: the ALACSpecificConfig ("magic
 * cookie") that sets its frame length, sample size, channels and rate (shared by the MP4 and
 * Matroska readers), and a packet's bitstream, parsed to find whether and to how many samples
 * the packet decodes.
 */

/** The 24-byte ALACSpecificConfig, in the order Apple's spec gives it. */
export interface AlacConfig {
  /** Samples of a frame without an explicit count (max_samples_per_frame). */
  frameLength: number;
  /** bits_per_raw_sample. */
  bitDepth: number;
  riceHistoryMult: number;
  riceInitialHistory: number;
  riceLimit: number;
  channels: number;
  sampleRate: number;
}

export const ALAC_CONFIG_SIZE = 24;

/** The config at the start of `bytes` (MP4: the alac box after its version and flags; Matroska: CodecPrivate). */
export function parseAlacConfig(bytes: Uint8Array): AlacConfig | undefined {
  if (bytes.byteLength < ALAC_CONFIG_SIZE) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return {
    frameLength: view.getUint32(0),
    bitDepth: bytes[5]!,
    riceHistoryMult: bytes[6]!,
    riceInitialHistory: bytes[7]!,
    riceLimit: bytes[8]!,
    channels: bytes[9]!,
    sampleRate: view.getUint32(20),
  };
}

const MAX_FRAME_LENGTH = 4096 * 4096;
const DECODED_DEPTHS = [16, 20, 24, 32];
const MAX_CHANNELS = 8;

/**
 * Why ffmpeg's decoder would not open with this config, or would take its channel count from the
 * container instead (a count outside 1-8); undefined when it decodes as the config says.
 */
export function alacConfigProblem(config: AlacConfig): string | undefined {
  if (config.frameLength === 0 || config.frameLength > MAX_FRAME_LENGTH) return `ALAC frame length ${config.frameLength}`;
  if (!DECODED_DEPTHS.includes(config.bitDepth)) return `ALAC sample size ${config.bitDepth}`;
  if (config.channels < 1 || config.channels > MAX_CHANNELS) return `ALAC channel count ${config.channels}`;
  if (config.sampleRate === 0) return 'ALAC sample rate 0';
  return undefined;
}

const ELEMENT_SCE = 0;
const ELEMENT_CPE = 1;
const ELEMENT_LFE = 3;
const ELEMENT_END = 7;
/** ff_alac_channel_layout_offsets: where the elements' channels go, by channel count. */
const LAYOUT_OFFSETS = [[0], [0, 1], [2, 0, 1], [2, 0, 1, 3], [2, 0, 1, 3, 4], [2, 0, 1, 4, 5, 3], [2, 0, 1, 4, 5, 6, 3], [2, 6, 7, 0, 1, 4, 5, 3]];
/** get_bits.h reads at most this many bits at once (show_bits). */
const MAX_SHOW_BITS = 25;

/**
 * Samples a packet decodes to, or undefined when ffmpeg's decoder (alac_decode_frame) would
 * output nothing for it or may treat it otherwise. The packet's bitstream is walked as the
 * decoder parses it (element headers, predictor tables, Rice-coded residue, the END element):
 * its errors all come from that parse (LPC prediction cannot fail), so a packet that parses
 * decodes to its first element's count (the explicit one when has_size is set, else the
 * config's frame length).
 */
export function alacPacketSamples(packet: Uint8Array, config: AlacConfig): number | undefined {
  const bits = new BitReader(packet);
  let samples = 0;
  let channel = 0;
  while (bits.left() >= 3) {
    const element = bits.read(3);
    if (element === ELEMENT_END) return channel === config.channels && samples > 0 ? samples : undefined;
    if (element !== ELEMENT_SCE && element !== ELEMENT_CPE && element !== ELEMENT_LFE) return undefined;
    const channels = element === ELEMENT_CPE ? 2 : 1;
    if (channel + channels > config.channels || LAYOUT_OFFSETS[config.channels - 1]![channel]! + channels > config.channels) return undefined;
    const count = elementSamples(bits, channels, samples, config);
    // decode_element's errors end the packet, unless they come with the last bit (then the END is missing anyway).
    if (count === undefined) return undefined;
    samples = count;
    channel += channels;
  }
  return undefined; // no END element
}

/** The bytes that hold a packet's first element header (with its explicit sample count). */
export const ALAC_HEADER_BYTES = 7;

/**
 * The sample count a packet's first element header states (the explicit count when has_size is
 * set, else the config's frame length), or undefined for a header the decoder refuses. The
 * residue after it is not read: for readers that take each packet to decode, as encoders write
 * them, and only need its length.
 */
export function alacHeaderSamples(head: Uint8Array, config: AlacConfig): number | undefined {
  const bits = new BitReader(head);
  const element = bits.read(3);
  if (element !== ELEMENT_SCE && element !== ELEMENT_CPE && element !== ELEMENT_LFE) return undefined;
  const channels = element === ELEMENT_CPE ? 2 : 1;
  if (channels > config.channels) return undefined;
  const header = elementHeader(bits, channels, config);
  return header && bits.left() >= 0 ? header.samples : undefined;
}

interface ElementHeader {
  samples: number;
  compressed: boolean;
  extraBits: number;
  bps: number;
}

/** decode_element's header fields after the element type, checked as it checks them. */
function elementHeader(bits: BitReader, channels: number, config: AlacConfig): ElementHeader | undefined {
  bits.skip(4 + 12); // element instance tag, unused header bits
  const hasSize = bits.read(1) === 1;
  const extraBits = bits.read(2) * 8;
  const bps = config.bitDepth - extraBits + channels - 1;
  if (bps > 32 || bps < 1) return undefined;
  const compressed = bits.read(1) === 0;
  const samples = hasSize ? bits.read(32) : config.frameLength;
  if (samples === 0 || samples > config.frameLength) return undefined;
  return { samples, compressed, extraBits, bps };
}

/** One element (decode_element): its sample count, or undefined where the decoder fails. */
function elementSamples(bits: BitReader, channels: number, previous: number, config: AlacConfig): number | undefined {
  const header = elementHeader(bits, channels, config);
  if (!header || (previous !== 0 && header.samples !== previous)) return undefined;
  const { samples, compressed, extraBits, bps } = header;
  if (!compressed) {
    for (let i = 0; i < samples; i++) {
      if (bits.left() <= 0) return undefined;
      bits.skip(channels * config.bitDepth);
    }
    return samples;
  }
  if (config.riceLimit === 0) return undefined;
  bits.skip(16); // decorrelation shift and left weight
  const historyMults: number[] = [];
  for (let ch = 0; ch < channels; ch++) {
    bits.skip(4); // prediction type
    const quant = bits.read(4);
    historyMults.push(bits.read(3));
    const order = bits.read(5);
    if (order >= config.frameLength || quant === 0) return undefined;
    bits.skip(16 * order);
  }
  if (extraBits) {
    for (let i = 0; i < samples; i++) {
      if (bits.left() <= 0) return undefined;
      bits.skip(channels * extraBits);
    }
  }
  for (const mult of historyMults) {
    if (!walkRice(bits, samples, bps, Math.trunc((mult * config.riceHistoryMult) / 4), config)) return undefined;
  }
  return samples;
}

/** rice_decompress: the adaptive Rice code of one channel's residue, in unsigned 32-bit arithmetic as in C. */
function walkRice(bits: BitReader, samples: number, bps: number, historyMult: number, config: AlacConfig): boolean {
  let history = config.riceInitialHistory;
  let signModifier = 0;
  for (let i = 0; i < samples; i++) {
    if (bits.left() <= 0) return false;
    const k = Math.min(log2((history >>> 9) + 3), config.riceLimit);
    const x = riceScalar(bits, k, bps);
    if (x === undefined) return false;
    const value = (x + signModifier) >>> 0;
    signModifier = 0;
    history = value > 0xffff ? 0xffff : (history + Math.imul(value, historyMult) - (Math.imul(history, historyMult) >>> 9)) >>> 0;
    if (history < 128 && i + 1 < samples) {
      const blockK = Math.min(7 - log2(history) + ((history + 16) >> 6), config.riceLimit);
      const blockSize = riceScalar(bits, blockK, 16);
      if (blockSize === undefined) return false;
      if (blockSize > 0) i += Math.min(blockSize, samples - i - 1);
      if (blockSize <= 0xffff) signModifier = 1;
      history = 0;
    }
  }
  return true;
}

/** decode_scalar: a unary prefix of at most 9, then k bits (one fewer for small values), or an escaped raw value. */
function riceScalar(bits: BitReader, k: number, bps: number): number | undefined {
  // get_unary_0_9: ones up to the first zero, at most nine of them.
  const ones = Math.min(Math.clz32(~(bits.peek(9) << 23)), 9);
  bits.skip(ones < 9 ? ones + 1 : 9);
  if (ones > 8) return bits.read(bps);
  if (k === 1) return ones;
  if (k > MAX_SHOW_BITS) return undefined; // beyond what show_bits reads: not modelled
  const extra = bits.peek(k);
  const x = (ones << k) - ones;
  if (extra > 1) {
    bits.skip(k);
    return x + extra - 1;
  }
  bits.skip(k - 1);
  return x;
}

/** av_log2: the index of the highest set bit (0 for 0). */
const log2 = (value: number) => (value > 0 ? 31 - Math.clz32(value) : 0);

/** Zero bytes after the packet, as ffmpeg pads it: reads past the end give zeros. */
const PADDING = 8;

/** MSB-first bits; reads past the end give zeros (ffmpeg's padding) and a negative left(). */
class BitReader {
  private bit = 0;
  private readonly bytes: Uint8Array;
  private readonly size: number;

  constructor(packet: Uint8Array) {
    this.bytes = new Uint8Array(packet.byteLength + PADDING);
    this.bytes.set(packet);
    this.size = packet.byteLength * 8;
  }

  /** The next n bits (n <= 32) without consuming them. */
  peek(n: number): number {
    if (n > MAX_SHOW_BITS) return this.peek(16) * 2 ** (n - 16) + this.peekAt(this.bit + 16, n - 16);
    return this.peekAt(this.bit, n);
  }

  read(n: number): number {
    const value = this.peek(n);
    this.bit += n;
    return value;
  }

  skip(n: number): void {
    this.bit += n;
  }

  left(): number {
    return this.size - this.bit;
  }

  /** n <= 25 bits from `bit`: the 32 bits of the four bytes there, shifted into place. */
  private peekAt(bit: number, n: number): number {
    if (n === 0) return 0;
    const at = bit >> 3;
    if (at + 4 > this.bytes.byteLength) return 0; // far past the end, where reads have already failed
    const b = this.bytes;
    const word = (b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!;
    return (word << (bit & 7)) >>> (32 - n);
  }
}
