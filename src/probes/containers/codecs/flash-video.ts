/**
 * Picture sizes of the two older Flash video codecs, as FFmpeg's decoders set them from a frame:
 * Sorenson Spark (flvdec.c ff_flv_decode_picture_header) and VP6 (vp6.c vp6_parse_header).
 */
import { BitReader, OutOfData } from '../bytes.js';

export interface FramePicture {
  width: number;
  height: number;
}

/** Sorenson Spark sizes for picture-size codes 2..6. */
const SORENSON_SIZES: Record<number, [number, number]> = { 2: [352, 288], 3: [176, 144], 4: [128, 96], 5: [320, 240], 6: [160, 120] };

/** The size in a Sorenson Spark picture header; undefined when the decoder would reject the frame. */
export function sorensonPicture(frame: Uint8Array): FramePicture | undefined {
  try {
    const bits = new BitReader(frame);
    if (bits.u(17) !== 1) return undefined;
    if (bits.u(5) > 1) return undefined;
    bits.skip(8); // temporal reference
    const code = bits.u(3);
    const size = code === 0 ? [bits.u(8), bits.u(8)] : code === 1 ? [bits.u(16), bits.u(16)] : SORENSON_SIZES[code];
    if (!size || !(size[0]! > 0 && size[1]! > 0)) return undefined;
    return { width: size[0]!, height: size[1]! };
  } catch (error) {
    if (error instanceof OutOfData) return undefined;
    throw error;
  }
}

/**
 * The size a VP6 key frame sets: its macroblock rows and columns, less the cropping the FLV tag's
 * adjustment byte gives (which FFmpeg keeps as the decoder's one-byte extradata).
 */
export function vp6KeyFramePicture(frame: Uint8Array, adjustment: number): FramePicture | undefined {
  if (frame.byteLength < 8 || frame[0]! & 0x80) return undefined; // not a key frame
  const separatedCoefficients = frame[0]! & 1;
  if (frame[1]! >> 3 > 8 || frame[1]! & 1) return undefined; // sub-version the decoder refuses; interlacing unsupported
  const filterHeader = frame[1]! & 0x06;
  const at = separatedCoefficients || !filterHeader ? 2 : 0;
  const rows = frame[at + 2]!;
  const cols = frame[at + 3]!;
  if (!rows || !cols) return undefined;
  return { width: 16 * cols - (adjustment >> 4), height: 16 * rows - (adjustment & 0x0f) };
}
