import { ProbeError } from '../../errors.js';
import type { ImageFacts, ImageFormat } from './format.js';
import { childBoxes, FieldReader, readTopLevelBoxes, type Box } from './isobmff.js';
import { corrupt, fourcc, startsWith, type ByteReader } from './reader.js';

const FTYP = [0x66, 0x74, 0x79, 0x70];
/** MIME type by major brand, as ExifTool and file-type name them (AVIF sequences are image/avif too). */
const MIME_BY_BRAND: Record<string, string> = {
  avif: 'image/avif',
  avis: 'image/avif',
  heic: 'image/heic',
  heix: 'image/heic',
  heim: 'image/heic',
  heis: 'image/heic',
  hevc: 'image/heic-sequence',
  hevx: 'image/heic-sequence',
  hevm: 'image/heic-sequence',
  hevs: 'image/heic-sequence',
  mif1: 'image/heif',
  msf1: 'image/heif-sequence',
};
/** Brands announcing an image sequence, which browsers play from its track. */
const SEQUENCE_BRANDS = new Set(['avis', 'msf1', 'hevc', 'hevx', 'hevm', 'hevs']);
const VISUAL_HANDLERS = new Set(['pict', 'vide']);

interface Size {
  width: number;
  height: number;
}

export const heif: ImageFormat = {
  name: 'heif',
  matches: (head) => startsWith(head, FTYP, 4) && head.byteLength >= 12 && Object.hasOwn(MIME_BY_BRAND, fourcc(head, 8)),
  async probe(reader) {
    const boxes = await readTopLevelBoxes(reader, new Set(['ftyp', 'meta', 'moov']));
    const brands = readBrands(boxes.get('ftyp') ?? new Uint8Array(0));
    const major = brands[0];
    const mime = major !== undefined && Object.hasOwn(MIME_BY_BRAND, major) ? MIME_BY_BRAND[major] : undefined;
    if (!mime) throw corrupt(reader, 'HEIF/AVIF ftyp box is too short to hold its brand');
    const moov = boxes.get('moov');
    if (moov && brands.some((brand) => SEQUENCE_BRANDS.has(brand))) {
      const track = trackSize(reader, moov);
      if (track) return { mime, ...track, orientation: 1 } satisfies ImageFacts;
    }
    const meta = boxes.get('meta');
    if (!meta) throw corrupt(reader, 'HEIF/AVIF file without a meta box (no image items)');
    return { mime, ...(await primaryItem(reader, meta)) } satisfies ImageFacts;
  },
};

/** Major brand first, then the compatible brands (the minor version between them is skipped). */
function readBrands(ftyp: Uint8Array): string[] {
  if (ftyp.byteLength < 4) return [];
  const brands = [fourcc(ftyp, 0)];
  for (let at = 8; at + 4 <= ftyp.byteLength; at += 4) brands.push(fourcc(ftyp, at));
  return brands;
}

/** The size of the first visual track (tkhd width/height, 16.16 fixed point): the animation's canvas. */
function trackSize(reader: ByteReader, moov: Uint8Array): Size | undefined {
  for (const trak of childBoxes(reader, moov, 0).filter((box) => box.type === 'trak')) {
    const children = childBoxes(reader, moov, trak.body, trak.end);
    const tkhd = children.find((box) => box.type === 'tkhd');
    const mdia = children.find((box) => box.type === 'mdia');
    const hdlr = mdia && childBoxes(reader, moov, mdia.body, mdia.end).find((box) => box.type === 'hdlr');
    if (!tkhd || !hdlr || hdlr.body + 12 > hdlr.end || !VISUAL_HANDLERS.has(fourcc(moov, hdlr.body + 8))) continue;
    const fields = new FieldReader(reader, moov, tkhd.body, tkhd.end, 'tkhd box');
    const { version } = fields.fullBox();
    fields.offset += version === 1 ? 84 : 72; // times, track id, layer, volume, matrix
    const width = Math.floor(fields.uint(4) / 65536);
    const height = Math.floor(fields.uint(4) / 65536);
    if (width > 0 && height > 0) return { width, height };
  }
  return undefined;
}

