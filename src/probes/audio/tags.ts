import { ProbeError } from '../../errors.js';
import type { ByteSource } from '../../sources/source.js';
import { ascii, startsWith, u32le } from './bytes.js';

const ID3V2_HEADER = 10;

/** ffmpeg's test for an ID3v2 header (id3v2.c ff_id3v2_match): "ID3", no 0xFF version, syncsafe size. */
export function isId3v2(bytes: Uint8Array, offset = 0): boolean {
  const b = bytes.subarray(offset);
  return (
    b.byteLength >= ID3V2_HEADER &&
    startsWith(b, 'ID3') &&
    b[3] !== 0xff &&
    b[4] !== 0xff &&
    ((b[6]! | b[7]! | b[8]! | b[9]!) & 0x80) === 0
  );
}

export interface LeadingTags {
  /** Where the media after the ID3v2 tags starts. */
  end: number;
  /** A tag has a footer, which ffmpeg does not skip (its first frame is then found by resync). */
  footer: boolean;
  /** How many tags there are. */
  count: number;
}

/**
 * Skips the ID3v2 tags at the start, one after another as ffmpeg reads them. A tag whose size
 * runs past the end of the file is truncation: the tag header claims bytes the file lacks.
 */
export async function skipLeadingId3v2(source: ByteSource, head: Uint8Array): Promise<LeadingTags> {
  let offset = 0;
  let footer = false;
  for (let count = 0; ; count++) {
    const header = offset + ID3V2_HEADER <= head.byteLength ? head.subarray(offset) : await source.read(offset, ID3V2_HEADER);
    if (!isId3v2(header)) return { end: offset, footer, count };
    const size = (header[6]! << 21) | (header[7]! << 14) | (header[8]! << 7) | header[9]!;
    const end = offset + ID3V2_HEADER + size;
    if ((await source.read(end - 1, 1)).byteLength === 0) {
      throw new ProbeError('truncated', `ID3v2 tag at byte ${offset} declares ${ID3V2_HEADER + size} bytes, the file ends before byte ${end}`);
    }
    footer ||= (header[5]! & 0x10) !== 0;
    offset = end;
  }
}

/**
 * Where the tags at the end of a file begin (ID3v1, Lyrics3v2 and APEv2, in the order taggers
 * append them), so that frame walks stop at the audio's end. `end` when there are none.
 */
export async function trailingTagsStart(source: ByteSource, start: number, end: number): Promise<number> {
  for (;;) {
    const tagStart = await tagBefore(source, start, end);
    if (tagStart === undefined) return end;
    end = tagStart;
  }
}

async function tagBefore(source: ByteSource, start: number, end: number): Promise<number | undefined> {
  if (end - start >= 128 && startsWith(await source.read(end - 128, 3), 'TAG')) return end - 128;
  if (end - start >= 32) {
    const footer = await source.read(end - 32, 32);
    if (startsWith(footer, 'APETAGEX')) {
      const flags = u32le(footer, 20);
      const size = u32le(footer, 12) + ((flags & 0x80000000) !== 0 ? 32 : 0);
      if (size >= 32 && end - size >= start) return end - size;
    }
  }
  if (end - start >= 15) {
    const trailer = await source.read(end - 15, 15);
    if (ascii(trailer, 6, 9) === 'LYRICS200' && /^\d{6}$/.test(ascii(trailer, 0, 6))) {
      const size = Number(ascii(trailer, 0, 6)) + 15;
      if (end - size >= start && ascii(await source.read(end - size, 11), 0, 11) === 'LYRICSBEGIN') return end - size;
    }
  }
  return undefined;
}
