import type { ByteReader } from './reader.js';

/** What one format module reads from a file's headers. */
export interface ImageFacts {
  /** Content MIME type, decided from the bytes (signature, chunks, brand). */
  mime: string;
  /** Stored size of the primary frame, or the canvas of an animation. */
  width: number;
  height: number;
  /**
   * EXIF orientation (1-8) a browser applies when it shows the image; 1 when there is none or
   * it is out of range. Formats whose own transforms (HEIF irot/imir) rotate the image express
   * them as the equivalent orientation.
   */
  orientation: number;
}

/** One image format, in the manner of the image-size library: a signature test and a header reader. */
export interface ImageFormat {
  readonly name: string;
  /** True when the first bytes (at least HEAD_BYTES, fewer in a shorter file) carry this format's signature. */
  matches(head: Uint8Array): boolean;
  /** Reads the facts, or throws a ProbeError (truncated, corrupt_file, unsupported_format). */
  probe(reader: ByteReader): Promise<ImageFacts>;
}

export const HEAD_BYTES = 32;

/** Orientations 5-8 turn the image a quarter: width and height trade places. */
export function swapsAxes(orientation: number): boolean {
  return orientation >= 5 && orientation <= 8;
}

/** Orientation 0 and values outside 1-8 mean "as stored". */
export function normaliseOrientation(value: number | undefined): number {
  return value !== undefined && Number.isInteger(value) && value >= 1 && value <= 8 ? value : 1;
}
