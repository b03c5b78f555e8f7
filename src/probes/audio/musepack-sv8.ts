import { PacketBits, Vlc } from './musepack-bits.js';
import {
  type CodeTable,
  SV8_BANDS, SV8_CNK_LEN, SV8_CNK_LOST, SV8_DSCF0, SV8_DSCF1, SV8_HUFFQ2, SV8_Q1, SV8_Q2, SV8_Q34, SV8_Q9UP, SV8_QUANT,
  SV8_QUANT_OFFSETS, SV8_RES, SV8_SCFI, SV8_THRESHOLDS,
} from './musepack-tables.js';

/**
 * Musepack SV8 audio packets as FFmpeg 5.1's mpc8 demuxer reads them and its mpc8 decoder
 * spends them. The decoder draws frames from a packet until it has decoded the stream's frames
 * per packet (then it drops the rest) or only padding is left, returning the bytes it used each
 * time, and the next call resumes at that byte, skipping the bits of it already used. Which
 * frame is a keyframe, the band count coding, the first scale factor of a band and the bits to
 * skip all carry over from frame to frame and from packet to packet (also past a frame the
 * decoder refuses), so this is the decoder's state machine on every symbol, without samples.
 */

/** Something FFmpeg does that this walk does not reproduce: the decoder measures the file. */
export class Sv8Unmodelled extends Error {}

const BANDS = 32;
const SAMPLES_PER_BAND = 36;
const DSCF1_ESCAPE = 64;
const DSCF0_ESCAPE = 31;

let tables: ReturnType<typeof buildTables> | undefined;

function buildTables() {
  const pair = ([a, b]: readonly [CodeTable, CodeTable]) => [new Vlc(a), new Vlc(b)] as const;
  return {
    bands: new Vlc(SV8_BANDS),
    scfi: pair(SV8_SCFI),
    dscf0: new Vlc(SV8_DSCF0),
    dscf1: new Vlc(SV8_DSCF1),
    res: pair(SV8_RES),
    q1: new Vlc(SV8_Q1),
    q2: pair(SV8_Q2),
    q34: pair(SV8_Q34),
    quant: SV8_QUANT.map(pair),
    q9up: new Vlc(SV8_Q9UP),
  };
}

const vlcs = () => (tables ??= buildTables());

/** The two format bytes of the stream header (the decoder's extradata). */
export interface Sv8Format {
  /** mpc8's maxbands (the field plus one). */
  maxBands: number;
  midSide: boolean;
  framesPerPacket: number;
}

export function sv8Format(extradata: Uint8Array): Sv8Format {
  return {
    maxBands: (extradata[0]! & 0x1f) + 1,
    midSide: (extradata[1]! & 0x08) !== 0,
    framesPerPacket: 1 << (2 * (extradata[1]! & 7)),
  };
}

export class Sv8Decoder {
  /** Frames output (1152 samples each). */
  frames = 0;
  private curFrame = 0;
  private lastBitsUsed = 0;
  private lastMaxBand = 0;
  /** Per channel and band: the next scale factor is coded in full (set on keyframes). */
  private readonly fullScale = [new Uint8Array(BANDS), new Uint8Array(BANDS)];

  constructor(private readonly format: Sv8Format) {}

  /** decode_simple_internal on one packet: frames until the decoder takes all of it or fails. */
  packet(data: Uint8Array, start: number, size: number): void {
    let used = 0;
    for (;;) {
      const consumed = this.frame(data, start + used, size - used);
      if (consumed < 0 || consumed >= size - used) return;
      used += consumed;
    }
  }

  /** mpc8_decode_frame: the bytes it reports consumed, or -1 for an error. */
  private frame(data: Uint8Array, start: number, size: number): number {
    const keyframe = this.curFrame === 0;
    if (keyframe) this.lastBitsUsed = 0;
    const bits = new PacketBits(data, start, size * 8);
    bits.pos = this.lastBitsUsed & 7;
    let maxBand: number;
    if (keyframe) maxBand = modGolomb(bits, this.format.maxBands + 1);
    else {
      maxBand = this.lastMaxBand + vlcs().bands.read(bits);
      if (maxBand > 32) maxBand -= 33;
    }
    if (bits.left < 0) return size;
    if (maxBand > this.format.maxBands + 1) return -1;
    this.lastMaxBand = maxBand;
    const res = this.readResolutions(bits, maxBand);
    if (keyframe) this.fullScale.forEach((bands) => bands.fill(1));
    this.readScaleFactors(bits, res, maxBand);
    for (let band = 0; band < maxBand; band++) {
      for (let ch = 0; ch < 2; ch++) readQuantized(bits, res[ch]![band]!);
    }
    this.frames++;
    this.curFrame++;
    this.lastBitsUsed = Math.min(bits.pos, bits.size + 8);
    if (this.curFrame >= this.format.framesPerPacket) this.curFrame = 0;
    // Overread, or the packet's last frame with only padding left: the rest of the packet goes.
    if (bits.left < 0 || (this.curFrame === 0 && bits.left < 8)) this.lastBitsUsed = size * 8;
    return this.curFrame ? this.lastBitsUsed >> 3 : size;
  }

