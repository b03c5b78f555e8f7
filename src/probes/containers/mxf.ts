/**
 * MXF structure as FFmpeg 5.1's demuxer (libavformat/mxfdec.c) builds it: KLV packets, partition
 * packs (found through the random index pack, else the footer and its chain of previous
 * partitions), the primer pack and the local sets of the header metadata (packages, tracks,
 * sequences, source clips, essence descriptors, essence container data) and index table segments,
 * resolved into the streams mxf_parse_structural_metadata creates: one per material package track
 * whose source clip leads to a source package track, with that track's edit rate, the clip's
 * duration and the source package's descriptor (a clip whose essence lives in another file makes a
 * trackless data stream). Metadata repeated in the footer overrides the header's, as ffmpeg reads
 * the footer last.
 *
 * Only what this module models exactly is answered; everything else is a NeedsFfprobe: files that
 * do not start with the header partition pack (run-in), header metadata in body partitions,
 * encrypted essence, essence groups, operational patterns other than OP1a and OP-Atom, source
 * clips that start past 0, KLV keys ffmpeg would have to resynchronise to. A file that ends before
 * a partition, KLV packet or footer it declares is truncated.
 */
import { ProbeError } from '../../errors.js';
import type { ByteSource } from '../../sources/source.js';
import { startsWith, u16be, u32be } from '../audio/bytes.js';
import { NeedsFfprobe } from './facts.js';
import type { Rational } from './rational.js';

const KLV_PREFIX = [0x06, 0x0e, 0x2b, 0x34];
const PARTITION_PACK_PREFIX = [0x06, 0x0e, 0x2b, 0x34, 0x02, 0x05, 0x01, 0x01, 0x0d, 0x01, 0x02, 0x01, 0x01];
const PRIMER_PACK = [0x06, 0x0e, 0x2b, 0x34, 0x02, 0x05, 0x01, 0x01, 0x0d, 0x01, 0x02, 0x01, 0x01, 0x05, 0x01, 0x00];
const RANDOM_INDEX_PACK = [0x06, 0x0e, 0x2b, 0x34, 0x02, 0x05, 0x01, 0x01, 0x0d, 0x01, 0x02, 0x01, 0x01, 0x11, 0x01, 0x00];
const INDEX_SEGMENT = [0x06, 0x0e, 0x2b, 0x34, 0x02, 0x53, 0x01, 0x01, 0x0d, 0x01, 0x02, 0x01, 0x01, 0x10, 0x01, 0x00];
/** Structural metadata sets: this prefix, then the set's byte 13 and a 0x00. */
const METADATA_SET_PREFIX = [0x06, 0x0e, 0x2b, 0x34, 0x02, 0x53, 0x01, 0x01, 0x0d, 0x01, 0x01, 0x01, 0x01, 0x01];
const CRYPTO_CONTEXT = [0x06, 0x0e, 0x2b, 0x34, 0x02, 0x53, 0x01, 0x01, 0x0d, 0x01, 0x04, 0x01, 0x02, 0x02, 0x00, 0x00];
/** Keys that start essence (mxf_read_header stops reading a partition's metadata at them). */
const ESSENCE_KEYS = [
  [0x06, 0x0e, 0x2b, 0x34, 0x01, 0x02, 0x01, 0x01, 0x0d, 0x01, 0x03, 0x01], // essence element
  [0x06, 0x0e, 0x2b, 0x34, 0x01, 0x02, 0x01, 0x01, 0x0e, 0x04, 0x03, 0x01], // Avid essence element
  [0x06, 0x0e, 0x2b, 0x34, 0x01, 0x02, 0x01, 0x0a, 0x0e, 0x0f, 0x03, 0x01], // Canopus essence element
  [0x06, 0x0e, 0x2b, 0x34, 0x02, 0x05, 0x01, 0x01, 0x0d, 0x01, 0x03, 0x01, 0x04], // CP system item
  [0x06, 0x0e, 0x2b, 0x34, 0x02, 0x43, 0x01, 0x01, 0x0d, 0x01, 0x03, 0x01, 0x14], // GC system item
  [0x06, 0x0e, 0x2b, 0x34, 0x02, 0x04, 0x01, 0x07, 0x0d, 0x01, 0x03, 0x01, 0x02, 0x7e, 0x01, 0x00], // encrypted triplet
];
/** The essence element keys packets are read from (system items are skipped). */
const PACKET_KEYS = ESSENCE_KEYS.slice(0, 3);
const ENCRYPTED_TRIPLET = ESSENCE_KEYS[5]!;
/** Operational pattern ULs: this prefix (version byte 7 aside), then item and package complexity. */
const OPERATIONAL_PATTERN_PREFIX = [0x06, 0x0e, 0x2b, 0x34, 0x04, 0x01, 0x01, 0x01, 0x0d, 0x01, 0x02, 0x01];

/** Limits that keep a hostile or huge file from costing more than ffprobe would. */
const MAX_PARTITIONS = 4096;
const MAX_METADATA_BYTES = 16 << 20;
const MAX_KLVS_WALKED = 20_000;

