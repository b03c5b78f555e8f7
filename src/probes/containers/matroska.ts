/**
 * Matroska / WebM reader: the EBML header, the Segment's Info, Tracks and Tags (found in order or
 * through the SeekHead), and the first blocks of chosen tracks (timestamps, durations and the
 * first frame). It reads through a ByteSource in increasing offsets, element by element, so a
 * large file costs a few small reads. Element layout and defaults follow the Matroska
 * specification and FFmpeg's matroskadec.
 */
import { ProbeError } from '../../errors.js';
import type { ByteSource } from '../../sources/source.js';

export const EBML_ID = {
  header: 0x1a45dfa3,
  docType: 0x4282,
  docTypeVersion: 0x4287,
  ebmlReadVersion: 0x42f7,
  maxIdLength: 0x42f2,
  maxSizeLength: 0x42f3,
  segment: 0x18538067,
  seekHead: 0x114d9b74,
  seek: 0x4dbb,
  seekId: 0x53ab,
  seekPosition: 0x53ac,
  info: 0x1549a966,
  timecodeScale: 0x2ad7b1,
  duration: 0x4489,
  tracks: 0x1654ae6b,
  trackEntry: 0xae,
  trackNumber: 0xd7,
  trackUid: 0x73c5,
  trackType: 0x83,
  codecId: 0x86,
  codecPrivate: 0x63a2,
  defaultDuration: 0x23e383,
  contentEncodings: 0x6d80,
  video: 0xe0,
  pixelWidth: 0xb0,
  pixelHeight: 0xba,
  displayWidth: 0x54b0,
  displayHeight: 0x54ba,
  displayUnit: 0x54b2,
  stereoMode: 0x53b8,
  frameRate: 0x2383e3,
  projection: 0x7670,
  cluster: 0x1f43b675,
  clusterTimecode: 0xe7,
  simpleBlock: 0xa3,
  blockGroup: 0xa0,
  block: 0xa1,
  blockDuration: 0x9b,
  tags: 0x1254c367,
  tag: 0x7373,
  targets: 0x63c0,
  tagTrackUid: 0x63c5,
  simpleTag: 0x67c8,
  tagName: 0x45a3,
  tagString: 0x4487,
} as const;

/** The element is not valid EBML where it stands. */
export class EbmlError extends Error {}

export interface EbmlElement {
  id: number;
  /** Offset of the element's ID. */
  start: number;
  dataStart: number;
  /** undefined for an unknown-size element (live streams). */
  size?: number;
}

export interface MatroskaVideo {
  pixelWidth?: number;
  pixelHeight?: number;
  displayWidth?: number;
  displayHeight?: number;
  displayUnit: number;
  stereoMode: number;
  frameRate?: number;
  hasProjection: boolean;
}

export interface MatroskaTrack {
  number: number;
  uid?: bigint;
  type?: number;
  codecId?: string;
  codecPrivate?: Uint8Array;
  /** Nanoseconds per frame. */
  defaultDuration?: number;
  hasContentEncodings: boolean;
  video?: MatroskaVideo;
}

export interface MatroskaBlocks {
  /** Absolute timestamps (in TimecodeScale units) of the first blocks, in file order. */
  timestamps: number[];
  /** BlockDuration values of BlockGroups among those blocks. */
  blockDurations: number[];
  /** The first frame's bytes (unlaced blocks only). */
  firstFrame?: Uint8Array;
}

export interface MatroskaFile {
  fileSize: number;
  docType: string;
  docTypeVersion: number;
  segment: { dataStart: number; size?: number };
  timecodeScale: number;
  /** Info/Duration, in TimecodeScale units. */
  duration?: number;
  tracks: MatroskaTrack[];
  /** SimpleTags of tags targeting one track, by TrackUID. */
  trackTags: Map<bigint, Map<string, string>>;
  /** First blocks of the tracks asked for, by track number. */
  blocks: Map<number, MatroskaBlocks>;
  /** Elements whose sizes run past the end of the file. */
  pastEnd: string[];
}

export interface MatroskaReadOptions {
  /** Track numbers whose first blocks to collect (MediaInfo looks at 41). */
  blockTracks?: (tracks: MatroskaTrack[]) => number[];
  blocksPerTrack?: number;
}

/** What the element walkers read through: a ByteSource, or a window over one. */
type Reader = Pick<ByteSource, 'read'>;

const WINDOW_BYTES = 64 * 1024;

