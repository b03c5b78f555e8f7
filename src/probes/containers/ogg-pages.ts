/**
 * The Ogg page layer (RFC 3533) shared by the audio and video probes: page headers, CRC checks,
 * packets from lacing values, and the resynchronisation ffmpeg's ogg_read_page performs.
 */
import { ProbeError } from '../../errors.js';
import { startsWith, u32le, view, type BlockReader } from '../audio/bytes.js';
import { crc32Ogg } from '../audio/crc.js';

export const CONTINUED = 0x01;
export const BOS = 0x02;
export const EOS = 0x04;
/** The largest page (27-byte header, 255 lacing values, 255 * 255 body bytes): ffmpeg looks that far for a sync word. */
export const OGG_MAX_PAGE_SIZE = 65307;

export interface OggPage {
  offset: number;
  flags: number;
  /** -1 when no packet ends on the page. */
  granule: number;
  serial: number;
  sequence: number;
  lacing: Uint8Array;
  headerSize: number;
  size: number;
}

/** What is at an offset: a whole page, no page (other bytes), or a page the end of the file cuts. */
export type PageRead = { page: OggPage } | { end: 'no-page' | 'cut-header' | 'cut-body' };

export async function readPageAt(reader: BlockReader, offset: number, size: number): Promise<PageRead> {
  const header = await reader.bytes(offset, 27);
  if (!startsWith(header, 'OggS') || header[4] !== 0) return { end: 'no-page' };
  if (header.byteLength < 27) return { end: 'cut-header' };
  const segments = header[26]!;
  const lacing = new Uint8Array(await reader.bytes(offset + 27, segments));
  if (lacing.byteLength < segments) return { end: 'cut-header' };
  const bodySize = lacing.reduce((sum, lace) => sum + lace, 0);
  const page: OggPage = {
    offset,
    flags: header[5]!,
    granule: granuleNumber(view(header).getBigInt64(6, true)),
    serial: u32le(header, 14),
    sequence: u32le(header, 18),
    lacing,
    headerSize: 27 + segments,
    size: 27 + segments + bodySize,
  };
  return offset + page.size <= size ? { page } : { end: 'cut-body' };
}

function granuleNumber(granule: bigint): number {
  if (granule === -1n) return -1;
  if (granule < 0n || granule > BigInt(Number.MAX_SAFE_INTEGER)) throw new ProbeError('corrupt_file', `Ogg granule position ${granule}`);
  return Number(granule);
}

/** The offset of the next 'OggS' from `from`, looking at most `limit` bytes on (ffmpeg's sync search). */
export async function findSync(reader: BlockReader, from: number, size: number, limit: number): Promise<number | undefined> {
  const chunk = 1 << 20;
  const stop = Math.min(size, from + limit + 4);
  for (let start = from; start < stop; start += chunk) {
    const bytes = await reader.bytes(start, Math.min(chunk + 3, stop - start));
    for (let i = 0; i + 4 <= bytes.byteLength; i++) if (bytes[i] === 0x4f && startsWith(bytes, 'OggS', i)) return start + i;
  }
  return undefined;
}

/** The whole page, its CRC checked; undefined when the CRC does not match (ffmpeg skips such a page). */
export async function checkedPage(reader: BlockReader, page: OggPage): Promise<Uint8Array | undefined> {
  const bytes = await reader.bytes(page.offset, page.size);
  const header = new Uint8Array(bytes.subarray(0, 27)); // a copy: the CRC is computed with its own field zeroed
  header.fill(0, 22, 26);
  const crc = crc32Ogg(bytes.subarray(27), crc32Ogg(header));
  return crc === u32le(bytes, 22) ? bytes : undefined;
}

/** A page's body after its CRC check; a mismatch is damage. */
export async function pageBody(reader: BlockReader, page: OggPage): Promise<Uint8Array> {
  const bytes = await checkedPage(reader, page);
  if (!bytes) throw new ProbeError('corrupt_file', `Ogg page at byte ${page.offset} fails its CRC check`);
  return bytes.subarray(page.headerSize);
}

/** The packets a page's lacing values split its body into; `open` is an unfinished last packet. */
export function pagePackets(page: OggPage, body: Uint8Array): { packets: Uint8Array[]; open?: Uint8Array } {
  const packets: Uint8Array[] = [];
  let start = 0;
  let position = 0;
  for (const lace of page.lacing) {
    position += lace;
    if (lace < 255) {
      packets.push(body.subarray(start, position));
      start = position;
    }
  }
  return { packets, ...(start < position || page.lacing[page.lacing.length - 1] === 255 ? { open: body.subarray(start, position) } : {}) };
}
