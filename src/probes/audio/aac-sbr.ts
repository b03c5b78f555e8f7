import { SCALEFACTOR_CODE, SPECTRAL_CODES, SWB_OFFSETS_LONG, SWB_OFFSETS_SHORT, type HuffmanTable } from './aac-tables.js';

/**
 * Whether FFmpeg 5.1's AAC decoder turns an AAC-LC stream without explicit SBR signalling into
 * HE-AAC. Its aac_decode_frame_int parses each raw_data_block; a FIL element whose extension
 * payload is SBR data (EXT_SBR_DATA / EXT_SBR_DATA_CRC) after a channel element switches the
 * decoder to SBR (output rate twice the core rate, 2048 samples a frame) while the output
 * configuration is not yet locked, which it becomes at the end of the first frame that decodes
 * audio; a mono core is then set up for parametric stereo (ps -1 -> 1) and outputs 2 channels.
 *
 * This module walks that first raw_data_block exactly as the decoder's bitstream syntax goes
 * (ics_info, section_data, scalefactors, pulse, TNS, gain control, spectral data with the 11
 * codebooks, CPE ms_mask, DSE, FIL) and reports whether it carries SBR, or `unsure` for anything
 * the decoder would treat otherwise (an error it would recover from on a later frame, an element
 * other than the one the channel configuration names, bytes left after END, ...).
 */

export type SbrVerdict = { sbr: boolean } | { unsure: string };

/** The core stream as the decoder is configured before the first frame. */
export interface AacCore {
  /** Sampling frequency index, 6..12 (24000 .. 7350 Hz). */
  samplingIndex: number;
  /** Channel configuration 1 (one SCE) or 2 (one CPE). */
  channelConfig: 1 | 2;
}

const enum Element {
  SCE = 0,
  CPE = 1,
  DSE = 4,
  FIL = 6,
  END = 7,
}

const EIGHT_SHORT_SEQUENCE = 2;
const NOISE_BT = 13;
const ESC_BT = 11;
const EXT_DYNAMIC_RANGE = 11;
const EXT_SBR_DATA = 13;
const EXT_SBR_DATA_CRC = 14;
/** FFmpeg's MAX_CHANNELS, which bounds the DRC channel exclusion mask. */
const MAX_CHANNELS = 64;

/** Thrown inside the walk where the decoder would fail the frame or do something not modelled. */
class Unsure extends Error {}

/** MSB-first bit reader over one packet; reading past its end fails the frame, as the decoder's checks do. */
class Bits {
  pos = 0;
  readonly length: number;
  constructor(private readonly bytes: Uint8Array) {
    this.length = bytes.byteLength * 8;
  }

  get left(): number {
    return this.length - this.pos;
  }

  read(n: number): number {
    if (this.pos + n > this.length) throw new Unsure('the frame ends inside an element');
    let value = 0;
    while (n > 0) {
      const available = 8 - (this.pos & 7);
      const take = available < n ? available : n;
      value = value * (1 << take) + ((this.bytes[this.pos >> 3]! >> (available - take)) & ((1 << take) - 1));
      this.pos += take;
      n -= take;
    }
    return value;
  }

