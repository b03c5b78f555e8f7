/**
 * H.265 sequence parameter sets, read up to the VUI aspect ratio as FFmpeg's hevc_ps.c does: the
 * picture size less the conformance window is the size ffprobe reports.
 */
import { BitReader, unescapeRbsp } from '../bytes.js';
import type { Rational } from '../rational.js';
import { readVuiAspectRatio } from './h264.js';

export interface HevcSps {
  width: number;
  height: number;
  sampleAspectRatio?: Rational;
}

const SPS_NAL_TYPE = 33;

/** The SPS NAL units of an hvcC (HEVCDecoderConfigurationRecord). */
export function hevcConfigSpsList(hvcC: Uint8Array): Uint8Array[] {
  if (hvcC.byteLength < 23) return [];
  const arrays = hvcC[22]!;
  const out: Uint8Array[] = [];
  let offset = 23;
  for (let a = 0; a < arrays && offset + 3 <= hvcC.byteLength; a++) {
    const type = hvcC[offset]! & 0x3f;
    const count = (hvcC[offset + 1]! << 8) | hvcC[offset + 2]!;
    offset += 3;
    for (let i = 0; i < count && offset + 2 <= hvcC.byteLength; i++) {
      const length = (hvcC[offset]! << 8) | hvcC[offset + 1]!;
      offset += 2;
      if (offset + length > hvcC.byteLength) return out;
      if (type === SPS_NAL_TYPE) out.push(hvcC.subarray(offset, offset + length));
      offset += length;
    }
  }
  return out;
}

/** Parses one SPS NAL unit (with its 2-byte NAL header). */
export function parseHevcSps(nal: Uint8Array): HevcSps {
  const bits = new BitReader(unescapeRbsp(nal.subarray(2)));
  bits.skip(4);
  const maxSubLayersMinus1 = bits.u(3);
  bits.skip(1);
  skipProfileTierLevel(bits, maxSubLayersMinus1);
  bits.ue();
  const chromaFormat = bits.ue();
  const separateColourPlanes = chromaFormat === 3 ? bits.u1() : 0;
  const codedWidth = bits.ue();
  const codedHeight = bits.ue();
  let width = codedWidth;
  let height = codedHeight;
  if (bits.flag()) {
    const chromaArray = separateColourPlanes ? 0 : chromaFormat;
    const subWidth = chromaArray === 1 || chromaArray === 2 ? 2 : 1;
    const subHeight = chromaArray === 1 ? 2 : 1;
    const [left, right, top, bottom] = [bits.ue(), bits.ue(), bits.ue(), bits.ue()];
    width -= (left + right) * subWidth;
    height -= (top + bottom) * subHeight;
    // FFmpeg shows the whole surface when the window leaves nothing visible.
    if (width <= 0 || height <= 0) [width, height] = [codedWidth, codedHeight];
  }
  bits.ue();
  bits.ue();
  const log2MaxPocLsb = bits.ue() + 4;
  const orderingInfoAllLayers = bits.flag();
  for (let i = orderingInfoAllLayers ? 0 : maxSubLayersMinus1; i <= maxSubLayersMinus1; i++) {
    bits.ue();
    bits.ue();
    bits.ue();
  }
  for (let i = 0; i < 6; i++) bits.ue();
  if (bits.flag() && bits.flag()) skipScalingListData(bits);
  bits.skip(2);
  if (bits.flag()) {
    bits.skip(8);
    bits.ue();
    bits.ue();
    bits.skip(1);
  }
  skipShortTermRefPicSets(bits, bits.ue());
  if (bits.flag()) {
    const count = bits.ue();
    for (let i = 0; i < count; i++) bits.skip(log2MaxPocLsb + 1);
  }
  bits.skip(2);
  const sampleAspectRatio = bits.flag() ? readVuiAspectRatio(bits) : undefined;
  return { width, height, sampleAspectRatio };
}

function skipProfileTierLevel(bits: BitReader, maxSubLayersMinus1: number): void {
  bits.skip(2 + 1 + 5 + 32 + 4 + 43 + 1 + 8);
  const profilePresent: boolean[] = [];
  const levelPresent: boolean[] = [];
  for (let i = 0; i < maxSubLayersMinus1; i++) {
    profilePresent.push(bits.flag());
    levelPresent.push(bits.flag());
  }
  if (maxSubLayersMinus1 > 0) for (let i = maxSubLayersMinus1; i < 8; i++) bits.skip(2);
  for (let i = 0; i < maxSubLayersMinus1; i++) {
    if (profilePresent[i]) bits.skip(88);
    if (levelPresent[i]) bits.skip(8);
  }
}

function skipScalingListData(bits: BitReader): void {
  for (let sizeId = 0; sizeId < 4; sizeId++) {
    for (let matrixId = 0; matrixId < 6; matrixId += sizeId === 3 ? 3 : 1) {
      if (!bits.flag()) {
        bits.ue();
        continue;
      }
      const coefficients = Math.min(64, 1 << (4 + (sizeId << 1)));
      if (sizeId > 1) bits.se();
      for (let i = 0; i < coefficients; i++) bits.se();
    }
  }
}

/** st_ref_pic_set() for every set in the SPS; inter-predicted sets depend on the previous one. */
function skipShortTermRefPicSets(bits: BitReader, count: number): void {
  if (count > 64) throw new RangeError(`${count} short-term reference picture sets`);
  const deltaPocs: number[] = [];
  for (let index = 0; index < count; index++) {
    const predicted = index !== 0 && bits.flag();
    if (predicted) {
      bits.skip(1);
      bits.ue();
      const reference = deltaPocs[index - 1]!;
      let used = 0;
      for (let j = 0; j <= reference; j++) {
        const usedByCurrent = bits.flag();
        if (usedByCurrent || bits.flag()) used++;
      }
      deltaPocs.push(used);
    } else {
      const negative = bits.ue();
      const positive = bits.ue();
      if (negative > 16 || positive > 16) throw new RangeError('too many reference pictures');
      for (let i = 0; i < negative + positive; i++) {
        bits.ue();
        bits.skip(1);
      }
      deltaPocs.push(negative + positive);
    }
  }
}
