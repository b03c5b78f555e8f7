import { PacketBits, Vlc } from './musepack-bits.js';
import { SV7_DSCF, SV7_HDR, SV7_QUANT, SV7_SCFI } from './musepack-tables.js';

/**
 * Musepack SV7 frames as FFmpeg 5.1's mpc demuxer cuts them and its mpc7 decoder takes them.
 * The stream is big-endian bits of little-endian 32-bit words: `words` holds it byte-swapped
 * into plain MSB-first order, starting at the word of the first frame. The demuxer reads each
 * frame's 20-bit length and hands the decoder the whole words holding the length and the frame;
 * the decoder skips the bits before the frame's own, decodes every band, and drops the frame
 * (no samples, no error for the stream) when a subband resolution leaves -1..17 or when the
 * bits it read do not end in the packet's last word. Frames carry no other state into the next
 * one that changes what is read, so each is walked alone. The header's last-frame length is
 * never applied (the demuxer's last-frame flag cannot be set): a kept frame is 1152 samples.
 */

const BANDS = 32;
const SAMPLES_PER_BAND = 36;
/** Bits of the frame length field in front of every frame. */
const LENGTH_BITS = 20;
/** get_vlc2's -5 offset on the band header code: this step means 4 raw bits follow. */
const HDR_ESCAPE = 9;
const HDR_OFFSET = 5;
/** The scale factor code's escape to 6 raw bits (symbol 15, step 8 after the -7 offset). */
const DSCF_ESCAPE = 15;
/** Scale factors coded per band and channel after the first, by scfi method. */
const EXTRA_SCALES = [2, 1, 1, 0];

let tables: { hdr: Vlc; scfi: Vlc; dscf: Vlc; quant: (readonly [Vlc, Vlc])[] } | undefined;

function vlcs() {
  tables ??= {
    hdr: new Vlc(SV7_HDR),
    scfi: new Vlc(SV7_SCFI),
    dscf: new Vlc(SV7_DSCF),
    quant: SV7_QUANT.map(([a, b]) => [new Vlc(a), new Vlc(b)] as const),
  };
  return tables;
}

export interface Sv7Stream {
  /** The stream from the first frame's word on, byte-swapped per 32-bit word. */
  words: Uint8Array;
  /** Bytes of `words` that are in the file: a packet reaching past them is cut. */
  available: number;
  frames: number;
  /** The decoder's subband count less one (mpc7's maxbands). */
  maxBand: number;
  /** Mid/side flags per band (the MSS bit). */
  midSide: boolean;
}

export type Sv7Walk = { kind: 'decoded'; keptFrames: number } | { kind: 'cut'; frame: number; packetEnd: number };

/** mpc_read_packet then mpc7_decode_frame for every frame the header counts. */
export function walkSv7(stream: Sv7Stream): Sv7Walk {
  const lengths = new PacketBits(stream.words, 0, stream.words.byteLength * 8);
  // The first frame's length starts 8 bits into the first word (after the 24 header bytes).
  let at = 8;
  let kept = 0;
  for (let frame = 0; frame < stream.frames; frame++) {
    lengths.pos = at;
    const frameBits = lengths.read(LENGTH_BITS);
    const packetStart = (at >>> 5) * 4;
    const skip = (at & 31) + LENGTH_BITS;
    const packetBytes = Math.ceil((skip + frameBits) / 32) * 4;
    if (packetStart + packetBytes > stream.available) return { kind: 'cut', frame, packetEnd: packetStart + packetBytes };
    const bits = new PacketBits(stream.words, packetStart, packetBytes * 8);
    bits.pos = skip;
    if (frameDecodes(bits, stream)) kept++;
    at += LENGTH_BITS + frameBits;
  }
  return { kind: 'decoded', keptFrames: kept };
}

function frameDecodes(bits: PacketBits, stream: Sv7Stream): boolean {
  const resolutions = readResolutions(bits, stream);
  if (!resolutions) return false;
  const [res, lastBand] = resolutions;
  readScaleFactors(bits, res, lastBand);
  for (let band = 0; band < BANDS; band++) {
    for (let ch = 0; ch < 2; ch++) readQuantized(bits, res[ch]![band]!);
  }
  // mpc7_decode_frame: "Error decoding frame: used %i of %i bits" unless the frame ends in the last word.
  return bits.pos <= bits.size && bits.pos + 32 > bits.size;
}

/** Per channel, the resolution of each band, and the last band any channel codes; undefined when out of range. */
function readResolutions(bits: PacketBits, stream: Sv7Stream): [Int8Array[], number] | undefined {
  const { hdr } = vlcs();
  const res = [new Int8Array(BANDS), new Int8Array(BANDS)];
  let lastBand = -1;
  for (let band = 0; band <= stream.maxBand; band++) {
    for (let ch = 0; ch < 2; ch++) {
      const step = band ? hdr.read(bits) : HDR_ESCAPE;
      const value = step === HDR_ESCAPE ? bits.read(4) : res[ch]![band - 1]! + step - HDR_OFFSET;
      if (value < -1 || value > 17) return undefined;
      res[ch]![band] = value;
    }
    if (res[0]![band] || res[1]![band]) {
      lastBand = band;
      if (stream.midSide) bits.read(1);
    }
  }
  return [res, lastBand];
}

function readScaleFactors(bits: PacketBits, res: Int8Array[], lastBand: number): void {
  const { scfi, dscf } = vlcs();
  const methods = [new Int8Array(BANDS), new Int8Array(BANDS)];
  for (let band = 0; band <= lastBand; band++) {
    for (let ch = 0; ch < 2; ch++) if (res[ch]![band]) methods[ch]![band] = scfi.read(bits);
  }
  for (let band = 0; band <= lastBand; band++) {
    for (let ch = 0; ch < 2; ch++) {
      if (!res[ch]![band]) continue;
      for (let i = 0; i <= EXTRA_SCALES[methods[ch]![band]!]!; i++) {
        if (dscf.read(bits) === DSCF_ESCAPE) bits.read(6);
      }
    }
  }
}

/** idx_to_quant: the bits of one band's 36 samples at resolution `res`. */
function readQuantized(bits: PacketBits, res: number): void {
  if (res < 1) return;
  if (res >= 8) {
    bits.pos += SAMPLES_PER_BAND * (res - 1);
    return;
  }
  const table = vlcs().quant[res - 1]![bits.read(1)]!;
  const codes = res === 1 ? SAMPLES_PER_BAND / 3 : res === 2 ? SAMPLES_PER_BAND / 2 : SAMPLES_PER_BAND;
  for (let i = 0; i < codes; i++) table.read(bits);
}