type MediaType = 'video' | 'audio' | 'data';

export interface Klv {
  offset: number;
  key: Uint8Array;
  length: number;
  /** Where the value starts (after the BER length). */
  valueOffset: number;
  /** First byte after the value. */
  end: number;
}

export interface Partition {
  offset: number;
  kind: 'header' | 'body' | 'footer';
  footerPartition: number;
  headerByteCount: number;
  indexByteCount: number;
  bodySid: number;
  operationalPattern: Uint8Array;
  essenceContainerCount: number;
  /** First byte after the partition pack. */
  packEnd: number;
}

/** Essence of one partition: from its first essence KLV to the next partition. */
export interface EssenceRange {
  bodySid: number;
  start: number;
  end: number;
}

export interface Descriptor {
  essenceContainer?: Uint8Array;
  essenceCoding?: Uint8Array;
  containerDuration?: number;
  width: number;
  height: number;
  frameLayout?: number;
  aspectRatio?: Rational;
  sampleRate?: Rational;
  channels: number;
  bitsPerSample: number;
  linkedTrackId?: number;
}

/** What the readers use of an index table segment. */
export interface IndexSegment {
  bodySid: number;
  editUnitByteCount: number;
}

/** One stream as mxf_parse_structural_metadata creates it. */
export interface MxfStream {
  type: MediaType;
  /** The material track's edit rate (the stream's time base is its inverse). */
  editRate: Rational;
  /** st->duration in edit units; undefined when the clip's duration is unknown (-1). */
  duration?: number;
  trackNumber: Uint8Array;
  bodySid: number;
  descriptor?: Descriptor;
  /** mxf_add_metadata_stream's data stream for a clip whose source package or track is not in the file: no track, no duration. */
  placeholder?: boolean;
}

export interface MxfFile {
  size: number;
  operationalPattern: 'op1a' | 'opatom';
  partitions: Partition[];
  streams: MxfStream[];
  indexSegments: IndexSegment[];
  essence: EssenceRange[];
  source: ByteSource;
}

export function isMxf(head: Uint8Array): boolean {
  return startsWith(head, PARTITION_PACK_PREFIX) && head[13] === 0x02;
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

function i32(bytes: Uint8Array, at: number): number {
  return u32be(bytes, at) | 0;
}

/** 64-bit signed big-endian; beyond 2^53 the file is not one this reader describes. */
function i64(bytes: Uint8Array, at: number): number {
  const value = new DataView(bytes.buffer, bytes.byteOffset + at, 8).getBigInt64(0);
  if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < -BigInt(Number.MAX_SAFE_INTEGER)) throw new NeedsFfprobe('MXF 64-bit value beyond 2^53');
  return Number(value);
}

function rational(bytes: Uint8Array, at: number): Rational {
  return { num: i32(bytes, at), den: i32(bytes, at + 4) };
}

/** Key and BER length of the KLV at `offset` of `bytes` (which hold the file from `base`); undefined when cut. */
function parseKlvHeader(bytes: Uint8Array, offset: number, base: number): Klv | undefined {
  if (offset + 17 > bytes.byteLength) return undefined;
  if (!startsWith(bytes, KLV_PREFIX, offset)) throw new NeedsFfprobe(`MXF: no KLV key at byte ${base + offset} (ffmpeg would resynchronise)`);
  const first = bytes[offset + 16]!;
  let length = first;
  let headerLength = 17;
  if (first & 0x80) {
    const count = first & 0x7f;
    if (count > 8) throw new NeedsFfprobe('MXF BER length over 8 bytes');
    if (offset + 17 + count > bytes.byteLength) return undefined;
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + bytes[offset + 17 + i]!;
    if (length > Number.MAX_SAFE_INTEGER) throw new NeedsFfprobe('MXF KLV length beyond 2^53');
    headerLength += count;
  }
  const at = base + offset;
  return { offset: at, key: bytes.subarray(offset, offset + 16), length, valueOffset: at + headerLength, end: at + headerLength + length };
}

/** Reads the KLV header at a file offset; undefined at the end of the file. */
async function readKlvAt(source: ByteSource, offset: number): Promise<Klv | undefined> {
  const bytes = await source.read(offset, 25);
  const klv = parseKlvHeader(bytes, 0, offset);
  if (klv) klv.key = klv.key.slice();
  return klv;
}

function isPartitionPack(key: Uint8Array): boolean {
  return startsWith(key, PARTITION_PACK_PREFIX) && key[13]! >= 2 && key[13]! <= 4;
}

function isEssenceKey(key: Uint8Array): boolean {
  return ESSENCE_KEYS.some((prefix) => startsWith(key, prefix));
}

function isPacketKey(key: Uint8Array): boolean {
  return PACKET_KEYS.some((prefix) => startsWith(key, prefix));
}

