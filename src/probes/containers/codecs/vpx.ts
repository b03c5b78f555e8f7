/** VP8 and VP9 key frame headers: the frame size the decoder takes from them. */
import { BitReader } from '../bytes.js';

export interface FrameSize {
  width: number;
  height: number;
}

/** VP8 key frame: 3-byte frame tag, start code 9d 01 2a, then 14-bit width and height. */
export function vp8FrameSize(frame: Uint8Array): FrameSize | undefined {
  if (frame.byteLength < 10 || frame[0]! & 1) return undefined;
  if (frame[3] !== 0x9d || frame[4] !== 0x01 || frame[5] !== 0x2a) return undefined;
  const width = (frame[6]! | (frame[7]! << 8)) & 0x3fff;
  const height = (frame[8]! | (frame[9]! << 8)) & 0x3fff;
  return { width, height };
}

/** VP9 uncompressed header of a key frame (profile, sync code, color config, frame size). */
export function vp9FrameSize(frame: Uint8Array): FrameSize | undefined {
  const bits = new BitReader(frame);
  try {
    if (bits.u(2) !== 2) return undefined;
    const profile = bits.u1() | (bits.u1() << 1);
    if (profile === 3) bits.skip(1);
    if (bits.flag()) return undefined;
    const keyFrame = bits.u1() === 0;
    bits.skip(2);
    if (!keyFrame || bits.u(24) !== 0x498342) return undefined;
    if (profile >= 2) bits.skip(1);
    const colorSpace = bits.u(3);
    if (colorSpace !== 7) {
      bits.skip(1);
      if (profile === 1 || profile === 3) bits.skip(3);
    } else if (profile === 1 || profile === 3) bits.skip(1);
    return { width: bits.u(16) + 1, height: bits.u(16) + 1 };
  } catch {
    return undefined;
  }
}