  private readResolutions(bits: PacketBits, maxBand: number): Int8Array[] {
    const res = [new Int8Array(BANDS + 1), new Int8Array(BANDS + 1)];
    if (!maxBand) return res;
    const last = [0, 0];
    for (let band = maxBand - 1; band >= 0; band--) {
      for (let ch = 0; ch < 2; ch++) {
        last[ch] = vlcs().res[last[ch]! > 2 ? 1 : 0].read(bits) + last[ch]!;
        if (last[ch]! > 15) last[ch]! -= 17;
        res[ch]![band] = last[ch]!;
      }
    }
    if (this.format.midSide) {
      let coded = 0;
      for (let band = 0; band < maxBand; band++) if (res[0]![band] || res[1]![band]) coded++;
      readMask(bits, coded, modGolomb(bits, coded));
    }
    return res;
  }

  private readScaleFactors(bits: PacketBits, res: Int8Array[], maxBand: number): void {
    const { scfi, dscf0, dscf1 } = vlcs();
    const methods = [new Int8Array(BANDS + 1), new Int8Array(BANDS + 1)];
    for (let band = 0; band < maxBand; band++) {
      const [r0, r1] = [res[0]![band]!, res[1]![band]!];
      if (!r0 && !r1) continue;
      const both = r0 && r1 ? 1 : 0;
      const method = scfi[both].read(bits);
      if (r0) methods[0]![band] = method >> (2 * both);
      if (r1) methods[1]![band] = method & 3;
    }
    for (let band = 0; band < maxBand; band++) {
      for (let ch = 0; ch < 2; ch++) {
        if (!res[ch]![band]) continue;
        if (this.fullScale[ch]![band]) {
          bits.read(7);
          this.fullScale[ch]![band] = 0;
        } else if (dscf1.read(bits) === DSCF1_ESCAPE) bits.read(6);
        for (let j = 0; j < 2; j++) {
          if (((methods[ch]![band]! << j) & 2) === 0 && dscf0.read(bits) === DSCF0_ESCAPE) bits.read(6);
        }
      }
    }
  }
}

/** The bits of one band's 36 samples at resolution `res`, with the contexts that pick the tables. */
function readQuantized(bits: PacketBits, res: number): void {
  const t = vlcs();
  if (res <= 0) return;
  if (res === 1) {
    for (let half = 0; half < 2; half++) {
      const nonzero = t.q1.read(bits);
      readMask(bits, SAMPLES_PER_BAND / 2, nonzero);
      bits.pos += nonzero; // one sign bit per nonzero sample
    }
  } else if (res === 2) {
    let context = 6;
    for (let j = 0; j < SAMPLES_PER_BAND; j += 3) {
      const symbol = t.q2[context > 3 ? 1 : 0].read(bits);
      context = (context >> 1) + SV8_HUFFQ2[symbol]!;
    }
  } else if (res <= 4) {
    for (let j = 0; j < SAMPLES_PER_BAND; j += 2) t.q34[res - 3 as 0 | 1].read(bits);
  } else if (res <= 8) {
    const threshold = SV8_THRESHOLDS[res]!;
    let context = 2 * threshold;
    for (let j = 0; j < SAMPLES_PER_BAND; j++) {
      const value = t.quant[res - 5]![context > threshold ? 1 : 0].read(bits) + SV8_QUANT_OFFSETS[res - 5]!;
      context = (context >> 1) + Math.abs(value);
    }
  } else {
    for (let j = 0; j < SAMPLES_PER_BAND; j++) {
      t.q9up.read(bits);
      bits.pos += res - 9;
    }
  }
}

/** mpc8_dec_base: a truncated binary code of the enumerative index of k among n. */
function decBase(bits: PacketBits, k: number, n: number): number {
  const length = SV8_CNK_LEN[k - 1]![n - 1]! - 1;
  if (length < 0) throw new Sv8Unmodelled(`enumerative code of ${k} among ${n} has no length`);
  const lost = SV8_CNK_LOST[k - 1]![n - 1]!;
  const code = length ? bits.readLong(length) : 0;
  return code >= lost ? code * 2 + bits.read(1) - lost : code;
}

function modGolomb(bits: PacketBits, m: number): number {
  if (SV8_CNK_LEN[0]![m]! < 1) return 0;
  return decBase(bits, 1, m + 1);
}

/**
 * mpc8_get_mask: which `count` of `size` items are set. Its bits only: the set items are
 * `count` whatever the code (each enumerative code stands for exactly that many).
 */
function readMask(bits: PacketBits, size: number, count: number): void {
  if (count > size) throw new Sv8Unmodelled(`mask of ${count} among ${size}`);
  if (count && count !== size) decBase(bits, Math.min(count, size - count), size);
}