function parsePartitionPack(klv: Klv, value: Uint8Array): Partition {
  if (value.byteLength < 88) throw new NeedsFfprobe('MXF partition pack shorter than 88 bytes');
  const kind = ({ 2: 'header', 3: 'body', 4: 'footer' } as const)[klv.key[13] as 2 | 3 | 4];
  return {
    offset: klv.offset,
    kind,
    footerPartition: i64(value, 24),
    headerByteCount: i64(value, 32),
    indexByteCount: i64(value, 40),
    bodySid: u32be(value, 60),
    operationalPattern: value.slice(64, 80),
    essenceContainerCount: u32be(value, 80),
    packEnd: klv.end,
  };
}

/** A partition's pack and the KLVs after it up to its first essence (or the next partition). */
interface PartitionContent {
  partition: Partition;
  /** Header metadata and index KLVs (primer, local sets, fill), in file order. */
  klvs: { klv: Klv; value: Uint8Array }[];
  /** The first essence KLV, if the partition reaches one. */
  firstEssence?: Klv;
}

/** Reads the partition at `offset` the way mxf_read_header walks it: KLV after KLV until essence or another partition. */
async function readPartition(source: ByteSource, offset: number, size: number): Promise<PartitionContent> {
  const packHeader = await readKlvAt(source, offset);
  if (!packHeader || !isPartitionPack(packHeader.key)) throw new NeedsFfprobe(`MXF: no partition pack at byte ${offset}`);
  if (packHeader.end > size) throw new ProbeError('truncated', `the MXF partition pack at byte ${offset} runs past the end of the file (${size} bytes)`);
  const packValue = await source.read(packHeader.valueOffset, packHeader.length);
  const partition = parsePartitionPack(packHeader, packValue);
  const metadataLength = partition.headerByteCount + partition.indexByteCount;
  if (metadataLength > MAX_METADATA_BYTES) throw new NeedsFfprobe('MXF header metadata over 16 MiB');
  // One read covers the declared metadata and index, plus the first essence KLV's header.
  const blockStart = partition.packEnd;
  const block = await source.read(blockStart, Math.min(metadataLength + 64, size - blockStart));
  const content: PartitionContent = { partition, klvs: [] };
  for (let at = 0; ; ) {
    if (blockStart + at >= size) return content;
    const klv = parseKlvHeader(block, at, blockStart) ?? (await readKlvAt(source, blockStart + at));
    if (!klv) throw new ProbeError('truncated', `the MXF file ends inside a KLV header at byte ${blockStart + at}`);
    if (klv.end > size) throw new ProbeError('truncated', `the MXF KLV at byte ${klv.offset} claims ${klv.length} bytes, past the end of the file (${size} bytes)`);
    if (isPartitionPack(klv.key) || startsWith(klv.key, RANDOM_INDEX_PACK)) return content;
    if (isEssenceKey(klv.key)) {
      content.firstEssence = { ...klv, key: klv.key.slice() };
      return content;
    }
    if (content.klvs.length > MAX_KLVS_WALKED) throw new NeedsFfprobe('MXF partition with too many metadata KLVs');
    const value = klv.end - blockStart <= block.byteLength ? block.subarray(klv.valueOffset - blockStart, klv.end - blockStart) : await readValue(source, klv);
    content.klvs.push({ klv: { ...klv, key: klv.key.slice() }, value });
    at = klv.end - blockStart;
  }
}

async function readValue(source: ByteSource, klv: Klv): Promise<Uint8Array> {
  if (klv.length > MAX_METADATA_BYTES) throw new NeedsFfprobe('MXF metadata KLV over 16 MiB');
  return source.read(klv.valueOffset, klv.length);
}

/**
 * mxf_read_random_index_pack: the partition offsets the RIP lists, when the file ends with a
 * valid one (the same sanity limits as ffmpeg).
 */
async function readRandomIndexPack(source: ByteSource, size: number): Promise<number[] | undefined> {
  if (size < 4) return undefined;
  const length = u32be(await source.read(size - 4, 4), 0);
  const maxLength = Math.min(Math.floor(size / 105) * 12 + 28, 2 ** 31 - 1);
  if (length < 16 + 1 + 24 + 4 || length > maxLength) return undefined;
  const bytes = await source.read(size - length, length);
  const klv = parseKlvHeaderLoose(bytes, size - length);
  if (!klv || !startsWith(klv.key, RANDOM_INDEX_PACK)) return undefined;
  if (klv.end !== size || klv.length <= 4 || (klv.length - 4) % 12) return undefined;
  const offsets: number[] = [];
  for (let at = klv.valueOffset - (size - length); at + 12 <= bytes.byteLength - 4; at += 12) offsets.push(i64(bytes, at + 4));
  return offsets;
}

function parseKlvHeaderLoose(bytes: Uint8Array, base: number): Klv | undefined {
  if (!startsWith(bytes, KLV_PREFIX)) return undefined;
  return parseKlvHeader(bytes, 0, base);
}

