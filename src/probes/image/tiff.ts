import { ProbeError } from '../../errors.js';
import type { ImageFacts, ImageFormat } from './format.js';
import { corrupt, ignoringDamage, startsWith, unsupported, type ByteReader } from './reader.js';
import { TiffStructure, type Ifd } from './tiff-ifd.js';

const LITTLE = [0x49, 0x49];
const BIG = [0x4d, 0x4d];
const CANON_CR2 = [0x43, 0x52]; // "CR" at offset 8 of a Canon CR2
const TAG = {
  width: 256,
  height: 257,
  photometric: 262,
  stripOffsets: 273,
  stripByteCounts: 279,
  tileOffsets: 324,
  tileByteCounts: 325,
  newSubfileType: 254,
  subIfds: 330,
  dngVersion: 50706,
} as const;
/** NewSubfileType bit 0: the directory holds a reduced-resolution copy of an image stored elsewhere. */
const REDUCED_RESOLUTION = 1;
/** Photometric interpretations of sensor data: colour filter array, linear raw. */
const RAW_PHOTOMETRIC = new Set([32803, 34892]);
/** Sub-IFDs looked at when telling a camera raw from a TIFF. */
const MAX_SUB_IFDS = 16;
/** Strip/tile tables larger than this are not read to check that the file holds the data. */
const MAX_DATA_TABLE_ENTRIES = 1 << 20;

export const tiff: ImageFormat = {
  name: 'tiff',
  matches: (head) => isTiffMagic(head, LITTLE, 0x2a, 0) || isTiffMagic(head, BIG, 0, 0x2a) || isTiffMagic(head, LITTLE, 0x2b, 0) || isTiffMagic(head, BIG, 0, 0x2b),
  async probe(reader) {
    const tiff = await TiffStructure.open(reader, 0);
    if (startsWith(await reader.bytes(8, 2), CANON_CR2)) throw unsupported(reader, 'Canon CR2 camera raw is not a format Encord displays');
    const ifd0 = await tiff.ifd(tiff.firstIfd);
    await rejectCameraRaw(reader, tiff, ifd0.entries, ifd0.next);
    const width = await tiff.uint(ifd0.entries, TAG.width);
    const height = await tiff.uint(ifd0.entries, TAG.height);
    if (!width || !height) throw corrupt(reader, `TIFF IFD0 says ${width ?? 'no width'}x${height ?? 'no height'}`);
    await checkDataInFile(reader, tiff, ifd0.entries);
    return { mime: 'image/tiff', width, height, orientation: await tiff.orientation(ifd0.entries) } satisfies ImageFacts;
  },
};

function isTiffMagic(head: Uint8Array, order: number[], b2: number, b3: number): boolean {
  return startsWith(head, order) && head[2] === b2 && head[3] === b3;
}

/**
 * DNG, NEF, ARW, PEF and other camera raws are TIFF files whose main image is sensor data
 * (DNGVersion, or a CFA/LinearRaw photometric in IFD0, IFD1 or a sub-IFD) and whose IFD0 is
 * often only a preview (reduced-resolution): not images Encord shows.
 */
async function rejectCameraRaw(reader: ByteReader, tiff: TiffStructure, ifd0: Ifd, nextIfd: number): Promise<void> {
  if (ifd0.has(TAG.dngVersion)) throw unsupported(reader, 'DNG camera raw is not a format Encord displays');
  const subfileType = await ignoringDamage(tiff.uint(ifd0, TAG.newSubfileType));
  if (subfileType !== undefined && subfileType & REDUCED_RESOLUTION) {
    throw unsupported(reader, 'TIFF whose first image is a reduced-resolution preview (camera raw layout) is not a format Encord displays');
  }
  const related: Ifd[] = [ifd0];
  const subIfds = ifd0.get(TAG.subIfds);
  const offsets = (subIfds && (await ignoringDamage(tiff.uints(subIfds, MAX_SUB_IFDS)))) || [];
  if (nextIfd) offsets.push(nextIfd);
  for (const offset of offsets) {
    const ifd = await ignoringDamage(tiff.ifd(offset));
    if (ifd) related.push(ifd.entries);
  }
  for (const ifd of related) {
    const photometric = await ignoringDamage(tiff.uint(ifd, TAG.photometric));
    if (photometric !== undefined && RAW_PHOTOMETRIC.has(photometric)) {
      throw unsupported(reader, 'camera raw (sensor data in a TIFF container) is not a format Encord displays');
    }
  }
}

/** The strips or tiles IFD0 points at must lie in the file: a cut-off TIFF is `truncated`. */
async function checkDataInFile(reader: ByteReader, tiff: TiffStructure, ifd0: Ifd): Promise<void> {
  const offsets = ifd0.get(TAG.tileOffsets) ?? ifd0.get(TAG.stripOffsets);
  const counts = ifd0.get(TAG.tileByteCounts) ?? ifd0.get(TAG.stripByteCounts);
  if (!offsets || !counts || offsets.count !== counts.count || offsets.count > MAX_DATA_TABLE_ENTRIES) return;
  const starts = await tiff.uints(offsets);
  const lengths = await tiff.uints(counts);
  let end = 0;
  for (let i = 0; i < starts.length; i++) end = Math.max(end, starts[i]! + lengths[i]!);
  const size = await reader.size();
  if (end > size) throw new ProbeError('truncated', `${reader.name}: TIFF image data runs to byte ${end}, the file holds ${size}`);
}