/**
 * Serves the walkers' many small reads (element headers, block headers) from 64 KiB windows, so a
 * cluster walk costs a few reads of the source instead of one per element.
 */
class WindowedReader implements Reader {
  private start = 0;
  private bytes: Uint8Array = new Uint8Array(0);

  constructor(private readonly source: ByteSource) {}

  async read(offset: number, length: number): Promise<Uint8Array> {
    const end = offset + length;
    if (offset >= this.start && end <= this.start + this.bytes.byteLength) {
      return this.bytes.subarray(offset - this.start, end - this.start);
    }
    if (length > WINDOW_BYTES) return this.source.read(offset, length);
    this.bytes = await this.source.read(offset, WINDOW_BYTES);
    this.start = offset;
    return this.bytes.subarray(0, Math.min(length, this.bytes.byteLength));
  }
}

/** Masters read whole into memory are bounded; larger ones are suspicious headers. */
const MAX_MASTER_BYTES = 64 * 1024 * 1024;
const HEAD_READ = 64 * 1024;

export async function parseMatroska(source: ByteSource, options: MatroskaReadOptions = {}): Promise<MatroskaFile> {
  const head = await source.read(0, HEAD_READ);
  const header = readHeaderElement(head, 0);
  if (!header || header.id !== EBML_ID.header || header.size === undefined) {
    throw new ProbeError('unsupported_format', `${source.name} does not start with an EBML header`);
  }
  const ebml = readEbmlHeader(head, header, source.name);
  const { segment, segmentStart } = await findSegment(source, header.dataStart + header.size);
  const file: MatroskaFile = {
    fileSize: 0,
    ...ebml,
    segment: { dataStart: segmentStart + segment.dataStart, size: segment.size },
    timecodeScale: 1_000_000,
    tracks: [],
    trackTags: new Map(),
    blocks: new Map(),
    pastEnd: [],
  };
  try {
    await readSegment(new WindowedReader(source), file, options);
  } catch (error) {
    // A file cut inside an element header reads as a malformed element: the Segment's own
    // size says whether the bytes simply end early.
    if (error instanceof EbmlError) await refuseCutSegment(source, file.segment, error);
    throw error;
  }
  file.fileSize = await source.size();
  if (file.segment.size !== undefined && file.segment.dataStart + file.segment.size > file.fileSize) {
    file.pastEnd.push(`Segment declares ${file.segment.size} bytes, the file holds ${file.fileSize - file.segment.dataStart}`);
  }
  return file;
}

async function refuseCutSegment(source: ByteSource, segment: MatroskaFile['segment'], cause: EbmlError): Promise<void> {
  const fileSize = await source.size();
  if (segment.size === undefined || segment.dataStart + segment.size <= fileSize) return;
  throw new ProbeError('truncated', `${source.name}: the Segment declares ${segment.size} bytes, the file holds ${fileSize - segment.dataStart} (${cause.message})`, { cause });
}

/** The DocType of an EBML header at the start of `head`, when it can be read. */
export function readDocType(head: Uint8Array): string | undefined {
  try {
    const header = readHeaderElement(head, 0);
    if (!header || header.id !== EBML_ID.header || header.size === undefined) return undefined;
    const end = Math.min(header.dataStart + header.size, head.byteLength);
    for (let offset = header.dataStart; offset < end; ) {
      const child = readHeaderElement(head, offset);
      if (!child || child.size === undefined) return undefined;
      if (child.id === EBML_ID.docType) return readString(head.subarray(child.dataStart, child.dataStart + child.size));
      offset = child.dataStart + child.size;
    }
  } catch (error) {
    if (!(error instanceof EbmlError)) throw error;
  }
  return undefined;
}

const LEVEL_ZERO_FILLERS: ReadonlySet<number> = new Set([0xec, 0xbf]);

/** The Segment after the EBML header, past any Void or CRC-32 elements at level 0. */
async function findSegment(source: ByteSource, from: number): Promise<{ segment: EbmlElement; segmentStart: number }> {
  for (let offset = from; ; ) {
    const bytes = await source.read(offset, 16);
    const element = readHeaderElement(bytes, 0);
    if (element?.id === EBML_ID.segment) return { segment: element, segmentStart: offset };
    if (!element || element.size === undefined || !LEVEL_ZERO_FILLERS.has(element.id)) {
      if (bytes.byteLength < 12) throw new ProbeError('truncated', `${source.name} ends before its Matroska segment`);
      throw new ProbeError('corrupt_file', `${source.name}: no Matroska segment after the EBML header`);
    }
    offset += element.dataStart + element.size;
  }
}