/** Local set items: tag -> value (dynamic tags above 0x7fff are not needed by anything modelled here). */
function localItems(value: Uint8Array, where: number): Map<number, Uint8Array> {
  const items = new Map<number, Uint8Array>();
  let at = 0;
  // mxf_read_local_tags reads items while more than 4 bytes remain.
  while (at + 4 < value.byteLength) {
    const tag = u16be(value, at);
    const length = u16be(value, at + 2);
    at += 4;
    if (at + length > value.byteLength) throw new NeedsFfprobe(`MXF local tag ${tag.toString(16)} runs past its set at byte ${where}`);
    if (length > 0) items.set(tag, value.subarray(at, at + length));
    at += length;
  }
  return items;
}

function uidArray(value: Uint8Array | undefined): string[] {
  if (!value || value.byteLength < 8) return [];
  const count = u32be(value, 0);
  if (u32be(value, 4) !== 16 || 8 + count * 16 > value.byteLength) throw new NeedsFfprobe('MXF strong reference array malformed');
  return Array.from({ length: count }, (_, i) => hex(value.subarray(8 + i * 16, 24 + i * 16)));
}

function fixed(items: Map<number, Uint8Array>, tag: number, length: number): Uint8Array | undefined {
  const value = items.get(tag);
  if (value === undefined) return undefined;
  if (value.byteLength < length) throw new NeedsFfprobe(`MXF local tag ${tag.toString(16)} shorter than ${length} bytes`);
  return value;
}

function numberAt(items: Map<number, Uint8Array>, tag: number, read: (bytes: Uint8Array) => number, length: number): number | undefined {
  const value = fixed(items, tag, length);
  return value && read(value);
}

type SetKind =
  | 'contentStorage' | 'sourcePackage' | 'materialPackage' | 'sequence' | 'sourceClip' | 'essenceGroup'
  | 'multipleDescriptor' | 'descriptor' | 'track' | 'timecode' | 'essenceContainerData' | 'other';

/** mxf_metadata_read_table, by the set key's byte 13. */
const SET_KINDS = new Map<number, SetKind>([
  [0x18, 'contentStorage'], [0x37, 'sourcePackage'], [0x36, 'materialPackage'], [0x0f, 'sequence'], [0x11, 'sourceClip'],
  [0x05, 'essenceGroup'], [0x44, 'multipleDescriptor'], [0x42, 'descriptor'], [0x28, 'descriptor'], [0x29, 'descriptor'],
  [0x48, 'descriptor'], [0x47, 'descriptor'], [0x51, 'descriptor'], [0x5b, 'descriptor'], [0x5c, 'descriptor'],
  [0x5e, 'descriptor'], [0x64, 'descriptor'], [0x3a, 'track'], [0x3b, 'track'], [0x14, 'timecode'], [0x23, 'essenceContainerData'],
  [0x2f, 'other'], [0x30, 'other'], [0x3f, 'other'], [0x0c, 'other'], [0x6b, 'other'], [0x6c, 'other'], [0x6d, 'other'],
]);

interface MetadataSet {
  kind: SetKind;
  items: Map<number, Uint8Array>;
}

/** The header metadata: sets by instance UID (a later set with the same UID and kind wins, as mxf_resolve_strong_ref finds the last) and the content storage. */
class HeaderMetadata {
  private readonly sets = new Map<string, MetadataSet[]>();
  packages: string[] = [];
  essenceContainerData: string[] = [];

  add(kind: SetKind, items: Map<number, Uint8Array>): void {
    if (kind === 'contentStorage') {
      // mxf_read_content_storage writes into the demuxer context: the last one read wins.
      this.packages = uidArray(items.get(0x1901));
      this.essenceContainerData = uidArray(items.get(0x1902));
      return;
    }
    const uid = fixed(items, 0x3c0a, 16);
    if (!uid) return;
    const key = hex(uid.subarray(0, 16));
    const list = this.sets.get(key) ?? [];
    list.push({ kind, items });
    this.sets.set(key, list);
  }

  resolve(uid: string | undefined, ...kinds: SetKind[]): MetadataSet | undefined {
    const list = uid === undefined ? undefined : this.sets.get(uid);
    if (!list) return undefined;
    for (let i = list.length - 1; i >= 0; i--) if (kinds.includes(list[i]!.kind)) return list[i];
    return undefined;
  }
}

/** A strong reference stored in a local item (16 bytes). */
function ref(items: Map<number, Uint8Array>, tag: number): string | undefined {
  const value = fixed(items, tag, 16);
  return value && hex(value.subarray(0, 16));
}

function packageId(items: Map<number, Uint8Array>, tag: number): string | undefined {
  const value = fixed(items, tag, 32);
  return value && hex(value.subarray(0, 32));
}

function parseIndexSegment(items: Map<number, Uint8Array>): IndexSegment {
  const entries = items.get(0x3f0a);
  if (entries && entries.byteLength >= 8) {
    // mxf_read_index_entry_array fails the header on entries shorter than 11 bytes.
    const count = u32be(entries, 0);
    const length = u32be(entries, 4);
    if (count > 0 && (length < 11 || 8 + count * length > entries.byteLength)) throw new NeedsFfprobe('MXF index entry array malformed');
  }
  return {
    bodySid: numberAt(items, 0x3f07, (b) => u32be(b, 0), 4) ?? 0,
    editUnitByteCount: numberAt(items, 0x3f05, (b) => u32be(b, 0), 4) ?? 0,
  };
}

