/**
 * H.264 sequence parameter sets, read as FFmpeg's decoder reads them (h264_ps.c), to know the
 * picture size ffprobe reports: the SPS size less its cropping, or the container's size when the
 * decoder's "container cropping" rule takes it (h264_slice.c init_dimensions).
 */
import { BitReader, unescapeRbsp } from '../bytes.js';
import type { Rational } from '../rational.js';

export interface H264Sps {
  /** 16 x macroblock width/height (frame height doubled for field coding). */
  codedWidth: number;
  codedHeight: number;
  cropLeft: number;
  cropRight: number;
  cropTop: number;
  cropBottom: number;
  sampleAspectRatio?: Rational;
}

const HIGH_PROFILES = new Set([100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135, 144]);

/** ITU-T H.264 Table E-1 (aspect_ratio_idc 1..16). */
export const ASPECT_RATIO_TABLE: readonly Rational[] = [
  { num: 0, den: 1 }, { num: 1, den: 1 }, { num: 12, den: 11 }, { num: 10, den: 11 }, { num: 16, den: 11 },
  { num: 40, den: 33 }, { num: 24, den: 11 }, { num: 20, den: 11 }, { num: 32, den: 11 }, { num: 80, den: 33 },
  { num: 18, den: 11 }, { num: 15, den: 11 }, { num: 64, den: 33 }, { num: 160, den: 99 }, { num: 4, den: 3 },
  { num: 3, den: 2 }, { num: 2, den: 1 },
];

/** The SPS NAL units of an avcC (AVCDecoderConfigurationRecord). */
export function avcConfigSpsList(avcC: Uint8Array): Uint8Array[] {
  if (avcC.byteLength < 7 || avcC[0] !== 1) return [];
  const count = avcC[5]! & 0x1f;
  const out: Uint8Array[] = [];
  let offset = 6;
  for (let i = 0; i < count && offset + 2 <= avcC.byteLength; i++) {
    const length = (avcC[offset]! << 8) | avcC[offset + 1]!;
    offset += 2;
    if (offset + length > avcC.byteLength) break;
    out.push(avcC.subarray(offset, offset + length));
    offset += length;
  }
  return out;
}

/** Parses one SPS NAL unit (with its 1-byte NAL header). */
export function parseH264Sps(nal: Uint8Array): H264Sps {
  return readSps(nal).sps;
}

/** What the SPS tells about timing and field coding, for demuxers that take frame durations from the stream. */
export interface H264SpsTiming extends H264Sps {
  /** frame_mbs_only_flag: no field pictures or MBAFF. */
  frameMbsOnly: boolean;
  /** Bits of frame_num in slice headers, and whether colour planes are coded apart (both needed to reach field_pic_flag). */
  log2MaxFrameNum: number;
  separateColourPlanes: boolean;
  /** VUI timing_info (num_units_in_tick, time_scale), when present. */
  timing?: { numUnitsInTick: number; timeScale: number };
  /** VUI pic_struct_present_flag: picture timing SEI may repeat fields. */
  picStructPresent: boolean;
  /** Bit lengths of the picture timing SEI's delays, when an HRD is present (CpbDpbDelaysPresentFlag). */
  hrdDelayBits?: { cpbRemoval: number; dpbOutput: number };
}

/** Parses one SPS NAL unit through its VUI timing and HRD information. */
export function parseH264SpsTiming(nal: Uint8Array): H264SpsTiming {
  const { sps, vuiPresent, bits, fields } = readSps(nal);
  const vui = vuiPresent ? readVuiTiming(bits) : { picStructPresent: false };
  return { ...sps, ...fields, ...vui };
}

function readVuiTiming(bits: BitReader): Pick<H264SpsTiming, 'timing' | 'picStructPresent' | 'hrdDelayBits'> {
  if (bits.flag()) bits.skip(1);
  if (bits.flag()) {
    bits.skip(4);
    if (bits.flag()) bits.skip(24);
  }
  if (bits.flag()) {
    bits.ue();
    bits.ue();
  }
  let timing: H264SpsTiming['timing'];
  if (bits.flag()) {
    timing = { numUnitsInTick: bits.u(32), timeScale: bits.u(32) };
    bits.skip(1);
  }
  let hrdDelayBits: H264SpsTiming['hrdDelayBits'];
  // As in FFmpeg, a VCL HRD's lengths replace the NAL HRD's.
  if (bits.flag()) hrdDelayBits = readHrd(bits);
  if (bits.flag()) hrdDelayBits = readHrd(bits);
  if (hrdDelayBits) bits.skip(1);
  return { timing, picStructPresent: bits.flag(), hrdDelayBits };
}

function readHrd(bits: BitReader): NonNullable<H264SpsTiming['hrdDelayBits']> {
  const count = bits.ue() + 1;
  if (count > 32) throw new RangeError(`${count} HRD CPB specifications`);
  bits.skip(8);
  for (let i = 0; i < count; i++) {
    bits.ue();
    bits.ue();
    bits.skip(1);
  }
  bits.skip(5);
  const cpbRemoval = bits.u(5) + 1;
  const dpbOutput = bits.u(5) + 1;
  bits.skip(5);
  return { cpbRemoval, dpbOutput };
}

