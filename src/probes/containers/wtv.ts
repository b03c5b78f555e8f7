/**
 * WTV (Windows Media Center recordings). We have no reader for its streams, so ffprobe describes
 * a WTV file; but FFmpeg's demuxer (wtvdec.c read_header) first looks up the file 'timeline' in
 * the root directory of WTV's own small file system and refuses the whole file when that lookup
 * fails ("timeline data missing"). The lookup needs one header and one directory sector, so it is
 * made here, sparing an ffprobe start whose only answer would be that refusal.
 */
import { ProbeError } from '../../errors.js';
import type { ByteSource } from '../../sources/source.js';
import { startsWith, u16le, u32le } from '../audio/bytes.js';

/** The GUID every WTV file opens with (wtv_common.c ff_wtv_guid); FFmpeg's probe scores it 100. */
export const WTV_SIGNATURE = [0xb7, 0xd8, 0x00, 0x20, 0x37, 0x49, 0xda, 0x11, 0xa6, 0x4e, 0x00, 0x07, 0xe9, 0x5e, 0xad, 0x8d];
const DIR_ENTRY_GUID = [0x92, 0xb7, 0x74, 0x91, 0x59, 0x70, 0x70, 0x44, 0x88, 0xdf, 0x06, 0x3b, 0x82, 0xcc, 0x21, 0x3d];
/** 'timeline' in UTF-16LE, as ff_timeline_le16 (16 bytes, no terminator). */
const TIMELINE = Array.from('timeline').flatMap((char) => [char.charCodeAt(0), 0]);
const SECTOR_BITS = 12;
const SECTOR_SIZE = 1 << SECTOR_BITS;
/** The root directory size and sector: little-endian fields at 0x30 and 0x38 of the header. */
const ROOT_FIELDS_END = 0x3c;
const DIR_ENTRY_MIN = 48;

export const isWtv = (head: Uint8Array): boolean => startsWith(head, WTV_SIGNATURE);

/**
 * Throws `corrupt_file` where FFmpeg 5.1's read_header stops before reading any stream: a root
 * directory larger than a sector or past the end of the file, or no directory entry named
 * 'timeline' before the entries end (a foreign GUID, a bad name length or the end of the
 * buffer). Returns when the entry exists: whether it opens is ffprobe's to say.
 */
export async function requireWtvTimeline(source: ByteSource): Promise<void> {
  const root = await readRootDirectory(source);
  if (!hasTimelineEntry(root, source.name)) {
    throw new ProbeError('corrupt_file', `${source.name}: the WTV root directory has no 'timeline' entry, so FFmpeg cannot read the file`);
  }
}

async function readRootDirectory(source: ByteSource): Promise<Uint8Array> {
  // avio_rl32 reads zeros past the end of the file, so a short header reads as zeros too.
  const header = new Uint8Array(ROOT_FIELDS_END);
  header.set(await source.read(0, ROOT_FIELDS_END));
  const rootSize = u32le(header, 0x30);
  const rootSector = u32le(header, 0x38);
  if (rootSize > SECTOR_SIZE) throw new ProbeError('corrupt_file', `${source.name}: the WTV root directory (${rootSize} bytes) exceeds a sector`);
  // read_header takes the sector as a signed int: a negative one is a failed seek.
  if (rootSector >= 2 ** 31) throw new ProbeError('corrupt_file', `${source.name}: the WTV root directory sector ${rootSector} cannot be reached`);
  return source.read(rootSector * SECTOR_SIZE, rootSize);
}

/** wtvfile_open2's walk over the directory entries, looking for 'timeline'. */
function hasTimelineEntry(directory: Uint8Array, name: string): boolean {
  for (let at = 0; at + DIR_ENTRY_MIN <= directory.byteLength; ) {
    if (!startsWith(directory.subarray(at), DIR_ENTRY_GUID)) return false;
    const entryLength = u16le(directory, at + 16);
    const nameBytes = (2 * u32le(directory, at + 32)) | 0; // an int in FFmpeg: negative is a bad length
    if (nameBytes < 0 || DIR_ENTRY_MIN + nameBytes > directory.byteLength - at) return false;
    if (namesTimeline(directory.subarray(at + 40, at + 40 + nameBytes))) return true;
    // FFmpeg steps by the entry's own length; 0 would make it walk the same entry forever.
    if (entryLength === 0) throw new ProbeError('corrupt_file', `${name}: a WTV directory entry has length 0`);
    at += entryLength;
  }
  return false;
}

/** The name matches when it starts with 'timeline' and, if longer, a null character follows. */
function namesTimeline(entryName: Uint8Array): boolean {
  if (!startsWith(entryName, TIMELINE)) return false;
  return entryName.byteLength < TIMELINE.length + 2 || u16le(entryName, TIMELINE.length) === 0;
}