function parseDescriptor(items: Map<number, Uint8Array>): Descriptor {
  const descriptor: Descriptor = {
    width: numberAt(items, 0x3203, (b) => u32be(b, 0), 4) ?? 0,
    height: numberAt(items, 0x3202, (b) => u32be(b, 0), 4) ?? 0,
    channels: numberAt(items, 0x3d07, (b) => u32be(b, 0), 4) ?? 0,
    bitsPerSample: numberAt(items, 0x3d01, (b) => u32be(b, 0), 4) ?? 0,
  };
  const container = fixed(items, 0x3004, 16);
  if (container) descriptor.essenceContainer = container.slice(0, 16);
  // PictureEssenceCoding (3201) and SoundEssenceCompression (3D06) fill the same field.
  const coding = fixed(items, 0x3201, 16) ?? fixed(items, 0x3d06, 16);
  if (coding) descriptor.essenceCoding = coding.slice(0, 16);
  if (items.has(0x3005)) throw new NeedsFfprobe('MXF descriptor with a Codec UL (3005)');
  const duration = fixed(items, 0x3002, 8);
  if (duration) descriptor.containerDuration = i64(duration, 0);
  const layout = fixed(items, 0x320c, 1);
  if (layout) descriptor.frameLayout = layout[0];
  const aspect = fixed(items, 0x320e, 8);
  if (aspect) descriptor.aspectRatio = rational(aspect, 0);
  const rate = fixed(items, 0x3d03, 8);
  if (rate) descriptor.sampleRate = rational(rate, 0);
  const linked = fixed(items, 0x3006, 4);
  if (linked) descriptor.linkedTrackId = u32be(linked, 0);
  return descriptor;
}

/** ff_mxf_data_definition_uls (compared on 13 bytes, version byte 7 ignored). */
function mediaTypeOf(dataDefinition: Uint8Array | undefined): MediaType | undefined {
  if (!dataDefinition) return undefined;
  const prefix = [0x06, 0x0e, 0x2b, 0x34, 0x04, 0x01, 0x01, 0x01, 0x01, 0x03, 0x02, 0x02];
  if (!prefix.every((byte, i) => i === 7 || dataDefinition[i] === byte)) return undefined;
  return ({ 1: 'video', 2: 'audio', 3: 'data' } as const)[dataDefinition[12] as 1 | 2 | 3];
}

/**
 * The source seen through one cached block: KLV headers, partition packs and the first bytes of
 * frames lie close together, so most of the many small reads cost no I/O.
 */
class CachedSource implements ByteSource {
  private start = 0;
  private block: Uint8Array = new Uint8Array(0);
  private length?: Promise<number>;

  constructor(private readonly inner: ByteSource) {}

  get name(): string {
    return this.inner.name;
  }

  get extension(): string {
    return this.inner.extension;
  }

  get path(): string | undefined {
    return this.inner.path;
  }

  get bytesRead(): number {
    return this.inner.bytesRead;
  }

