/**
 * MPEG-4 Part 2 video object layer headers and H.263 picture headers: the picture size and the
 * pixel aspect ratio FFmpeg's decoders take from them (mpeg4videodec.c, ituh263dec.c).
 */
import { BitReader } from '../bytes.js';
import type { Rational } from '../rational.js';

export interface CodedPicture {
  width: number;
  height: number;
  sampleAspectRatio?: Rational;
}

/** ff_h263_pixel_aspect: aspect_ratio_info 0..15 (15 = extended, read separately). */
const PIXEL_ASPECT: readonly Rational[] = [
  { num: 0, den: 1 }, { num: 1, den: 1 }, { num: 12, den: 11 }, { num: 10, den: 11 }, { num: 16, den: 11 }, { num: 40, den: 33 },
];

function pixelAspect(info: number): Rational {
  return PIXEL_ASPECT[info] ?? { num: 0, den: 1 };
}

const RECTANGULAR = 0;
const GRAYSCALE = 3;

/** Finds the first VOL start code (00 00 01 20..2f) and reads its size; undefined when absent or not rectangular. */
export function mpeg4VolPicture(bytes: Uint8Array): CodedPicture | undefined {
  for (let i = 0; i + 4 < bytes.byteLength; i++) {
    if (bytes[i] === 0 && bytes[i + 1] === 0 && bytes[i + 2] === 1 && (bytes[i + 3]! & 0xf0) === 0x20) {
      try {
        return parseVol(new BitReader(bytes.subarray(i + 4)));
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

function parseVol(bits: BitReader): CodedPicture | undefined {
  bits.skip(1 + 8);
  let verid = 1;
  if (bits.flag()) {
    verid = bits.u(4);
    bits.skip(3);
  }
  const aspectInfo = bits.u(4);
  let sampleAspectRatio = pixelAspect(aspectInfo);
  if (aspectInfo === 15) {
    const num = bits.u(8);
    const den = bits.u(8);
    sampleAspectRatio = num && den ? { num, den } : { num: 0, den: 1 };
  }
  if (bits.flag()) {
    bits.skip(3);
    if (bits.flag()) bits.skip(15 + 1 + 15 + 1 + 15 + 1 + 3 + 11 + 1 + 15 + 1);
  }
  const shape = bits.u(2);
  if (shape === GRAYSCALE && verid !== 1) bits.skip(4);
  bits.skip(1);
  const resolution = bits.u(16);
  // FFmpeg rejects the header ("framerate==0") and never learns the size.
  if (resolution === 0) return undefined;
  bits.skip(1);
  if (bits.flag()) bits.skip(Math.max(1, Math.floor(Math.log2(Math.max(resolution - 1, 1))) + 1));
  if (shape !== RECTANGULAR) return undefined;
  bits.skip(1);
  const width = bits.u(13);
  bits.skip(1);
  const height = bits.u(13);
  return width && height ? { width, height, sampleAspectRatio } : undefined;
}

/** ff_h263_format: source format 1..5. */
const H263_FORMATS: readonly (readonly [number, number])[] = [[0, 0], [128, 96], [176, 144], [352, 288], [704, 576], [1408, 1152]];
/** FFmpeg gives the standard H.263 formats a 12:11 pixel aspect ratio. */
const STANDARD_FORMAT_PAR: Rational = { num: 12, den: 11 };

function standardFormat(format: number): CodedPicture | undefined {
  const size = H263_FORMATS[format];
  return size && size[0] ? { width: size[0], height: size[1], sampleAspectRatio: STANDARD_FORMAT_PAR } : undefined;
}

/** Reads the picture header at the start of an H.263 frame (PSC, PTYPE, PLUSPTYPE, CPFMT). */
export function h263Picture(frame: Uint8Array): CodedPicture | undefined {
  const bits = new BitReader(frame);
  try {
    if (bits.u(22) !== 0x20) return undefined;
    bits.skip(8);
    if (bits.u1() !== 1 || bits.u1() !== 0) return undefined;
    bits.skip(3);
    const format = bits.u(3);
    if (format !== 6 && format !== 7) return standardFormat(format);
    const updateFull = bits.u(3);
    if (updateFull !== 1) return undefined;
    const plusFormat = bits.u(3);
    bits.skip(11 + 4);
    bits.skip(3 + 2 + 1 + 4);
    if (plusFormat !== 6) return standardFormat(plusFormat);
    const aspectInfo = bits.u(4);
    const width = (bits.u(9) + 1) * 4;
    bits.skip(1);
    const height = bits.u(9) * 4;
    const sampleAspectRatio = aspectInfo === 15 ? { num: bits.u(8), den: bits.u(8) } : pixelAspect(aspectInfo);
    return { width, height, sampleAspectRatio };
  } catch {
    return undefined;
  }
}
