import type { ImageFacts, ImageFormat } from './format.js';
import { corrupt, startsWith, u16le, type ByteReader } from './reader.js';

const GIF87A = [0x47, 0x49, 0x46, 0x38, 0x37, 0x61];
const GIF89A = [0x47, 0x49, 0x46, 0x38, 0x39, 0x61];
const IMAGE_DESCRIPTOR = 0x2c;
const EXTENSION = 0x21;
const TRAILER = 0x3b;
const LOGICAL_SCREEN_END = 13;

export const gif: ImageFormat = {
  name: 'gif',
  matches: (head) => startsWith(head, GIF87A) || startsWith(head, GIF89A),
  async probe(reader) {
    const screen = await reader.exact(0, LOGICAL_SCREEN_END, 'GIF logical screen descriptor');
    const width = u16le(screen, 6);
    const height = u16le(screen, 8);
    if (width === 0 || height === 0) throw corrupt(reader, `GIF logical screen is ${width}x${height}`);
    const flags = screen[10]!;
    const globalColourTable = flags & 0x80 ? 3 * 2 ** ((flags & 7) + 1) : 0;
    await findFirstImage(reader, LOGICAL_SCREEN_END + globalColourTable);
    return { mime: 'image/gif', width, height, orientation: 1 } satisfies ImageFacts;
  },
};

/** The canvas (logical screen) is only an image when a frame follows: skips extensions up to it. */
async function findFirstImage(reader: ByteReader, offset: number): Promise<void> {
  for (let at = offset; ; ) {
    const introducer = (await reader.exact(at, 1, 'GIF block'))[0];
    if (introducer === IMAGE_DESCRIPTOR) {
      await reader.exact(at, 10, 'GIF image descriptor');
      return;
    }
    if (introducer === TRAILER) throw corrupt(reader, 'GIF ends (trailer) before any image');
    if (introducer !== EXTENSION) throw corrupt(reader, `GIF block at ${at} starts with 0x${introducer!.toString(16)}`);
    at = await skipSubBlocks(reader, at + 2);
  }
}

/** Skips a chain of data sub-blocks (size byte, data) ending with a zero size; returns the offset after it. */
async function skipSubBlocks(reader: ByteReader, offset: number): Promise<number> {
  let at = offset;
  for (let size = (await reader.exact(at, 1, 'GIF sub-block'))[0]!; size !== 0; size = (await reader.exact(at, 1, 'GIF sub-block'))[0]!) {
    at += 1 + size;
  }
  return at + 1;
}