  size(): Promise<number> {
    return (this.length ??= this.inner.size());
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    const end = offset + length;
    if (offset >= this.start && end <= this.start + this.block.byteLength) return this.block.subarray(offset - this.start, end - this.start);
    if (length > CACHE_BLOCK) return this.inner.read(offset, length);
    this.block = await this.inner.read(offset, Math.min(CACHE_BLOCK, Math.max(0, (await this.size()) - offset)));
    this.start = offset;
    return this.block.subarray(0, Math.min(length, this.block.byteLength));
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

const CACHE_BLOCK = 16 * 1024;

/** Reads every partition and resolves the streams. */
export async function parseMxf(original: ByteSource): Promise<MxfFile> {
  const source = new CachedSource(original);
  const size = await source.size();
  const header = await readPartition(source, 0, size);
  if (header.partition.kind !== 'header') throw new NeedsFfprobe('MXF file not starting with a header partition');
  const { offsets, footerKnown } = await partitionOffsets(source, header.partition, size);
  const contents = [header];
  for (const offset of offsets) if (offset !== 0) contents.push(await readPartition(source, offset, size));
  const partitions = contents.map((content) => content.partition);
  const operationalPattern = operationalPatternOf(partitions);
  const read = footerKnown ? contents : partitionsBeforeEssence(contents);
  const metadata = headerMetadata(read);
  const indexSegments = read.flatMap((content) => content.klvs.filter(({ klv }) => startsWith(klv.key, INDEX_SEGMENT)).map(({ value, klv }) => parseIndexSegment(localItems(value, klv.offset))));
  if (!contents.some((content) => content.firstEssence)) throw new NeedsFfprobe('MXF file without essence (ffmpeg: "no essence")');
  await checkLastPartition(source, contents[contents.length - 1]!, size);
  const streams = resolveStreams(metadata);
  const essence = contents.flatMap(({ partition, firstEssence }, i) =>
    firstEssence ? [{ bodySid: partition.bodySid, start: firstEssence.offset, end: contents[i + 1]?.partition.offset ?? size }] : [],
  );
  return { size, operationalPattern, partitions, streams, indexSegments, essence, source };
}

/**
 * mxf_read_header reads forward to the first essence, then jumps to the footer and back through
 * the earlier partitions. Without a footer to jump to (no RIP, none named in the header), it
 * stops at the first essence: later partitions' metadata and index are never read.
 */
function partitionsBeforeEssence(contents: PartitionContent[]): PartitionContent[] {
  const firstEssence = contents.findIndex((content) => content.firstEssence);
  if (contents.slice(0, firstEssence).some(({ partition }) => partition.footerPartition > 0)) throw new NeedsFfprobe('MXF footer named by a body partition only');
  return contents.slice(0, firstEssence + 1);
}

/**
 * mxf_read_partition_pack sets the operational pattern from every partition it reads; they must
 * agree. OP-Atom with other than one essence container is read by ffmpeg as another pattern.
 */
function operationalPatternOf(partitions: Partition[]): MxfFile['operationalPattern'] {
  const kinds = new Set(partitions.map(({ operationalPattern: ul, essenceContainerCount }) => {
    if (!OPERATIONAL_PATTERN_PREFIX.every((byte, i) => i === 7 || ul[i] === byte)) return 'other';
    if (ul[12] === 0x10) return essenceContainerCount === 1 ? 'opatom' : 'other';
    return ul[12] === 0x01 && ul[13] === 0x01 ? 'op1a' : 'other';
  }));
  const [kind] = kinds;
  if (kinds.size !== 1 || kind === 'other') throw new NeedsFfprobe('MXF operational pattern other than OP1a or OP-Atom, or differing between partitions');
  return kind!;
}

/**
 * The partitions after the header, in file order: the RIP's list when the file ends with one,
 * else the footer and the chain of previous partitions back from it. A partition offset at or past
 * the end of the file means the file was cut.
 */
async function partitionOffsets(source: ByteSource, header: Partition, size: number): Promise<{ offsets: number[]; footerKnown: boolean }> {
  const fromRip = await readRandomIndexPack(source, size);
  const footer = header.footerPartition;
  if (fromRip) {
    const last = fromRip[fromRip.length - 1]!;
    if (footer && last !== footer) throw new NeedsFfprobe('MXF RIP and header disagree on the footer partition');
    if (fromRip[0] !== 0 || fromRip.some((offset, i) => i > 0 && offset <= fromRip[i - 1]!)) throw new NeedsFfprobe('MXF RIP offsets out of order');
    if (fromRip.length > MAX_PARTITIONS) throw new NeedsFfprobe('MXF file with too many partitions');
    return { offsets: fromRip.slice(1), footerKnown: true };
  }
  if (footer >= size) throw new ProbeError('truncated', `the MXF header places the footer partition at byte ${footer}, the file holds ${size} bytes`);
  if (!footer) return { offsets: await walkPartitionsForward(source, header, size), footerKnown: false };
  const chain: number[] = [];
  for (let offset = footer; offset > 0; ) {
    if (chain.length > MAX_PARTITIONS) throw new NeedsFfprobe('MXF file with too many partitions');
    chain.unshift(offset);
    const klv = await readKlvAt(source, offset);
    if (!klv || !isPartitionPack(klv.key)) throw new NeedsFfprobe(`MXF: no partition pack at byte ${offset}`);
    const previous = i64(await source.read(klv.valueOffset + 16, 8), 0);
    if (previous >= offset) throw new NeedsFfprobe('MXF previous partition does not lie before its partition');
    offset = previous;
  }
  return { offsets: chain, footerKnown: true };
}

/** Without a footer, ffmpeg reads the file forward: every partition is met by walking the KLVs. */
async function walkPartitionsForward(source: ByteSource, header: Partition, size: number): Promise<number[]> {
  const offsets: number[] = [];
  let walked = 0;
  for (let at = header.packEnd; at < size; ) {
    if (++walked > MAX_KLVS_WALKED) throw new NeedsFfprobe('MXF file without footer or RIP and too many KLVs to walk');
    const klv = await readKlvAt(source, at);
    if (!klv || klv.end > size) throw new ProbeError('truncated', `the MXF KLV at byte ${at} runs past the end of the file (${size} bytes)`);
    if (isPartitionPack(klv.key)) offsets.push(at);
    at = klv.end;
  }
  return offsets;
}

/** Every KLV of the last partition (footer, or the last body partition) ends within the file. */
async function checkLastPartition(source: ByteSource, last: PartitionContent, size: number): Promise<void> {
  let at = last.firstEssence?.offset ?? (last.klvs.length ? last.klvs[last.klvs.length - 1]!.klv.end : last.partition.packEnd);
  for (let walked = 0; at < size; walked++) {
    if (walked > MAX_KLVS_WALKED) throw new NeedsFfprobe('MXF last partition with too many KLVs to check');
    const klv = await readKlvAt(source, at);
    if (!klv || klv.end > size) throw new ProbeError('truncated', `the MXF KLV at byte ${at} runs past the end of the file (${size} bytes)`);
    at = klv.end;
  }
}

/**
 * The header metadata ffmpeg resolves. It reads the header partition, then the footer, then the
 * body partitions backward from it; a set repeated under the same UID resolves to the copy read
 * last (the footer's, which also scores best). Header metadata in a body partition is not modelled.
 */
function headerMetadata(contents: PartitionContent[]): HeaderMetadata {
  const carriers = contents.filter((content) => content.klvs.some(({ klv }) => startsWith(klv.key, PRIMER_PACK)));
  if (carriers.length === 0) throw new NeedsFfprobe('MXF file without header metadata');
  if (carriers.some(({ partition }) => partition.kind === 'body')) throw new NeedsFfprobe('MXF header metadata in a body partition');
  const metadata = new HeaderMetadata();
  for (const { klvs } of carriers) {
    for (const { klv, value } of klvs) {
      if (startsWith(klv.key, CRYPTO_CONTEXT)) throw new NeedsFfprobe('encrypted MXF');
      if (!startsWith(klv.key, METADATA_SET_PREFIX) || klv.key[15] !== 0) continue;
      const kind = SET_KINDS.get(klv.key[14]!);
      if (kind) metadata.add(kind, localItems(value, klv.offset));
    }
  }
  return metadata;
}

/** mxf_parse_structural_metadata: the streams of the first material package. */
function resolveStreams(metadata: HeaderMetadata): MxfStream[] {
  const material = metadata.packages.map((uid) => metadata.resolve(uid, 'materialPackage')).find(Boolean);
  if (!material) throw new NeedsFfprobe('MXF without a material package (ffmpeg: "no material package found")');
  const streams: MxfStream[] = [];
  for (const trackUid of uidArray(material.items.get(0x4403))) {
    const track = metadata.resolve(trackUid, 'track');
    if (!track) continue;
    const sequence = metadata.resolve(ref(track.items, 0x4803), 'sequence');
    if (!sequence) continue;
    const stream = resolveTrack(metadata, track, sequence);
    if (stream) streams.push(stream);
  }
  return streams;
}

function resolveTrack(metadata: HeaderMetadata, materialTrack: MetadataSet, materialSequence: MetadataSet): MxfStream | undefined {
  const components = uidArray(materialSequence.items.get(0x1001));
  if (components.some((uid) => metadata.resolve(uid, 'essenceGroup'))) throw new NeedsFfprobe('MXF essence group');
  for (const componentUid of components) {
    const clip = metadata.resolve(componentUid, 'sourceClip');
    if (!clip) continue;
    const packageUid = packageId(clip.items, 0x1101);
    const sourcePackage = metadata.packages.map((uid) => metadata.resolve(uid, 'sourcePackage')).find((p) => p && packageId(p.items, 0x4401) === packageUid);
    if (!sourcePackage) continue;
    const sourceTrackId = numberAt(clip.items, 0x1102, (b) => u32be(b, 0), 4);
    const sourceTrack = uidArray(sourcePackage.items.get(0x4403))
      .map((uid) => {
        const track = metadata.resolve(uid, 'track');
        if (!track) throw new NeedsFfprobe('MXF source track reference unresolved (ffmpeg fails the file)');
        return track;
      })
      .find((track) => numberAt(track.items, 0x4801, (b) => u32be(b, 0), 4) === sourceTrackId);
    if (!sourceTrack) break;
    return makeStream(metadata, { materialTrack, materialSequence, clip, sourcePackage, sourceTrack, packageUid: packageUid! });
  }
  // A clip whose essence lies in another file (OP-Atom sets) still makes a stream; timecode tracks make none.
  if (!components.some((uid) => metadata.resolve(uid, 'sourceClip'))) return undefined;
  return { type: 'data', editRate: { num: 1, den: 1 }, trackNumber: new Uint8Array(4), bodySid: 0, placeholder: true };
}

interface TrackChain {
  materialTrack: MetadataSet;
  materialSequence: MetadataSet;
  clip: MetadataSet;
  sourcePackage: MetadataSet;
  sourceTrack: MetadataSet;
  packageUid: string;
}

function makeStream(metadata: HeaderMetadata, chain: TrackChain): MxfStream | undefined {
  const sourceSequence = metadata.resolve(ref(chain.sourceTrack.items, 0x4803), 'sequence');
  if (!sourceSequence) throw new NeedsFfprobe('MXF source track without its sequence (ffmpeg fails the file)');
  const dataDefinition = fixed(chain.materialSequence.items, 0x0201, 16);
  const sourceDefinition = fixed(sourceSequence.items, 0x0201, 16);
  if (!dataDefinition || !sourceDefinition) throw new NeedsFfprobe('MXF sequence without a data definition');
  // ffmpeg makes no stream of a track whose material and source data definitions differ.
  if (hex(dataDefinition) !== hex(sourceDefinition)) return undefined;
  const type = mediaTypeOf(dataDefinition);
  if (!type) throw new NeedsFfprobe(`MXF data definition ${hex(dataDefinition)} not modelled`);
  const editRate = fixed(chain.materialTrack.items, 0x4b01, 8);
  const rate = editRate && rational(editRate, 0);
  if (!rate || rate.num <= 0 || rate.den <= 0) throw new NeedsFfprobe('MXF material track without a valid edit rate');
  const start = numberAt(chain.clip.items, 0x1201, (b) => i64(b, 0), 8) ?? 0;
  if (start !== 0) throw new NeedsFfprobe('MXF source clip starting past 0');
  const clipDuration = numberAt(chain.clip.items, 0x0202, (b) => i64(b, 0), 8);
  if (clipDuration === undefined) throw new NeedsFfprobe('MXF source clip without a duration');
  const descriptor = resolveDescriptor(metadata, chain);
  if (descriptor?.containerDuration !== undefined && descriptor.containerDuration !== clipDuration) {
    throw new NeedsFfprobe('MXF container duration differs from the source clip duration');
  }
  const trackNumber = fixed(chain.sourceTrack.items, 0x4804, 4)?.slice(0, 4) ?? new Uint8Array(4);
  const container = metadata.essenceContainerData.map((uid) => metadata.resolve(uid, 'essenceContainerData')).find((set) => set && packageId(set.items, 0x2701) === chain.packageUid);
  return {
    type,
    editRate: rate,
    ...(clipDuration >= 0 && { duration: clipDuration }),
    trackNumber,
    bodySid: (container && numberAt(container.items, 0x3f07, (b) => u32be(b, 0), 4)) ?? 0,
    ...(descriptor && { descriptor }),
  };
}

/** mxf_resolve_multidescriptor: the package's descriptor, or the sub-descriptor linked to the source track. */
function resolveDescriptor(metadata: HeaderMetadata, chain: TrackChain): Descriptor | undefined {
  const set = metadata.resolve(ref(chain.sourcePackage.items, 0x4701), 'descriptor', 'multipleDescriptor');
  if (!set) return undefined;
  if (set.kind === 'descriptor') return parseDescriptor(set.items);
  const trackId = numberAt(chain.sourceTrack.items, 0x4801, (b) => u32be(b, 0), 4);
  for (const uid of uidArray(set.items.get(0x3f01))) {
    const sub = metadata.resolve(uid, 'descriptor');
    if (!sub) continue;
    const descriptor = parseDescriptor(sub.items);
    if (descriptor.linkedTrackId === trackId) return descriptor;
  }
  return undefined;
}

/** The KLVs of essence elements after `offset`, in file order, up to the end or `limit` of them. */
export async function* essenceElements(source: ByteSource, offset: number, end: number, limit: number): AsyncGenerator<Klv> {
  let walked = 0;
  for (let at = offset; at < end; ) {
    if (++walked > limit) throw new NeedsFfprobe('MXF essence with too many KLVs to walk');
    const klv = await readKlvAt(source, at);
    const size = await source.size();
    if (!klv || klv.end > size) throw new ProbeError('truncated', `the MXF KLV at byte ${at} runs past the end of the file (${size} bytes)`);
    if (klv.end > end) throw new NeedsFfprobe(`the MXF KLV at byte ${at} runs into the next partition`);
    if (startsWith(klv.key, ENCRYPTED_TRIPLET)) throw new NeedsFfprobe('encrypted MXF essence');
    if (isPacketKey(klv.key)) yield klv;
    at = klv.end;
  }
}

/** mxf_get_stream_index: the stream an essence element belongs to (by track number; OP-Atom's lone stream takes any). */
export function streamOfElement(file: MxfFile, key: Uint8Array, bodySid: number): number {
  const index = file.streams.findIndex(
    (stream) => !stream.placeholder && (!bodySid || !stream.bodySid || stream.bodySid === bodySid) && stream.trackNumber.every((byte, i) => key[12 + i] === byte),
  );
  if (index >= 0) return index;
  return file.streams.length === 1 && !file.streams[0]!.placeholder ? 0 : -1;
}

/** update_stream_timings: the longest stream (each starts at 0); audio durations are rescaled to the sample rate first. */
export function formatDuration(streams: MxfStream[]): number | undefined {
  let longest: number | undefined;
  for (const stream of streams) {
    if (stream.duration === undefined) continue;
    const seconds = streamSeconds(stream, stream.duration);
    longest = Math.max(longest ?? 0, seconds);
  }
  return longest;
}

function streamSeconds(stream: MxfStream, duration: number): number {
  const { num, den } = stream.editRate;
  if (stream.type !== 'audio') return (duration * den) / num;
  const rate = stream.descriptor?.sampleRate;
  if (!rate || rate.den <= 0 || rate.num <= 0) throw new NeedsFfprobe('MXF audio track without a valid sample rate');
  // av_rescale_q(duration, 1 / edit rate, sample rate's time base), rounded to nearest.
  const samples = Math.round((duration * den * rate.num) / (num * rate.den));
  return (samples * rate.den) / rate.num;
}