function readEbmlHeader(head: Uint8Array, header: EbmlElement, name: string): { docType: string; docTypeVersion: number } {
  if (header.dataStart + header.size! > head.byteLength) throw new ProbeError('truncated', `${name} ends inside its EBML header`);
  let docType = 'matroska';
  let docTypeVersion = 1;
  let children: EbmlElement[];
  try {
    children = childElements(head, header.dataStart, header.dataStart + header.size!);
  } catch (error) {
    // FFmpeg gives up on the file too ("EBML header parsing failed").
    if (error instanceof EbmlError) throw new ProbeError('corrupt_file', `${name}: EBML header parsing failed (${error.message})`);
    throw error;
  }
  for (const child of children) {
    const data = head.subarray(child.dataStart, child.dataStart + child.size!);
    if (child.id === EBML_ID.docType) docType = readString(data);
    else if (child.id === EBML_ID.docTypeVersion) docTypeVersion = readUint(data);
    else if (child.id === EBML_ID.ebmlReadVersion && readUint(data) > 1) unsupported(name, 'EBML read version');
    else if (child.id === EBML_ID.maxSizeLength && readUint(data) > 8) unsupported(name, 'EBML size length');
    else if (child.id === EBML_ID.maxIdLength && readUint(data) > 4) unsupported(name, 'EBML ID length');
  }
  if (docTypeVersion > 4) unsupported(name, `DocType version ${docTypeVersion}`);
  return { docType, docTypeVersion };
}

/** Header values FFmpeg refuses or warns about: ffprobe has the last word on those files. */
function unsupported(name: string, what: string): never {
  throw new EbmlError(`${name}: ${what} in the EBML header`);
}

async function readSegment(source: Reader, file: MatroskaFile, options: MatroskaReadOptions): Promise<void> {
  const segmentEnd = file.segment.size === undefined ? Infinity : file.segment.dataStart + file.segment.size;
  const seen = new Set<number>();
  const seeks = new Map<number, number>();
  let firstCluster: EbmlElement | undefined;
  for (let offset = file.segment.dataStart; offset < segmentEnd; ) {
    const element = await readElementAt(source, offset);
    if (!element) break;
    if (element.id === EBML_ID.cluster) {
      firstCluster = element;
      break;
    }
    if (element.size === undefined) throw new EbmlError(`unknown-size element 0x${element.id.toString(16)} before the first cluster`);
    await readLevelOne(source, file, element, seen, seeks);
    offset = element.dataStart + element.size;
  }
  // Blocks first when the tracks are known: the SeekHead usually points further on, and streams only go forward.
  const blocksRead = file.tracks.length > 0 && (await readFirstBlocks(source, file, firstCluster, options));
  for (const id of [EBML_ID.info, EBML_ID.tracks, EBML_ID.tags]) {
    const position = seeks.get(id);
    if (seen.has(id) || position === undefined) continue;
    const element = await readElementAt(source, file.segment.dataStart + position);
    if (element?.id === id && element.size !== undefined) await readLevelOne(source, file, element, seen, seeks);
  }
  if (!blocksRead) await readFirstBlocks(source, file, firstCluster, options);
}

async function readLevelOne(
  source: Reader,
  file: MatroskaFile,
  element: EbmlElement,
  seen: Set<number>,
  seeks: Map<number, number>,
): Promise<void> {
  const parsers: Record<number, (data: Uint8Array) => void> = {
    [EBML_ID.seekHead]: (data) => readSeekHead(data, seeks),
    [EBML_ID.info]: (data) => readInfo(data, file),
    [EBML_ID.tracks]: (data) => (file.tracks = readTracks(data)),
    [EBML_ID.tags]: (data) => readTags(data, file.trackTags),
  };
  const parse = parsers[element.id];
  if (!parse || (seen.has(element.id) && element.id !== EBML_ID.seekHead)) return;
  if (element.size! > MAX_MASTER_BYTES) throw new EbmlError(`element of ${element.size} bytes`);
  const data = await source.read(element.dataStart, element.size!);
  if (data.byteLength < element.size!) {
    file.pastEnd.push(`element 0x${element.id.toString(16)} at ${element.start} runs past the end of the file`);
    return;
  }
  seen.add(element.id);
  // FFmpeg parses these masters to the last leaf and drops what follows damage (a whole track).
  validateTree(data, 0, data.byteLength);
  parse(data);
}

