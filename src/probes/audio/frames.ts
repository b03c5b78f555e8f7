import { ProbeError } from '../../errors.js';
import type { BlockReader } from './bytes.js';
import { DecoderNeeded } from './facts.js';

/** How to recognise the next frame of one elementary stream (MPEG audio, ADTS). */
export interface FrameSyntax {
  /** Used in messages: "MPEG", "ADTS". */
  name: string;
  mime: string;
  /** Bytes needed to read a header. */
  headerBytes: number;
  /**
   * A last frame cut by the end of the file: truncation, or (MPEG audio) a frame the decoder
   * still decodes from the bytes there are; a file whose only frame is cut is truncated either way.
   */
  cutLastFrame: 'truncated' | 'decoded';
  /** Size of the frame starting at `offset` if it is a frame of this stream, else undefined. */
  frameSize(bytes: Uint8Array, offset: number): number | undefined;
  /**
   * Called where the chain of this stream's frames breaks: throws when frames of the same syntax
   * but other parameters go on from there (streams joined end to end), which the demuxer still
   * hands to the decoder.
   */
  refuseParameterChange?(reader: BlockReader, offset: number, end: number): Promise<void>;
}

/**
 * Counts frames laid end to end from `offset` to `end`, as a demuxer reads them. A frame cut
 * by the end of the file is handled as the syntax says. Bytes after the last frame that hold no run of frames
 * are ignored, as the parsers ignore them; frames that resume after junk make the count the
 * decoder's business (parsers drop frames while they resync).
 */
export async function countFrames(reader: BlockReader, offset: number, end: number, syntax: FrameSyntax): Promise<number> {
  let frames = 0;
  while (offset + syntax.headerBytes <= end) {
    const size = syntax.frameSize(await reader.bytes(offset, syntax.headerBytes), 0);
    if (size === undefined) {
      await syntax.refuseParameterChange?.(reader, offset, end);
      if (await framesFollow(reader, offset + 1, end, syntax)) {
        throw new DecoderNeeded(syntax.mime, `${syntax.name} frames resume after junk at byte ${offset}`);
      }
      return frames;
    }
    if (offset + size > end) {
      if (syntax.cutLastFrame === 'decoded' && frames > 0) return frames + 1;
      throw new ProbeError('truncated', `the ${syntax.name} frame at byte ${offset} declares ${size} bytes, the file holds ${end - offset}`);
    }
    frames++;
    offset += size;
  }
  return frames;
}

/** Whether two consecutive frames of the stream start anywhere in [from, end). */
async function framesFollow(reader: BlockReader, from: number, end: number, syntax: FrameSyntax): Promise<boolean> {
  const chunk = 1 << 20;
  for (let start = from; start + syntax.headerBytes <= end; start += chunk) {
    const bytes = await reader.bytes(start, Math.min(chunk + syntax.headerBytes, end - start));
    for (let i = 0; i + syntax.headerBytes <= bytes.byteLength; i++) {
      if (bytes[i] !== 0xff) continue;
      const size = syntax.frameSize(bytes, i);
      if (size === undefined || start + i + size + syntax.headerBytes > end) continue;
      if (syntax.frameSize(await reader.bytes(start + i + size, syntax.headerBytes), 0) !== undefined) return true;
    }
  }
  return false;
}