  /** The next 10 bits, zeros past the end. */
  private peek10(): number {
    const { bytes, pos } = this;
    const i = pos >> 3;
    const window = ((bytes[i] ?? 0) << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    return (window >> (14 - (pos & 7))) & 0x3ff;
  }

  /** One Huffman symbol: the first 10 bits through the code's table, longer codes on through its trie. */
  symbol(code: HuffmanCode): number {
    const entry = code.first[this.peek10()]!;
    if (entry >= 0) {
      const length = entry >> 16;
      if (this.pos + length > this.length) throw new Unsure('the frame ends inside a Huffman code');
      this.pos += length;
      return entry & 0xffff;
    }
    const { bytes, length } = this;
    let node = ~entry;
    for (let pos = this.pos + FIRST_BITS; pos < length; pos++) {
      const child = code.trie[2 * node + ((bytes[pos >> 3]! >> (7 - (pos & 7))) & 1)]!;
      if (child < 0) {
        this.pos = pos + 1;
        return ~child;
      }
      node = child;
    }
    throw new Unsure('the frame ends inside a Huffman code');
  }

  skip(n: number): void {
    if (n < 0 || this.pos + n > this.length) throw new Unsure('the frame ends inside an element');
    this.pos += n;
  }
}

/** Bits a Huffman code's first table resolves at once. */
const FIRST_BITS = 10;

/**
 * A Huffman code ready to decode: `first` maps the next 10 bits to (length << 16 | symbol), or
 * for longer codes to ~node of `trie`, a binary trie whose node n has its children at 2n and
 * 2n+1 and whose leaves hold ~symbol.
 */
interface HuffmanCode {
  first: Int32Array;
  trie: Int32Array;
}

const codes = new Map<HuffmanTable, HuffmanCode>();

function codeOf(table: HuffmanTable): HuffmanCode {
  let code = codes.get(table);
  if (code) return code;
  const [words, lengths] = table;
  const nodes: number[] = [0, 0];
  const first = new Int32Array(1 << FIRST_BITS);
  words.forEach((word, symbol) => {
    const length = lengths[symbol]!;
    if (length <= FIRST_BITS) first.fill((length << 16) | symbol, word << (FIRST_BITS - length), (word + 1) << (FIRST_BITS - length));
    let node = 0;
    for (let b = length - 1; b >= 0; b--) {
      const slot = 2 * node + ((word >> b) & 1);
      if (b === 0) nodes[slot] = ~symbol;
      else {
        if (!nodes[slot]) {
          nodes[slot] = nodes.length / 2;
          nodes.push(0, 0);
        }
        node = nodes[slot]!;
      }
      if (length > FIRST_BITS && b === length - FIRST_BITS) first[word >> b] = ~node;
    }
  });
  code = { first, trie: Int32Array.from(nodes) };
  codes.set(table, code);
  return code;
}

/** What decode_ics_info leaves for the rest of the channel stream. */
interface IcsInfo {
  windowSequence: number;
  short: boolean;
  maxSfb: number;
  groupLengths: number[];
  offsets: readonly number[];
}

export function firstFrameSbr(packet: Uint8Array, core: AacCore): SbrVerdict {
  try {
    return walkRawDataBlock(new Bits(packet), packet, core);
  } catch (error) {
    if (error instanceof Unsure) return { unsure: error.message };
    throw error;
  }
}

/** aac_decode_frame_int's element loop, for a configuration of one SCE or one CPE. */
function walkRawDataBlock(bits: Bits, packet: Uint8Array, core: AacCore): SbrVerdict {
  if (packet.byteLength >= 2 && packet[0] === 0xff && packet[1]! >> 4 === 0xf) throw new Unsure('the packet starts with an ADTS sync word');
  const expected = core.channelConfig === 1 ? Element.SCE : Element.CPE;
  let channelElements = 0;
  let sbr = false;
  for (let type = bits.read(3); type !== Element.END; type = bits.read(3)) {
    const id = bits.read(4);
    if (type === expected) {
      // get_che maps exactly one element of the configured kind; a second one is an error.
      if (channelElements++ > 0) throw new Unsure('a second channel element');
      if (type === Element.SCE) channelStream(bits, core, undefined);
      else channelPair(bits, core);
    } else if (type === Element.DSE) dataStream(bits);
    else if (type === Element.FIL) sbr = fill(bits, id, channelElements > 0) || sbr;
    else throw new Unsure(`element type ${type} in a channel configuration ${core.channelConfig} stream`);
    if (bits.left < 3) throw new Unsure('the frame ends before its END element');
  }
  if (channelElements === 0) throw new Unsure('a frame without audio');
  // aac_decode_frame hands bytes after END back to be decoded as a further frame.
  for (let i = (bits.pos + 7) >> 3; i < packet.byteLength; i++) if (packet[i] !== 0) throw new Unsure('data after the END element');
  return { sbr };
}

function dataStream(bits: Bits): void {
  const align = bits.read(1);
  let count = bits.read(8);
  if (count === 255) count += bits.read(8);
  if (align) bits.skip((8 - (bits.pos & 7)) & 7);
  bits.skip(8 * count);
}

/** A FIL element's extension payloads (decode_extension_payload); `afterChannel`: SBR applies only after a channel element. */
function fill(bits: Bits, id: number, afterChannel: boolean): boolean {
  let count = id;
  if (count === 15) count += bits.read(8) - 1;
  if (bits.left < 8 * count) throw new Unsure('a FIL element longer than the frame');
  let sbr = false;
  while (count > 0) {
    const type = bits.read(4);
    if (type === EXT_SBR_DATA || type === EXT_SBR_DATA_CRC) {
      if (!afterChannel) throw new Unsure('SBR data before the first channel element');
      sbr = true;
      bits.skip(8 * count - 4);
      count = 0;
    } else if (type === EXT_DYNAMIC_RANGE) {
      count -= dynamicRange(bits);
    } else {
      bits.skip(8 * count - 4); // fill bytes, fill data, data elements (and libfaac's name, which the caller looks for)
      count = 0;
    }
  }
  return sbr;
}

/** decode_dynamic_range: reads its fields and returns the bytes the syntax counts for them. */
function dynamicRange(bits: Bits): number {
  let n = 1;
  let bands = 1;
  if (bits.read(1)) {
    bits.skip(8); // pce_instance_tag, reserved
    n++;
  }
  if (bits.read(1)) {
    let excluded = 0;
    do {
      bits.skip(7);
      excluded += 7;
    } while (excluded < MAX_CHANNELS - 7 && bits.read(1));
    n += Math.floor(excluded / 7);
  }
  if (bits.read(1)) {
    bands += bits.read(4);
    bits.skip(4); // interpolation scheme
    n++;
    bits.skip(8 * bands);
    n += bands;
  }
  if (bits.read(1)) {
    bits.skip(8); // prog_ref_level, reserved
    n++;
  }
  bits.skip(8 * bands);
  return n + bands;
}

/** decode_cpe: a shared ics_info and M/S mask, then both channel streams. */
function channelPair(bits: Bits, core: AacCore): void {
  let shared: IcsInfo | undefined;
  if (bits.read(1)) {
    shared = icsInfo(bits, core);
    const msPresent = bits.read(2);
    if (msPresent === 3) throw new Unsure('ms_present 3 is reserved');
    if (msPresent === 1) bits.skip(shared.groupLengths.length * shared.maxSfb);
  }
  channelStream(bits, core, shared);
  channelStream(bits, core, shared);
}

/** decode_ics_info for AAC-LC. */
function icsInfo(bits: Bits, core: AacCore): IcsInfo {
  if (bits.read(1)) throw new Unsure('ics_info reserved bit set');
  const windowSequence = bits.read(2);
  bits.skip(1); // window shape
  const short = windowSequence === EIGHT_SHORT_SEQUENCE;
  let maxSfb: number;
  const groupLengths = [1];
  if (short) {
    maxSfb = bits.read(4);
    for (let i = 0; i < 7; i++) {
      if (bits.read(1)) groupLengths[groupLengths.length - 1]!++;
      else groupLengths.push(1);
    }
  } else {
    maxSfb = bits.read(6);
    if (bits.read(1)) throw new Unsure('prediction in AAC-LC');
  }
  const offsets = (short ? SWB_OFFSETS_SHORT : SWB_OFFSETS_LONG)[core.samplingIndex];
  if (!offsets) throw new Unsure(`sampling index ${core.samplingIndex}`);
  if (maxSfb > offsets.length - 1) throw new Unsure('max_sfb beyond the band count');
  return { windowSequence, short, maxSfb, groupLengths, offsets };
}

/** decode_ics: one individual_channel_stream; `shared` is a CPE's common ics_info. */
function channelStream(bits: Bits, core: AacCore, shared: IcsInfo | undefined): void {
  const globalGain = bits.read(8);
  const ics = shared ?? icsInfo(bits, core);
  const bandTypes = sectionData(bits, ics);
  scalefactors(bits, ics, bandTypes, globalGain);
  if (bits.read(1)) pulseData(bits, ics);
  if (bits.read(1)) tnsData(bits, ics);
  if (bits.read(1)) gainControl(bits, ics);
  spectralData(bits, ics, bandTypes);
}

/** decode_band_types: section runs of one codebook per window group. */
function sectionData(bits: Bits, ics: IcsInfo): number[] {
  const lengthBits = ics.short ? 3 : 5;
  const escape = (1 << lengthBits) - 1;
  const types: number[] = [];
  for (let g = 0; g < ics.groupLengths.length; g++) {
    let k = 0;
    while (k < ics.maxSfb) {
      const type = bits.read(4);
      if (type === 12) throw new Unsure('invalid band type 12');
      let end = k;
      let increment: number;
      do {
        increment = bits.read(lengthBits);
        end += increment;
        if (end > ics.maxSfb) throw new Unsure('a section past max_sfb');
      } while (increment === escape);
      for (; k < end; k++) types.push(type);
    }
  }
  return types;
}

/** decode_scalefactors: differential codes, a 9-bit first noise energy, the global gain range check. */
function scalefactors(bits: Bits, ics: IcsInfo, bandTypes: number[], globalGain: number): void {
  const code = codeOf(SCALEFACTOR_CODE);
  let gain = globalGain;
  let firstNoise = true;
  for (const type of bandTypes) {
    if (type === 0) continue;
    if (type === NOISE_BT && firstNoise) {
      bits.skip(9);
      firstNoise = false;
      continue;
    }
    const delta = bits.symbol(code) - 60;
    if (type >= NOISE_BT) continue; // noise energies and intensity positions are not range-checked
    gain += delta;
    if (gain < 0 || gain > 255) throw new Unsure(`scalefactor ${gain} out of range`);
  }
}

/** decode_pulses, with its position checks. */
function pulseData(bits: Bits, ics: IcsInfo): void {
  if (ics.short) throw new Unsure('pulse data in an eight short sequence');
  const count = bits.read(2) + 1;
  const band = bits.read(6);
  const bands = ics.offsets.length - 1;
  if (band >= bands) throw new Unsure('pulse band past the band count');
  let position = ics.offsets[band]!;
  for (let i = 0; i < count; i++) {
    position += bits.read(5);
    if (position >= ics.offsets[bands]!) throw new Unsure('pulse position past the spectrum');
    bits.skip(4); // amplitude
  }
}

/** decode_tns for AAC-LC (maximum order 12 long, 7 short). */
function tnsData(bits: Bits, ics: IcsInfo): void {
  const windows = ics.short ? 8 : 1;
  const maxOrder = ics.short ? 7 : 12;
  for (let w = 0; w < windows; w++) {
    const filters = bits.read(ics.short ? 1 : 2);
    if (!filters) continue;
    const coefRes = bits.read(1);
    for (let f = 0; f < filters; f++) {
      bits.skip(ics.short ? 4 : 6); // length
      const order = bits.read(ics.short ? 3 : 5);
      if (order > maxOrder) throw new Unsure('TNS order past the maximum');
      if (!order) continue;
      bits.skip(1); // direction
      const compress = bits.read(1);
      bits.skip(order * (coefRes + 3 - compress));
    }
  }
}

/** decode_gain_control's layout by window sequence: windows, bits of the first window's locations if they differ, bits otherwise. */
const GAIN_MODES = [
  [1, 0, 5],
  [2, 1, 2],
  [8, 0, 2],
  [2, 1, 5],
] as const;

/** decode_gain_control: parsed and ignored by FFmpeg (SSR's gain control in an LC stream). */
function gainControl(bits: Bits, ics: IcsInfo): void {
  const [windows, firstDiffers, locationBits] = GAIN_MODES[ics.windowSequence]!;
  const bands = bits.read(2);
  for (let band = 0; band < bands; band++) {
    for (let w = 0; w < windows; w++) {
      const adjustments = bits.read(3);
      bits.skip(adjustments * (4 + (w === 0 && firstDiffers ? 4 : locationBits)));
    }
  }
}

/** decode_spectrum_and_dequant's bit consumption: codewords, sign bits and escapes per codebook. */
function spectralData(bits: Bits, ics: IcsInfo, bandTypes: number[]): void {
  let index = 0;
  for (const groupLength of ics.groupLengths) {
    for (let band = 0; band < ics.maxSfb; band++, index++) {
      const codebook = bandTypes[index]!;
      if (codebook === 0 || codebook >= NOISE_BT) continue;
      const width = ics.offsets[band + 1]! - ics.offsets[band]!;
      for (let w = 0; w < groupLength; w++) spectralBand(bits, codebookOf(codebook), width);
    }
  }
}

/** Codebook n's value range per coefficient: [tuple size, modulus, signed]. */
const CODEBOOK_SHAPES: Record<number, readonly [number, number, boolean]> = {
  1: [4, 3, true],
  2: [4, 3, true],
  3: [4, 3, false],
  4: [4, 3, false],
  5: [2, 9, true],
  6: [2, 9, true],
  7: [2, 8, false],
  8: [2, 8, false],
  9: [2, 13, false],
  10: [2, 13, false],
  11: [2, 17, false],
};

/** A spectral codebook ready to walk: its code, tuple size, and per symbol the sign bits and escapes that follow. */
interface Codebook {
  code: HuffmanCode;
  size: number;
  signBits: Uint8Array;
  escapes: Uint8Array;
}

const codebooks = new Map<number, Codebook>();

function codebookOf(n: number): Codebook {
  let codebook = codebooks.get(n);
  if (codebook) return codebook;
  const [size, modulus, signed] = CODEBOOK_SHAPES[n]!;
  const table = SPECTRAL_CODES[n - 1]!;
  const symbols = table[0].length;
  const signBits = new Uint8Array(symbols);
  const escapes = new Uint8Array(symbols);
  for (let symbol = 0; symbol < symbols; symbol++) {
    for (let i = 0, rest = symbol; i < size; i++, rest = Math.floor(rest / modulus)) {
      const value = rest % modulus;
      if (!signed && value !== 0) signBits[symbol]!++;
      if (n === ESC_BT && value === 16) escapes[symbol]!++;
    }
  }
  codebook = { code: codeOf(table), size, signBits, escapes };
  codebooks.set(n, codebook);
  return codebook;
}

function spectralBand(bits: Bits, codebook: Codebook, width: number): void {
  for (let done = 0; done < width; done += codebook.size) {
    const symbol = bits.symbol(codebook.code);
    bits.skip(codebook.signBits[symbol]!);
    for (let e = codebook.escapes[symbol]!; e > 0; e--) escape(bits);
  }
}

/** An escape: N ones (N <= 8), a zero, then N + 4 bits. */
function escape(bits: Bits): void {
  let ones = 0;
  while (bits.read(1)) if (++ones > 8) throw new Unsure('escape sequence overflow');
  bits.skip(ones + 4);
}

/**
 * AAC-LC whose config turns SBR on (`explicit`), off (`off`: plain AAC whatever the frames carry)
 * or, at 24 kHz or less, leaves it to the first frame (`implicit`).
 */
export interface LowRateAac extends AacCore {
  /** The core sampling rate the config states. */
  sampleRate: number;
  sbr: 'explicit' | 'off' | 'implicit';
  /** Channels the decoder outputs once SBR is on: a mono core gets parametric stereo unless the config says ps = 0. */
  sbrChannels: number;
}

/** MSB-first bits of an AudioSpecificConfig, zeros past its end as FFmpeg's padded reader gives them. */
function configBits(asc: Uint8Array): (at: number, n: number) => number {
  return (at, n) => {
    let value = 0;
    for (let i = at; i < at + n; i++) value = value * 2 + (((asc[i >> 3] ?? 0) >> (7 - (i & 7))) & 1);
    return value;
  };
}

/**
 * An AudioSpecificConfig of object type 5 (SBR) or 29 (PS), the hierarchical signalling of
 * HE-AAC, as ff_mpeg4audio_get_config_gb reads it: core rate and channels, the extension rate,
 * then the core object type and its GASpecificConfig. Handled: an AAC-LC core with one SCE or one
 * CPE, 1024-sample frames and an extension rate above the core rate; SBR is then on from the first
 * frame, and a mono core gets parametric stereo (type 29 says so; with type 5 ps stays -1, which
 * decode_ga_specific_config turns into 1).
 */
export function hierarchicalSbrConfig(asc: Uint8Array): { decoderNeeded: string; sbr?: LowRateAac } {
  const bitsAt = configBits(asc);
  const objectType = bitsAt(0, 5);
  const decoderNeeded = `AAC audio object type ${objectType}`;
  const samplingIndex = bitsAt(5, 4);
  const channelConfig = bitsAt(9, 4);
  // FFmpeg takes type 29 followed by these bits for the MP3onMP4 draft, not for PS.
  if (objectType === 29 && bitsAt(13, 3) & 3 && !(bitsAt(13, 9) & 0x3f)) return { decoderNeeded };
  const extIndex = bitsAt(13, 4);
  const coreType = bitsAt(17, 5);
  if (samplingIndex > 12 || extIndex >= samplingIndex || coreType !== 2 || (channelConfig !== 1 && channelConfig !== 2)) return { decoderNeeded };
  if (bitsAt(22, 1) === 1) return { decoderNeeded: 'AAC with 960-sample frames' };
  const sampleRate = AAC_RATES[samplingIndex]!;
  return { decoderNeeded, sbr: { samplingIndex, channelConfig, sampleRate, sbr: 'explicit', sbrChannels: 2 } };
}

const AAC_RATES = [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350];

/**
 * An AudioSpecificConfig at 24 kHz or less as FFmpeg 5.1 configures its decoder from it
 * (ff_mpeg4audio_get_config_gb, decode_ga_specific_config). Handled: AAC-LC with one SCE or one
 * CPE and 1024-sample frames, whose sbr is 0 (a sync extension turns SBR off: plain AAC whatever
 * the frames carry), 1 (turned on, with an extension rate above the core rate) or -1 (no sync
 * extension: the first frame decides). The sync extension (0x2b7) is looked for at every bit from
 * the end of the channel configuration while more than 15 bits remain. Anything else stays the
 * decoder's business.
 */
export function lowRateAacConfig(asc: Uint8Array, objectType: number, samplingIndex: number, channelConfig: number, sampleRate: number): { decoderNeeded: string; sbr?: LowRateAac } {
  const decoderNeeded = `AAC at ${sampleRate} Hz may carry SBR`;
  if (objectType !== 2 || (channelConfig !== 1 && channelConfig !== 2) || samplingIndex < 6 || samplingIndex > 12) return { decoderNeeded };
  const bitLength = asc.byteLength * 8;
  const bitsAt = configBits(asc);
  if (bitsAt(13, 1) === 1) return { decoderNeeded: 'AAC with 960-sample frames' };
  const core: AacCore = { samplingIndex, channelConfig };
  let sync = 13;
  while (bitLength - sync > 15 && bitsAt(sync, 11) !== 0x2b7) sync++;
  if (bitLength - sync <= 15) return { decoderNeeded, sbr: { ...core, sampleRate, sbr: 'implicit', sbrChannels: 2 } };
  // 0x2b7, extension object type 5 (SBR), sbr flag; then a rate index and maybe 0x548 + ps flag.
  if (bitsAt(sync + 11, 5) !== 5) return { decoderNeeded };
  if (bitsAt(sync + 16, 1) === 0) return { decoderNeeded, sbr: { ...core, sampleRate, sbr: 'off', sbrChannels: channelConfig } };
  const extIndex = bitsAt(sync + 17, 4);
  if (extIndex >= samplingIndex) return { decoderNeeded }; // an extension rate not above the core rate (or escaped)
  const psAt = sync + 21;
  const ps = bitLength - psAt > 11 && bitsAt(psAt, 11) === 0x548 ? bitsAt(psAt + 11, 1) : -1;
  return { decoderNeeded, sbr: { ...core, sampleRate, sbr: 'explicit', sbrChannels: channelConfig === 1 && ps === 0 ? 1 : 2 } };
}

export interface DecodedLayout {
  sampleRate: number;
  channels: number;
  frameSamples: number;
}

/** The stream as FFmpeg's decoder outputs it once SBR is known: twice the core rate and 2048 samples a frame with it. */
export function decodedLayout(config: LowRateAac, sbr: boolean): DecodedLayout {
  if (!sbr) return { sampleRate: config.sampleRate, channels: config.channelConfig, frameSamples: 1024 };
  return { sampleRate: 2 * config.sampleRate, channels: config.sbrChannels, frameSamples: 2048 };
}

/**
 * How a track that is not ADTS (MP4, Matroska: raw blocks, no header to reopen the configuration)
 * decodes: SBR as the config sets it, or, when the config leaves it open, as the packet the
 * decoder meets first (`first`) decides. SBR beside libfaac's marker is left unsure: the decoder
 * then skips 1024 samples of a 2048-sample frame, a case no reader models.
 */
export function settledLayout(config: LowRateAac, first: Uint8Array | undefined): (DecodedLayout & { sbr: boolean }) | { unsure: string } {
  const reason = `AAC at ${config.sampleRate} Hz with ${config.sbr} SBR`;
  if (config.sbr === 'off') return { ...decodedLayout(config, false), sbr: false };
  if (!first) return { unsure: reason };
  const verdict = config.sbr === 'implicit' ? firstFrameSbr(first, config) : { sbr: true };
  if ('unsure' in verdict) return { unsure: `${reason} (${verdict.unsure})` };
  if (verdict.sbr && hasLibfaacMarker(first)) return { unsure: `${reason} beside libfaac's marker` };
  return { ...decodedLayout(config, verdict.sbr), sbr: verdict.sbr };
}

/** ffmpeg's AAC decoder drops the first frame of libfaac output, which names itself in a FIL element. */
export function hasLibfaacMarker(frame: Uint8Array): boolean {
  const marker = [...'libfaac '].map((c) => c.charCodeAt(0));
  for (let shift = 0; shift < 8; shift++) {
    for (let i = 0; i + marker.length < frame.byteLength; i++) {
      if (marker.every((byte, k) => (((frame[i + k]! << shift) | (frame[i + k + 1]! >> (8 - shift))) & 0xff) === byte)) return true;
    }
  }
  return false;
}