async function readElementAt(source: Reader, offset: number): Promise<EbmlElement | undefined> {
  const bytes = await source.read(offset, 12);
  if (bytes.byteLength === 0) return undefined;
  const element = readHeaderElement(bytes, 0);
  if (!element) throw new EbmlError(`invalid element header at ${offset}`);
  return { ...element, start: offset, dataStart: offset + element.dataStart };
}

/** Reads one element header (ID and size) at `offset` of `bytes`; undefined when it does not fit. */
export function readHeaderElement(bytes: Uint8Array, offset: number): EbmlElement | undefined {
  const id = readVint(bytes, offset, 4, true);
  if (!id) return undefined;
  const size = readVint(bytes, offset + id.length, 8, false);
  if (!size) return undefined;
  return { id: id.value, start: offset, dataStart: offset + id.length + size.length, size: size.unknown ? undefined : size.value };
}

/** An EBML variable-length integer; IDs keep their length marker. A leading 0x00 is invalid. */
function readVint(bytes: Uint8Array, offset: number, maxLength: number, keepMarker: boolean) {
  if (offset >= bytes.byteLength) return undefined;
  const first = bytes[offset]!;
  const length = first === 0 ? 9 : Math.clz32(first) - 23;
  if (length > maxLength) throw new EbmlError(`0x${first.toString(16)} at ${offset} invalid as first byte of an EBML number`);
  if (offset + length > bytes.byteLength) return undefined;
  let value = keepMarker ? first : first & (0xff >> length);
  let allOnes = value === (0xff >> length);
  for (let i = 1; i < length; i++) {
    const byte = bytes[offset + i]!;
    value = value * 256 + byte;
    allOnes &&= byte === 0xff;
  }
  return { value, length, unknown: !keepMarker && allOnes };
}

/** Children of a master element held in memory; a child running past its parent is invalid. */
export function childElements(bytes: Uint8Array, start: number, end: number): EbmlElement[] {
  const out: EbmlElement[] = [];
  for (let offset = start; offset < end; ) {
    const element = readHeaderElement(bytes, offset);
    if (!element || element.size === undefined || element.dataStart + element.size > end) {
      throw new EbmlError(`element at ${offset} exceeds its parent`);
    }
    out.push(element);
    offset = element.dataStart + element.size;
  }
  return out;
}

function dataOf(bytes: Uint8Array, element: EbmlElement): Uint8Array {
  return bytes.subarray(element.dataStart, element.dataStart + element.size!);
}

/** Master elements FFmpeg descends into within SeekHead, Info, Tracks and Tags. */
const MASTER_IDS: ReadonlySet<number> = new Set([
  0x4dbb, 0x6924, 0xae, 0xe0, 0xe1, 0x55b0, 0x55d0, 0x7670, 0x6d80, 0x6240, 0x5034, 0x5035, 0x47e7, 0xe2, 0xe3, 0xe4,
  0xe9, 0x41e4, 0x6624, 0x7373, 0x63c0, 0x67c8,
]);

/** Checks every element header down the tree: a bad number or a child past its parent is damage. */
function validateTree(bytes: Uint8Array, start: number, end: number, depth = 0): void {
  if (depth > 16) throw new EbmlError('elements nested too deep');
  for (const child of childElements(bytes, start, end)) {
    if (MASTER_IDS.has(child.id)) validateTree(bytes, child.dataStart, child.dataStart + child.size!, depth + 1);
  }
}

export function readUint(data: Uint8Array): number {
  let value = 0;
  for (const byte of data) value = value * 256 + byte;
  return value;
}

function readBigUint(data: Uint8Array): bigint {
  let value = 0n;
  for (const byte of data) value = (value << 8n) | BigInt(byte);
  return value;
}

/** EBML floats are 4 or 8 bytes (0 bytes is 0); other sizes are invalid. */
export function readFloat(data: Uint8Array): number {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  if (data.byteLength === 0) return 0;
  if (data.byteLength === 4) return view.getFloat32(0);
  if (data.byteLength === 8) return view.getFloat64(0);
  throw new EbmlError(`float of ${data.byteLength} bytes`);
}

function readString(data: Uint8Array): string {
  const end = data.indexOf(0);
  return new TextDecoder('utf-8').decode(end >= 0 ? data.subarray(0, end) : data);
}