interface SpsRead {
  sps: H264Sps;
  vuiPresent: boolean;
  /** Positioned after the VUI aspect ratio. */
  bits: BitReader;
  fields: Pick<H264SpsTiming, 'frameMbsOnly' | 'log2MaxFrameNum' | 'separateColourPlanes'>;
}

function readSps(nal: Uint8Array): SpsRead {
  const bits = new BitReader(unescapeRbsp(nal.subarray(1)));
  const profile = bits.u(8);
  bits.skip(16);
  bits.ue();
  let chromaFormat = 1;
  let separateColourPlanes = false;
  if (HIGH_PROFILES.has(profile)) {
    chromaFormat = bits.ue();
    if (chromaFormat === 3) separateColourPlanes = bits.flag();
    bits.ue();
    bits.ue();
    bits.skip(1);
    if (bits.flag()) skipScalingMatrices(bits, chromaFormat === 3 ? 12 : 8);
  }
  const log2MaxFrameNum = bits.ue() + 4;
  const pocType = bits.ue();
  if (pocType === 0) bits.ue();
  else if (pocType === 1) {
    bits.skip(1);
    bits.se();
    bits.se();
    const cycle = bits.ue();
    for (let i = 0; i < cycle; i++) bits.se();
  }
  bits.ue();
  bits.skip(1);
  const mbWidth = bits.ue() + 1;
  const mbHeightUnits = bits.ue() + 1;
  const frameMbsOnly = bits.u1();
  if (!frameMbsOnly) bits.skip(1);
  bits.skip(1);
  const codedWidth = 16 * mbWidth;
  const codedHeight = 16 * mbHeightUnits * (2 - frameMbsOnly);
  const crop = { cropLeft: 0, cropRight: 0, cropTop: 0, cropBottom: 0 };
  if (bits.flag()) {
    const [left, right, top, bottom] = [bits.ue(), bits.ue(), bits.ue(), bits.ue()];
    const stepX = chromaFormat === 1 || chromaFormat === 2 ? 2 : 1;
    const stepY = (2 - frameMbsOnly) << (chromaFormat === 1 ? 1 : 0);
    const limit = 2147483647 / 4;
    const valid =
      left <= limit / stepX && right <= limit / stepX && top <= limit / stepY && bottom <= limit / stepY &&
      (left + right) * stepX < codedWidth && (top + bottom) * stepY < codedHeight;
    if (valid) Object.assign(crop, { cropLeft: left * stepX, cropRight: right * stepX, cropTop: top * stepY, cropBottom: bottom * stepY });
  }
  const vuiPresent = bits.bitsLeft > 0 && bits.flag();
  const sampleAspectRatio = vuiPresent ? readVuiAspectRatio(bits) : undefined;
  const sps = { codedWidth, codedHeight, ...crop, sampleAspectRatio };
  return { sps, vuiPresent, bits, fields: { frameMbsOnly: frameMbsOnly === 1, log2MaxFrameNum, separateColourPlanes } };
}

function skipScalingMatrices(bits: BitReader, lists: number): void {
  for (let i = 0; i < lists; i++) {
    if (!bits.flag()) continue;
    const size = i < 6 ? 16 : 64;
    let last = 8;
    let next = 8;
    for (let j = 0; j < size && next !== 0; j++) {
      next = (last + bits.se() + 256) % 256;
      if (next !== 0) last = next;
    }
  }
}

/** aspect_ratio_info of a VUI (H.264 and H.265 share the layout). */
export function readVuiAspectRatio(bits: BitReader): Rational | undefined {
  if (!bits.flag()) return undefined;
  const idc = bits.u(8);
  if (idc === 255) return { num: bits.u(16), den: bits.u(16) };
  return ASPECT_RATIO_TABLE[idc] ?? { num: 0, den: 1 };
}

/**
 * The size FFmpeg's decoder gives the picture: the cropped SPS size, unless the container's size
 * (passed to the decoder) fits in the same macroblocks without top/left cropping, in which case the
 * container size wins.
 */
export function h264DisplaySize(sps: H264Sps, container: { width: number; height: number }): { width: number; height: number } {
  const width = sps.codedWidth - (sps.cropLeft + sps.cropRight);
  const height = sps.codedHeight - (sps.cropTop + sps.cropBottom);
  const align16 = (value: number) => Math.ceil(value / 16) * 16;
  if (
    container.width > 0 && container.height > 0 && !sps.cropTop && !sps.cropLeft &&
    align16(container.width) === align16(width) && align16(container.height) === align16(height) &&
    container.width <= width && container.height <= height
  ) {
    return { width: container.width, height: container.height };
  }
  return { width, height };
}
