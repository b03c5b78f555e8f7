/**
 * ALAC as ffmpeg's alac decoder (libavcodec/alac.c) sees it: the ALACSpecificConfig ("magic
 * cookie") that sets its frame length, sample size, channels and rate, and the header of a
 * packet's first element, which says how many samples the packet decodes to. Shared by the MP4
 * and Matroska readers.
 */

/** The 24-byte ALACSpecificConfig, in the order Apple's spec gives it. */
export interface AlacConfig {
  /** Samples of a frame without an explicit count (max_samples_per_frame). */
  frameLength: number;
  /** bits_per_raw_sample. */
  bitDepth: number;
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

/**
 * Samples a packet decodes to, read from its first element's header: the explicit count when
 * the has_size flag is set, else the config's frame length. Undefined for a packet the decoder
 * rejects or may output nothing for (no first element, an element it refuses, a count out of
 * range, a predictor it refuses): those are the decoder's business. The rest of the packet is
 * Rice-coded residue that only decoding walks; the decoder outputs every frame whose first
 * element header is sound, as the encoders write them.
 */
export function alacPacketSamples(packet: Uint8Array, config: AlacConfig): number | undefined {
  const bits = new BitReader(packet);
  if (packet.byteLength < 4) return undefined;
  const element = bits.read(3);
  if (element !== ELEMENT_SCE && element !== ELEMENT_CPE && element !== ELEMENT_LFE) return undefined;
  const channels = element === ELEMENT_CPE ? 2 : 1;
  if (channels > config.channels) return undefined;
  bits.skip(4 + 12); // element instance tag, unused header bits
  const hasSize = bits.read(1) === 1;
  const extraBits = bits.read(2) * 8;
  const bps = config.bitDepth - extraBits + channels - 1;
  if (bps > 32 || bps < 1) return undefined;
  const compressed = bits.read(1) === 0;
  const samples = hasSize ? bits.read(32) : config.frameLength;
  if (samples === 0 || samples > config.frameLength) return undefined;
  if (compressed && !predictorsSound(bits, channels, config)) return undefined;
  if (!compressed && bits.left() < samples * channels * config.bitDepth) return undefined;
  return bits.left() >= 0 ? samples : undefined;
}

/** The compressed element's predictor headers, checked as decode_element checks them. */
function predictorsSound(bits: BitReader, channels: number, config: AlacConfig): boolean {
  if (config.riceLimit === 0) return false;
  bits.skip(16); // decorrelation shift and left weight
  for (let ch = 0; ch < channels; ch++) {
    bits.skip(4); // prediction type
    const quant = bits.read(4);
    bits.skip(3); // Rice history multiplier
    const order = bits.read(5);
    if (order >= config.frameLength || quant === 0) return false;
    bits.skip(16 * order);
  }
  return bits.left() > 0;
}

/** MSB-first bits; reads past the end give zeros and a negative left(). */
class BitReader {
  private bit = 0;

  constructor(private readonly bytes: Uint8Array) {}

  read(n: number): number {
    let value = 0;
    for (let i = 0; i < n; i++, this.bit++) value = value * 2 + (((this.bytes[this.bit >> 3] ?? 0) >> (7 - (this.bit & 7))) & 1);
    return value;
  }

  skip(n: number): void {
    this.bit += n;
  }

  left(): number {
    return this.bytes.byteLength * 8 - this.bit;
  }
}