function readSeekHead(data: Uint8Array, seeks: Map<number, number>): void {
  for (const seek of childElements(data, 0, data.byteLength)) {
    if (seek.id !== EBML_ID.seek) continue;
    let id: number | undefined;
    let position: number | undefined;
    for (const field of childElements(data, seek.dataStart, seek.dataStart + seek.size!)) {
      if (field.id === EBML_ID.seekId) id = readUint(dataOf(data, field));
      else if (field.id === EBML_ID.seekPosition) position = readUint(dataOf(data, field));
    }
    if (id !== undefined && position !== undefined && !seeks.has(id)) seeks.set(id, position);
  }
}

function readInfo(data: Uint8Array, file: MatroskaFile): void {
  for (const field of childElements(data, 0, data.byteLength)) {
    if (field.id === EBML_ID.timecodeScale) file.timecodeScale = readUint(dataOf(data, field));
    else if (field.id === EBML_ID.duration) file.duration = readFloat(dataOf(data, field));
  }
}

function readTracks(data: Uint8Array): MatroskaTrack[] {
  return childElements(data, 0, data.byteLength)
    .filter((entry) => entry.id === EBML_ID.trackEntry)
    .map((entry) => readTrackEntry(data, entry));
}

function readTrackEntry(data: Uint8Array, entry: EbmlElement): MatroskaTrack {
  const track: MatroskaTrack = { number: 0, hasContentEncodings: false };
  for (const field of childElements(data, entry.dataStart, entry.dataStart + entry.size!)) {
    const value = dataOf(data, field);
    switch (field.id) {
      case EBML_ID.trackNumber: track.number = readUint(value); break;
      case EBML_ID.trackUid: track.uid = readBigUint(value); break;
      case EBML_ID.trackType: track.type = readUint(value); break;
      case EBML_ID.codecId: track.codecId = readString(value); break;
      case EBML_ID.codecPrivate: track.codecPrivate = value; break;
      case EBML_ID.defaultDuration: track.defaultDuration = readUint(value) || undefined; break;
      case EBML_ID.contentEncodings: track.hasContentEncodings = true; break;
      case EBML_ID.video: track.video = readVideo(data, field); break;
    }
  }
  return track;
}

function readVideo(data: Uint8Array, element: EbmlElement): MatroskaVideo {
  const video: MatroskaVideo = { displayUnit: 0, stereoMode: 0, hasProjection: false };
  for (const field of childElements(data, element.dataStart, element.dataStart + element.size!)) {
    const value = dataOf(data, field);
    switch (field.id) {
      case EBML_ID.pixelWidth: video.pixelWidth = readUint(value); break;
      case EBML_ID.pixelHeight: video.pixelHeight = readUint(value); break;
      case EBML_ID.displayWidth: video.displayWidth = readUint(value); break;
      case EBML_ID.displayHeight: video.displayHeight = readUint(value); break;
      case EBML_ID.displayUnit: video.displayUnit = readUint(value); break;
      case EBML_ID.stereoMode: video.stereoMode = readUint(value); break;
      case EBML_ID.frameRate: video.frameRate = readFloat(value); break;
      case EBML_ID.projection: video.hasProjection = true; break;
    }
  }
  return video;
}

function readTags(data: Uint8Array, trackTags: Map<bigint, Map<string, string>>): void {
  for (const tag of childElements(data, 0, data.byteLength)) {
    if (tag.id !== EBML_ID.tag) continue;
    const fields = childElements(data, tag.dataStart, tag.dataStart + tag.size!);
    const targets = fields.find((field) => field.id === EBML_ID.targets);
    const uids = targets
      ? childElements(data, targets.dataStart, targets.dataStart + targets.size!)
          .filter((field) => field.id === EBML_ID.tagTrackUid)
          .map((field) => readBigUint(dataOf(data, field)))
      : [];
    if (uids.length !== 1) continue;
    const values = trackTags.get(uids[0]!) ?? new Map<string, string>();
    for (const simple of fields.filter((field) => field.id === EBML_ID.simpleTag)) {
      let name: string | undefined;
      let text: string | undefined;
      for (const part of childElements(data, simple.dataStart, simple.dataStart + simple.size!)) {
        if (part.id === EBML_ID.tagName) name = readString(dataOf(data, part));
        else if (part.id === EBML_ID.tagString) text = readString(dataOf(data, part));
      }
      if (name !== undefined && text !== undefined && !values.has(name)) values.set(name, text);
    }
    trackTags.set(uids[0]!, values);
  }
}

