import { ProbeError } from '../../errors.js';
import { startsWith, u32le } from './bytes.js';

/**
 * Vorbis packet durations, as ffmpeg's vorbis parser computes them (libavcodec/vorbis_parser.c):
 * the block sizes from the identification header, each mode's block flag from the setup header
 * (read backwards from its end, as the parser does), and (previous + current block size) / 4 per
 * audio packet.
 */

export interface VorbisIdentification {
  channels: number;
  sampleRate: number;
  blockSizes: [number, number];
}

export function parseVorbisIdentification(packet: Uint8Array): VorbisIdentification {
  if (packet.byteLength < 30 || packet[0] !== 1 || !startsWith(packet, 'vorbis', 1)) {
    throw new ProbeError('corrupt_file', 'invalid Vorbis identification header');
  }
  const channels = packet[11]!;
  const sampleRate = u32le(packet, 12);
  const blockSizes: [number, number] = [1 << (packet[28]! & 15), 1 << (packet[28]! >> 4)];
  if (u32le(packet, 7) !== 0 || channels === 0 || sampleRate === 0 || blockSizes[0] > blockSizes[1]) {
    throw new ProbeError('corrupt_file', `invalid Vorbis identification header (${channels} channels, ${sampleRate} Hz)`);
  }
  return { channels, sampleRate, blockSizes };
}

/** Reads a byte array's bits from its last bit backwards (the setup header's modes are at its end). */
class BackwardBits {
  private position: number;
  constructor(private readonly bytes: Uint8Array) {
    this.position = bytes.byteLength * 8;
  }
  get left(): number {
    return this.position;
  }
  bit(): number {
    this.position--;
    return (this.bytes[this.position >> 3]! >> (this.position & 7)) & 1;
  }
  bits(n: number): number {
    let value = 0;
    for (let i = 0; i < n; i++) value = value * 2 + this.bit();
    return value;
  }
  clone(): BackwardBits {
    const copy = new BackwardBits(this.bytes);
    copy.position = this.position;
    return copy;
  }
}

export class VorbisDurations {
  private readonly modeBlockFlags: number[];
  private readonly modeMask: number;
  private readonly previousMask: number;
  private previousBlockSize: number;

  constructor(
    private readonly id: VorbisIdentification,
    setup: Uint8Array,
  ) {
    this.modeBlockFlags = parseModes(setup);
    const modeBits = Math.floor(Math.log2(Math.max(1, this.modeBlockFlags.length - 1))) + 1;
    this.modeMask = ((1 << modeBits) - 1) << 1;
    this.previousMask = (this.modeMask | 1) + 1;
    this.previousBlockSize = id.blockSizes[this.modeBlockFlags[0]!]!;
  }

  /** Samples of one audio packet, in stream order. */
  duration(packet: Uint8Array): number {
    const first = packet[0];
    if (first === undefined || (first & 1) !== 0) throw new ProbeError('corrupt_file', 'invalid Vorbis audio packet');
    const mode = this.modeBlockFlags.length === 1 ? 0 : (first & this.modeMask) >> 1;
    const flag = this.modeBlockFlags[mode];
    if (flag === undefined) throw new ProbeError('corrupt_file', `Vorbis packet uses mode ${mode} of ${this.modeBlockFlags.length}`);
    const previous = flag ? this.id.blockSizes[(first & this.previousMask) !== 0 ? 1 : 0] : this.previousBlockSize;
    const current = this.id.blockSizes[flag]!;
    this.previousBlockSize = current;
    return (previous + current) >> 2;
  }
}

/** vorbis_parser.c parse_setup_header: the mode block flags, found from the framing bit backwards. */
function parseModes(setup: Uint8Array): number[] {
  if (setup.byteLength < 7 || setup[0] !== 5 || !startsWith(setup, 'vorbis', 1)) {
    throw new ProbeError('corrupt_file', 'invalid Vorbis setup header');
  }
  const bits = new BackwardBits(setup);
  let framing = false;
  while (!framing && bits.left > 97) framing = bits.bit() === 1;
  if (!framing) throw new ProbeError('corrupt_file', 'Vorbis setup header without a framing bit');
  const afterFraming = bits.clone();
  let modeCount = 0;
  let lastModeCount = 0;
  while (bits.left >= 97) {
    if (bits.bits(8) > 63 || bits.bits(16) || bits.bits(16)) break;
    bits.bit();
    modeCount++;
    if (modeCount > 64) break;
    if (bits.clone().bits(6) + 1 === modeCount) lastModeCount = modeCount;
  }
  if (lastModeCount === 0 || lastModeCount > 63) throw new ProbeError('corrupt_file', 'Vorbis setup header without valid modes');
  const flags: number[] = new Array<number>(lastModeCount);
  for (let i = lastModeCount - 1; i >= 0; i--) {
    afterFraming.bits(40);
    flags[i] = afterFraming.bit();
  }
  return flags;
}