/** The primary item's size after its transformative properties, as the equivalent orientation. */
async function primaryItem(reader: ByteReader, meta: Uint8Array): Promise<Size & { orientation: number }> {
  const children = childBoxes(reader, meta, 4);
  const find = (type: string): Box | undefined => children.find((box) => box.type === type);
  const pitm = find('pitm');
  if (!pitm) throw corrupt(reader, 'HEIF/AVIF meta box names no primary item (pitm)');
  const pitmFields = new FieldReader(reader, meta, pitm.body, pitm.end, 'pitm box');
  const primary = pitmFields.uint(pitmFields.fullBox().version === 0 ? 2 : 4);
  const properties = itemProperties(reader, meta, find('iprp'), primary);
  const displayed = applyTransforms(reader, properties, meta);
  const iloc = find('iloc');
  if (iloc) await checkItemDataInFile(reader, meta, iloc, find('idat'), primary);
  return displayed;
}

/** The property boxes associated with an item (ipma), in association order. */
function itemProperties(reader: ByteReader, meta: Uint8Array, iprp: Box | undefined, item: number): Box[] {
  if (!iprp) throw corrupt(reader, 'HEIF/AVIF meta box has no item properties (iprp)');
  const children = childBoxes(reader, meta, iprp.body, iprp.end);
  const ipco = children.find((box) => box.type === 'ipco');
  if (!ipco) throw corrupt(reader, 'HEIF/AVIF iprp box has no property container (ipco)');
  const container = childBoxes(reader, meta, ipco.body, ipco.end);
  const associated: Box[] = [];
  for (const ipma of children.filter((box) => box.type === 'ipma')) {
    const fields = new FieldReader(reader, meta, ipma.body, ipma.end, 'ipma box');
    const { version, flags } = fields.fullBox();
    for (let entries = fields.uint(4); entries > 0; entries--) {
      const id = fields.uint(version < 1 ? 2 : 4);
      for (let count = fields.uint(1); count > 0; count--) {
        const index = flags & 1 ? fields.uint(2) & 0x7fff : fields.uint(1) & 0x7f;
        // Index 0 means "no property"; an index past the container is ignored as libheif does.
        const property = index > 0 ? container[index - 1] : undefined;
        if (id === item && property) associated.push(property);
      }
    }
  }
  return associated;
}

/**
 * ispe gives the coded size; clap crops and irot turns it, in association order (a clap after
 * an irot crops the turned image). imir mirrors without changing the size.
 */
function applyTransforms(reader: ByteReader, properties: Box[], meta: Uint8Array): Size & { orientation: number } {
  const ispe = properties.find((box) => box.type === 'ispe');
  if (!ispe) throw corrupt(reader, 'HEIF/AVIF primary item has no image size (ispe)');
  const ispeFields = new FieldReader(reader, meta, ispe.body, ispe.end, 'ispe box');
  ispeFields.fullBox();
  let size = { width: ispeFields.uint(4), height: ispeFields.uint(4) };
  if (size.width === 0 || size.height === 0) throw corrupt(reader, `HEIF/AVIF ispe says ${size.width}x${size.height}`);
  let quarterTurns = 0;
  let mirrored = false;
  for (const property of properties) {
    if (property.type === 'clap') size = cleanAperture(reader, meta, property, size);
    if (property.type === 'imir') mirrored = true;
    if (property.type === 'irot') {
      const turns = new FieldReader(reader, meta, property.body, property.end, 'irot box').uint(1) & 3;
      if (turns % 2 === 1) size = { width: size.height, height: size.width };
      quarterTurns = (quarterTurns + turns) % 4;
    }
  }
  const orientation = equivalentOrientation(quarterTurns, mirrored);
  // Facts carry the stored-frame size; the caller turns it back for display.
  const stored = quarterTurns % 2 === 1 ? { width: size.height, height: size.width } : size;
  return { ...stored, orientation };
}