/** Walks clusters from the first one, collecting block timestamps until each wanted track has enough. */
async function readFirstBlocks(
  source: Reader,
  file: MatroskaFile,
  firstCluster: EbmlElement | undefined,
  options: MatroskaReadOptions,
): Promise<boolean> {
  const wanted = options.blockTracks?.(file.tracks) ?? [];
  if (!firstCluster || wanted.length === 0) return false;
  const collector: BlockCollector = { source, file, limit: options.blocksPerTrack ?? 41 };
  for (const number of wanted) file.blocks.set(number, { timestamps: [], blockDurations: [] });
  const done = () => wanted.every((number) => file.blocks.get(number)!.timestamps.length >= collector.limit);
  const segmentEnd = file.segment.size === undefined ? Infinity : file.segment.dataStart + file.segment.size;
  let cluster: EbmlElement | undefined = firstCluster;
  while (cluster && cluster.id === EBML_ID.cluster && !done()) {
    const clusterEnd = cluster.size === undefined ? segmentEnd : cluster.dataStart + cluster.size;
    const next = await readClusterBlocks(collector, cluster.dataStart, clusterEnd, done);
    if (next === undefined || next >= segmentEnd) break;
    cluster = await readElementAt(source, next);
  }
  return true;
}

interface BlockCollector {
  source: Reader;
  file: MatroskaFile;
  limit: number;
}

/** Reads one cluster's children; returns the offset after the cluster (or undefined at the end of the data). */
async function readClusterBlocks(collector: BlockCollector, start: number, end: number, done: () => boolean): Promise<number | undefined> {
  let clusterTime = 0;
  let offset = start;
  while (offset < end && !done()) {
    const element = await readElementAt(collector.source, offset);
    if (!element) return undefined;
    // An unknown-size cluster ends where the next cluster begins.
    if (element.id === EBML_ID.cluster) return offset;
    if (element.size === undefined) throw new EbmlError('unknown-size element inside a cluster');
    const elementEnd = element.dataStart + element.size;
    if (element.id === EBML_ID.clusterTimecode) clusterTime = readUint(await readWhole(collector.source, element));
    else if (element.id === EBML_ID.simpleBlock) await noteBlock(collector, element.dataStart, elementEnd, clusterTime, undefined);
    else if (element.id === EBML_ID.blockGroup) await noteBlockGroup(collector, element, clusterTime);
    offset = elementEnd;
  }
  return end === Infinity ? undefined : end;
}

async function readWhole(source: Reader, element: EbmlElement): Promise<Uint8Array> {
  if (element.size! > MAX_MASTER_BYTES) throw new EbmlError(`element of ${element.size} bytes`);
  return source.read(element.dataStart, element.size!);
}

/** A BlockGroup's Block and BlockDuration, found by their headers (the frame data is not read). */
async function noteBlockGroup(collector: BlockCollector, group: EbmlElement, clusterTime: number): Promise<void> {
  const end = group.dataStart + group.size!;
  let block: EbmlElement | undefined;
  let blockDuration: number | undefined;
  for (let offset = group.dataStart; offset < end; ) {
    const child = await readElementAt(collector.source, offset);
    if (!child || child.size === undefined || child.dataStart + child.size > end) throw new EbmlError(`element at ${offset} exceeds its BlockGroup`);
    if (child.id === EBML_ID.block) block = child;
    else if (child.id === EBML_ID.blockDuration) blockDuration = readUint(await readWhole(collector.source, child));
    offset = child.dataStart + child.size;
  }
  if (block) await noteBlock(collector, block.dataStart, block.dataStart + block.size!, clusterTime, blockDuration);
}

/** Block header: track number (vint), signed 16-bit relative timestamp, flags, then the frame(s). */
async function noteBlock(
  { source, file, limit }: BlockCollector,
  start: number,
  end: number,
  clusterTime: number,
  blockDuration: number | undefined,
): Promise<void> {
  const head = await source.read(start, Math.min(end - start, 12));
  const track = readVint(head, 0, 8, false);
  if (!track || head.byteLength < track.length + 3) throw new EbmlError(`block header at ${start}`);
  const blocks = file.blocks.get(track.value);
  if (!blocks || blocks.timestamps.length >= limit) return;
  const relative = new DataView(head.buffer, head.byteOffset + track.length, 2).getInt16(0);
  blocks.timestamps.push(clusterTime + relative);
  if (blockDuration !== undefined) blocks.blockDurations.push(blockDuration);
  const flags = head[track.length + 2]!;
  const laced = (flags & 0x06) !== 0;
  if (blocks.timestamps.length === 1 && !laced) {
    const frameStart = start + track.length + 3;
    blocks.firstFrame = await source.read(frameStart, Math.min(end - frameStart, 4096));
  }
}