/**
 * EXIF orientation with the same effect on the displayed size: odd quarter turns (irot 90/270)
 * trade width and height like orientations 5-8. The exact value within each group does not
 * matter for the size; mirrored variants map to the mirrored orientations.
 */
function equivalentOrientation(quarterTurns: number, mirrored: boolean): number {
  return (mirrored ? [2, 7, 4, 5] : [1, 8, 3, 6])[quarterTurns]!;
}

/** Clean aperture width/height as libheif rounds them (Fraction::round); a crop larger than the image is damage. */
function cleanAperture(reader: ByteReader, meta: Uint8Array, clap: Box, size: Size): Size {
  const fields = new FieldReader(reader, meta, clap.body, clap.end, 'clap box');
  const [widthN, widthD, heightN, heightD] = [fields.uint(4), fields.uint(4), fields.uint(4), fields.uint(4)];
  if (widthD === 0 || heightD === 0 || widthN > 0x7fffffff || heightN > 0x7fffffff) throw corrupt(reader, 'HEIF/AVIF clap box has an invalid fraction');
  const width = Math.floor((widthN + Math.floor(widthD / 2)) / widthD);
  const height = Math.floor((heightN + Math.floor(heightD / 2)) / heightD);
  if (width < 1 || height < 1 || width > size.width || height > size.height) {
    throw corrupt(reader, `HEIF/AVIF clap ${width}x${height} does not fit the ${size.width}x${size.height} image`);
  }
  return { width, height };
}

/** The primary item's coded data (iloc extents) must lie in the file, or in the idat box. */
async function checkItemDataInFile(reader: ByteReader, meta: Uint8Array, iloc: Box, idat: Box | undefined, item: number): Promise<void> {
  const location = findItemLocation(reader, meta, iloc, item);
  if (!location) return;
  const limit = location.constructionMethod === 1 ? (idat ? idat.end - idat.body : 0) : location.constructionMethod === 0 ? await reader.size() : Infinity;
  for (const extent of location.extents) {
    if (!Number.isSafeInteger(extent.offset + extent.length)) throw corrupt(reader, 'HEIF/AVIF iloc extent points past any file');
    if (extent.offset + extent.length > limit) {
      throw new ProbeError('truncated', `${reader.name}: the primary image's data (${extent.length} bytes at ${extent.offset}) lies past the end of the ${location.constructionMethod === 1 ? 'idat box' : 'file'} (${limit} bytes)`);
    }
  }
}

interface ItemLocation {
  constructionMethod: number;
  extents: { offset: number; length: number }[];
}

/** Parses the iloc box (ISO/IEC 14496-12 8.11.3) up to the entry of `item`. */
function findItemLocation(reader: ByteReader, meta: Uint8Array, iloc: Box, item: number): ItemLocation | undefined {
  const fields = new FieldReader(reader, meta, iloc.body, iloc.end, 'iloc box');
  const { version } = fields.fullBox();
  const sizes = fields.uint(2);
  const offsetSize = sizes >> 12;
  const lengthSize = (sizes >> 8) & 15;
  const baseOffsetSize = (sizes >> 4) & 15;
  const indexSize = version === 1 || version === 2 ? sizes & 15 : 0;
  const itemCount = fields.uint(version < 2 ? 2 : 4);
  for (let i = 0; i < itemCount; i++) {
    const id = fields.uint(version < 2 ? 2 : 4);
    const constructionMethod = version === 1 || version === 2 ? fields.uint(2) & 15 : 0;
    fields.uint(2); // data_reference_index
    const baseOffset = fields.uint(baseOffsetSize);
    const extents = [];
    for (let count = fields.uint(2); count > 0; count--) {
      fields.uint(indexSize);
      const offset = baseOffset + fields.uint(offsetSize);
      extents.push({ offset, length: fields.uint(lengthSize) });
    }
    if (id === item) return { constructionMethod, extents };
  }
  return undefined;
}
