/**
 * ISO BMFF / QuickTime reader: the top-level box list (read through a ByteSource, in increasing
 * offsets, so it works on streams and ranged URLs), and the movie box parsed into tracks with
 * their sample tables. It describes what the file says; deciding what ffprobe would report from
 * it is mp4-video.ts's job. Box semantics follow FFmpeg's mov demuxer (sizes clipped to the
 * parent, size 0 = up to the parent's end, size 1 = 64-bit size).
 */
import { ProbeError } from '../../errors.js';
import type { ByteSource } from '../../sources/source.js';
import { ByteReader, fourcc, OutOfData } from './bytes.js';
import { aacConfigProblem, avcConfigProblem, hevcConfigProblem, readAacConfigHead } from './codecs/decoder-config.js';

export interface Mp4TopBox {
  type: string;
  /** Offset of the box header. */
  start: number;
  /** Whole box size including its header; for size-0 boxes, up to the end of the file. */
  size: number;
  headerSize: number;
  /** The parsed movie fragment, for 'moof' boxes (undefined past MAX_FRAGMENTS or when too large). */
  fragment?: Mp4MovieFragment;
  /** The parsed segment index, for 'sidx' boxes. */
  segmentIndex?: Mp4SegmentIndex;
}

export interface Mp4Brands {
  major: string;
  minor: number;
  compatible: string[];
}

export interface Mp4File {
  fileSize: number;
  brands?: Mp4Brands;
  boxes: Mp4TopBox[];
  /** Box headers that run past the end of the file (the last box, typically). */
  boxesPastEnd: Mp4TopBox[];
  /** The movie box, when one was found whole. */
  movie?: Mp4Movie;
  /** moof boxes at top level: the samples live in fragments, not in the moov sample tables. */
  hasFragments: boolean;
  /** Some moof boxes were not parsed (too many, or too large to read). */
  fragmentsUnread: boolean;
}

export interface Mp4Movie {
  /** mvhd fields; undefined when the moov has no mvhd. */
  header?: { timescale: number; duration: number; matrix: number[] };
  tracks: Mp4Track[];
  /** mvex present: the file is fragmented. */
  hasMovieExtends: boolean;
  /** mvex/trex defaults, in the order met. */
  trackExtends: Mp4TrackExtends[];
  /** Track ids named by the last tref/chap box (QuickTime chapter tracks). */
  chapterTrackIds: number[];
  /** The moov was compressed (cmov) and is not parsed. */
  compressed: boolean;
  /** An iTunSMPB tag (AAC encoder delay and padding) somewhere in the moov. */
  hasGaplessInfo: boolean;
}

/** trex: the defaults a track's fragments inherit. */
export interface Mp4TrackExtends {
  trackId: number;
  sampleDescriptionIndex: number;
  duration: number;
  size: number;
  flags: number;
}

/** A moof box: its track fragments in order, and what FFmpeg takes as its offset. */
export interface Mp4MovieFragment {
  /** mov_read_moof's moof_offset: the payload start less 8 (the box start for a 32-bit size). */
  offset: number;
  trafs: Mp4TrackFragment[];
  /** Child boxes out of the usual order, counts past their box and the like. */
  anomalies: string[];
}

/** tfhd fields (present when its flag is set) plus the traf's tfdt and truns. */
export interface Mp4TrackFragment {
  trackId: number;
  flags: number;
  baseDataOffset?: number;
  sampleDescriptionIndex?: number;
  defaultDuration?: number;
  defaultSize?: number;
  defaultFlags?: number;
  /** tfdt baseMediaDecodeTime. */
  decodeTime?: number;
  runs: Mp4TrackRun[];
}

/** A trun: per-sample arrays are present when their flag is set, else the defaults apply. */
export interface Mp4TrackRun {
  sampleCount: number;
  dataOffset?: number;
  firstSampleFlags?: number;
  durations?: Uint32Array;
  sizes?: Uint32Array;
  /** Composition offsets as FFmpeg reads them (unsigned, then used as a C int). */
  compositionOffsets?: Int32Array;
}

/** A sidx box. */
export interface Mp4SegmentIndex {
  version: number;
  referenceId: number;
  timescale: number;
  earliestPresentationTime: number;
  firstOffset: number;
  /** The box end (where FFmpeg counts first_offset from). */
  end: number;
  references: { type: number; size: number; duration: number }[];
}

export interface Mp4SampleEntry {
  format: string;
  /** The whole entry (header included), for codec-specific parsing. */
  bytes: Uint8Array;
  dataReferenceIndex: number;
}

export interface Mp4TimeToSample {
  count: number;
  delta: number;
}

export interface Mp4SampleToChunk {
  firstChunk: number;
  samplesPerChunk: number;
  descriptionIndex: number;
}

export interface Mp4EditEntry {
  /** In the movie timescale. */
  duration: number;
  /** In the media timescale; -1 is an empty edit. */
  mediaTime: number;
  rate: number;
}

export interface Mp4Track {
  /** Order in the moov, which is ffprobe's stream order. */
  index: number;
  header?: { trackId: number; flags: number; duration: number; matrix: number[]; width: number; height: number };
  media?: { version: number; timescale: number; duration: number };
  /** Handler subtypes in the order met (mdia/hdlr, then minf/hdlr). */
  handlers: string[];
  sampleEntries: Mp4SampleEntry[];
  timeToSample: Mp4TimeToSample[];
  sampleToChunk: Mp4SampleToChunk[];
  sampleSize: { constant: number; count: number; sizes?: ArrayLike<number> };
  chunkOffsets: ArrayLike<number>;
  editList?: Mp4EditEntry[];
  /** dref entries: false when the samples live in another file. */
  dataReferencesSelfContained: boolean[];
  /** The first ctts offset and whether any is negative (FFmpeg then shifts the dts). */
  compositionOffsets?: { first: number; anyNegative: boolean };
  /** Boxes seen twice, counts that overrun their box, and the like: an exact reading is unsure. */
  anomalies: Mp4Anomaly[];
}

/**
 * What ffprobe 5.1 makes of an anomaly: 'refused' (the trak's parse in FFmpeg's mov demuxer
 * returns an error, failing the header read, or the stream's decoder will not open, on which
 * ffprobe 5.1 exits), 'track' (FFmpeg reads on, and only this track's tables or samples differ),
 * 'unknown' (not modelled here).
 */
export type Mp4AnomalyEffect = 'refused' | 'track' | 'unknown';

export interface Mp4Anomaly {
  message: string;
  effect: Mp4AnomalyEffect;
  /** A sample table the trak holds twice, which FFmpeg reads again and takes the last copy of. */
  repeatedTable?: string;
}

const HEADER_PEEK = 16;
/** moof boxes parsed at most: each costs one read; beyond this the file goes to ffprobe. */
export const MAX_FRAGMENTS = 4096;
/** Largest moof read whole. */
const MAX_FRAGMENT_BYTES = 4 * 1024 * 1024;
/** Largest sidx read whole. */
const MAX_SEGMENT_INDEX_BYTES = 1024 * 1024;

/** Bytes read at a box header beyond what is needed: a fragment's moof and the next header mostly fit. */
const LOOKAHEAD = 8 * 1024;

/**
 * Forward reads through a small lookahead buffer, so walking many small boxes (a fragmented
 * file's moof, mdat header, moof, ...) costs one read per fragment rather than several.
 */
class Lookahead {
  private start = 0;
  private buffer: Uint8Array = new Uint8Array();

  constructor(private readonly source: ByteSource) {}

  async read(offset: number, length: number): Promise<Uint8Array> {
    const end = offset + length;
    if (offset >= this.start && end <= this.start + this.buffer.byteLength) return this.buffer.subarray(offset - this.start, end - this.start);
    if (length > LOOKAHEAD) return this.source.read(offset, length);
    this.start = offset;
    this.buffer = await this.source.read(offset, LOOKAHEAD);
    return this.buffer.subarray(0, length);
  }
}

/** Reads the top-level boxes and parses the moov. Throws ProbeError when the bytes are not ISO BMFF. */
export async function parseMp4(source: ByteSource): Promise<Mp4File> {
  const ahead = new Lookahead(source);
  const boxes: Mp4TopBox[] = [];
  let brands: Mp4Brands | undefined;
  let movieBox: Mp4TopBox | undefined;
  let movieBytes: Uint8Array | undefined;
  let freeMovie: Mp4TopBox | undefined;
  let hasFragments = false;
  let fragmentsUnread = false;
  let fragmentCount = 0;
  let fileSize: number | undefined;
  let shortTailAt: number | undefined;

  for (let offset = 0; ; ) {
    const head = await ahead.read(offset, HEADER_PEEK);
    if (head.byteLength < 8) {
      if (head.byteLength > 0) shortTailAt = offset;
      break;
    }
    const reader = new ByteReader(head);
    let size = reader.u32();
    const type = reader.fourcc();
    let headerSize = 8;
    if (size === 1) {
      if (head.byteLength < 16) {
        boxes.push({ type, start: offset, size: Number.MAX_SAFE_INTEGER, headerSize: 16 });
        break;
      }
      size = reader.u64();
      headerSize = 16;
    } else if (size === 0) {
      fileSize ??= await source.size();
      size = fileSize - offset;
    }
    if (size < headerSize || !Number.isSafeInteger(offset + size)) break;
    const box: Mp4TopBox = { type, start: offset, size, headerSize };
    boxes.push(box);
    if (type === 'ftyp' && !brands) brands = await readBrands(ahead, box);
    else if ((type === 'moov' || (type === 'hoov' && startsWithMovieHeader(head))) && !movieBox) {
      movieBox = box;
      movieBytes = await ahead.read(offset, size);
    } else if (type === 'free' && startsWithMovieHeader(head)) freeMovie ??= box;
    else if (type === 'moof') {
      hasFragments = true;
      if (++fragmentCount <= MAX_FRAGMENTS && size <= MAX_FRAGMENT_BYTES) box.fragment = await readMovieFragment(ahead, box);
      fragmentsUnread ||= !box.fragment;
    } else if (type === 'sidx' && size <= MAX_SEGMENT_INDEX_BYTES) box.segmentIndex = await readSegmentIndex(ahead, box);
    offset += size;
  }
  if (boxes.length === 0) throw new ProbeError('unsupported_format', `${source.name} holds no ISO BMFF boxes`);

  fileSize ??= await source.size();
  // FFmpeg retries a moov hidden in a 'free' box when there is no real one.
  if (!movieBox && freeMovie) {
    movieBox = freeMovie;
    movieBytes = await source.read(freeMovie.start, freeMovie.size);
  }
  const boxesPastEnd = boxes.filter((box) => box.start + box.size > fileSize! && FILE_LEVEL_BOXES.has(box.type));
  let movie: Mp4Movie | undefined;
  if (movieBox && movieBytes && movieBytes.byteLength === movieBox.size) {
    movie = parseMovie(movieBytes, movieBox.headerSize);
  }
  // mov_read_default reads no box from fewer than 8 bytes. After a whole movie that is not
  // fragmented they describe nothing; in a fragmented file (or one without a movie yet) they are
  // the start of the next moof (or moov) header the file no longer holds.
  if (shortTailAt !== undefined && (!movie || hasFragments || movie.hasMovieExtends)) {
    throw new ProbeError('truncated', `${source.name} ends inside a box header at byte ${shortTailAt}`);
  }
  return { fileSize, brands, boxes, boxesPastEnd, movie, hasFragments, fragmentsUnread };
}

/**
 * Box types ISO BMFF and QuickTime put at file level. Only such a box running past the end is the
 * file's own claim; bytes appended after the last box (junk, text, 0xFF fill) read as a box of no
 * known type, which FFmpeg skips as an unknown atom, and describe nothing.
 */
export const FILE_LEVEL_BOXES = new Set([
  'ftyp', 'styp', 'pdin', 'moov', 'hoov', 'moof', 'mfra', 'mdat', 'imda', 'free', 'skip', 'wide', 'meta', 'meco', 'sidx', 'ssix',
  'prft', 'emsg', 'uuid', 'udta', 'pnot', 'PICT',
]);

function startsWithMovieHeader(head: Uint8Array): boolean {
  if (head.byteLength < 16) return false;
  const child = fourcc(head, 12);
  return child === 'mvhd' || child === 'cmov';
}

async function readBrands(source: Lookahead, box: Mp4TopBox): Promise<Mp4Brands | undefined> {
  const bytes = await source.read(box.start + box.headerSize, Math.min(box.size - box.headerSize, 1024));
  if (bytes.byteLength < 8) return undefined;
  const reader = new ByteReader(bytes);
  const major = reader.fourcc();
  const minor = reader.u32();
  const compatible: string[] = [];
  while (reader.remaining >= 4) compatible.push(reader.fourcc());
  return { major, minor, compatible };
}

/** A child box: its type and where its payload lies in the parent's bytes. */
export interface ChildBox {
  type: string;
  start: number;
  payloadStart: number;
  end: number;
}

/**
 * The child boxes in bytes[start, end), as FFmpeg's mov_read_default reads them: a size past the
 * parent is clipped to it, size 0 runs to the parent's end, a size under 8 stops the list.
 */
export function childBoxes(bytes: Uint8Array, start: number, end: number): ChildBox[] {
  const out: ChildBox[] = [];
  let offset = start;
  while (end - offset >= 8) {
    const reader = new ByteReader(bytes, offset);
    let size = reader.u32();
    const type = reader.fourcc();
    let headerSize = 8;
    if (size === 1 && end - offset >= 16) {
      size = reader.u64();
      headerSize = 16;
    } else if (size === 0) {
      size = end - offset;
    }
    if (size < headerSize) break;
    const boxEnd = Math.min(offset + size, end);
    out.push({ type, start: offset, payloadStart: offset + headerSize, end: boxEnd });
    offset = boxEnd;
  }
  return out;
}

/** The moov box's tracks and movie-level boxes; `bytes` holds the box from `headerSize` on to its end. */
export function parseMovie(bytes: Uint8Array, headerSize: number): Mp4Movie {
  const hasGaplessInfo = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).includes('iTunSMPB');
  const movie: Mp4Movie = { tracks: [], hasMovieExtends: false, trackExtends: [], chapterTrackIds: [], compressed: false, hasGaplessInfo };
  for (const box of childBoxes(bytes, headerSize, bytes.byteLength)) {
    const payload = bytes.subarray(box.payloadStart, box.end);
    switch (box.type) {
      case 'mvhd':
        movie.header ??= readMovieHeader(payload);
        break;
      case 'trak':
        movie.tracks.push(parseTrack(payload, movie.tracks.length, movie));
        break;
      case 'mvex':
        movie.hasMovieExtends = true;
        movie.trackExtends.push(...readTrackExtends(bytes, box));
        break;
      case 'cmov':
        movie.compressed = true;
        break;
    }
  }
  return movie;
}

function readMovieHeader(payload: Uint8Array): Mp4Movie['header'] {
  try {
    const reader = new ByteReader(payload);
    const version = reader.u8();
    reader.skip(3 + (version === 1 ? 16 : 8));
    const timescale = reader.i32();
    const duration = version === 1 ? reader.u64() : reader.u32();
    reader.skip(4 + 2 + 10);
    return { timescale, duration, matrix: readMatrix(reader) };
  } catch (error) {
    if (error instanceof OutOfData) return undefined;
    throw error;
  }
}

function readMatrix(reader: ByteReader): number[] {
  return Array.from({ length: 9 }, () => reader.i32());
}

function emptyTrack(index: number): Mp4Track {
  return {
    index,
    handlers: [],
    sampleEntries: [],
    timeToSample: [],
    sampleToChunk: [],
    sampleSize: { constant: 0, count: 0 },
    chunkOffsets: [],
    dataReferencesSelfContained: [],
    anomalies: [],
  };
}

/** Boxes whose children belong to the track (everything else inside trak is a leaf or ignored). */
const TRACK_CONTAINERS = new Set(['mdia', 'minf', 'stbl', 'edts', 'tref', 'dinf']);

function parseTrack(bytes: Uint8Array, index: number, movie: Mp4Movie): Mp4Track {
  const track = emptyTrack(index);
  const seen = new Set<string>();
  const visit = (start: number, end: number): void => {
    for (const box of childBoxes(bytes, start, end)) {
      if (TRACK_CONTAINERS.has(box.type)) {
        visit(box.payloadStart, box.end);
        continue;
      }
      if (box.type === 'trak' || box.type === 'mdat') {
        note(track, 'unknown', `${box.type} inside a track`);
        return;
      }
      const payload = bytes.subarray(box.payloadStart, box.end);
      if (seen.has(box.type) && TABLE_BOXES.has(box.type)) {
        const effect = duplicateEffect(track, box.type);
        track.anomalies.push({ message: `duplicate ${box.type}`, effect, ...(effect === 'track' ? { repeatedTable: box.type } : {}) });
      }
      seen.add(box.type);
      if (box.type === 'stsz' && box.end - box.payloadStart < STSZ_FIXED_BYTES) {
        readShortSampleSizes(track, bytes.subarray(box.payloadStart));
        continue;
      }
      try {
        readTrackBox(track, box.type, payload, movie);
      } catch (error) {
        if (!(error instanceof OutOfData)) throw error;
        note(track, 'unknown', `${box.type} ends early`);
      }
    }
  };
  visit(0, bytes.byteLength);
  return track;
}

const TABLE_BOXES = new Set(['tkhd', 'mdhd', 'stsd', 'stts', 'stsc', 'stsz', 'stz2', 'stco', 'co64', 'elst', 'stss', 'ctts']);

function note(track: Mp4Track, effect: Mp4AnomalyEffect, message: string): void {
  track.anomalies.push({ message, effect });
}

/**
 * Tables FFmpeg reads again when repeated, keeping the last copy, as this parser does. Not ctts:
 * mov_read_ctts reallocates from NULL against the first copy's allocated size, so a second ctts no
 * larger than the first fails with ENOMEM.
 */
const REREAD_TABLES = new Set(['stts', 'stss', 'elst']);

/**
 * A second tkhd fails the trak once the first set a track id (mov_read_tkhd: st->id != -1), a
 * second stsd always does (mov_read_stsd: "Duplicate stsd"); tables FFmpeg reads again only change
 * this track. Others FFmpeg ignores, checks against the first copy, or trips over (not modelled).
 */
function duplicateEffect(track: Mp4Track, type: string): Mp4AnomalyEffect {
  if (type === 'stsd') return 'refused';
  if (type === 'tkhd') return track.header && track.header.trackId !== 0xffffffff ? 'refused' : 'unknown';
  return REREAD_TABLES.has(type) ? 'track' : 'unknown';
}

/** Version and flags, sample size, sample count. */
const STSZ_FIXED_BYTES = 12;

/**
 * An stsz box too short for its fixed fields: FFmpeg reads them from the bytes that follow it
 * (`following`, to the end of the trak) and then seeks back to the box end. Modelled only when
 * those bytes give no samples (a sample count of 0): the track then has no packets, whatever
 * the tables say; anything else is left to ffprobe.
 */
function readShortSampleSizes(track: Mp4Track, following: Uint8Array): void {
  if (following.byteLength < STSZ_FIXED_BYTES) return note(track, 'unknown', 'stsz ends early');
  const reader = new ByteReader(following, 4);
  const constant = reader.u32();
  const count = reader.u32();
  if (count !== 0) return note(track, 'unknown', `stsz ends early, the bytes after it count ${count} samples`);
  track.sampleSize = { constant, count: 0 };
  note(track, 'track', 'stsz ends early (no samples)');
}

function readTrackBox(track: Mp4Track, type: string, payload: Uint8Array, movie: Mp4Movie): void {
  const reader = new ByteReader(payload);
  switch (type) {
    case 'tkhd':
      track.header = readTrackHeader(reader);
      break;
    case 'mdhd':
      track.media = readMediaHeader(reader, track);
      break;
    case 'hdlr':
      reader.skip(8);
      track.handlers.push(reader.fourcc());
      break;
    case 'stsd':
      track.sampleEntries = readSampleDescriptions(reader, track);
      // The decoder opens with the first entry's configuration only.
      track.sampleEntries.forEach((entry, i) => {
        for (const problem of decoderConfigProblems(entry)) note(track, i === 0 ? problem.effect : 'unknown', problem.message);
      });
      break;
    case 'stts':
      track.timeToSample = readTimeToSample(reader, track);
      break;
    case 'stsc':
      track.sampleToChunk = readSampleToChunk(reader, track);
      break;
    case 'stsz':
    case 'stz2':
      track.sampleSize = readSampleSizes(reader, type, track);
      break;
    case 'stco':
    case 'co64':
      track.chunkOffsets = readChunkOffsets(reader, type === 'co64', track);
      break;
    case 'elst':
      track.editList = readEditList(reader, payload.byteLength);
      break;
    case 'ctts':
      track.compositionOffsets = readCompositionOffsets(reader, track);
      break;
    case 'stss':
    case 'stps':
      // Not needed for the answer, but FFmpeg reads the declared count past the box (and fails at EOF).
      reader.skip(4);
      entryCount(reader, 4, track, type);
      break;
    case 'chap':
      movie.chapterTrackIds = Array.from({ length: Math.floor(payload.byteLength / 4) }, () => reader.u32());
      break;
    case 'dref':
      track.dataReferencesSelfContained = readDataReferences(reader, payload.byteLength, track);
      break;
  }
}

function readTrackHeader(reader: ByteReader): Mp4Track['header'] {
  const version = reader.u8();
  const flags = reader.u24();
  reader.skip(version === 1 ? 16 : 8);
  const trackId = reader.u32();
  reader.skip(4);
  const duration = version === 1 ? reader.u64() : reader.u32();
  reader.skip(8 + 8);
  const matrix = readMatrix(reader);
  const width = reader.i32();
  const height = reader.i32();
  return { trackId, flags, duration, matrix, width, height };
}

function readMediaHeader(reader: ByteReader, track: Mp4Track): Mp4Track['media'] {
  const version = reader.u8();
  if (version > 1) note(track, 'refused', `mdhd version ${version}`);
  reader.skip(3 + (version === 1 ? 16 : 8));
  const timescale = reader.i32();
  // FFmpeg stores a 64-bit duration in a signed int64 (all ones, "unknown", reads as -1).
  const duration = version === 1 ? Number(reader.i64()) : reader.u32();
  return { version, timescale, duration };
}

/**
 * Entry counts are checked against the box size: a count that overruns it is an anomaly. FFmpeg
 * reads such entries on from the bytes after the box (not modelled), except that mov_read_stsc
 * fails the trak when the entries overrun the box by 4 bytes or more.
 */
function entryCount(reader: ByteReader, entrySize: number, track: Mp4Track, box: string): number {
  const count = reader.u32();
  if (count * entrySize > reader.remaining) {
    const effect = box === 'stsc' && count * entrySize + 4 > reader.bytes.byteLength ? 'refused' : 'unknown';
    note(track, effect, `${box} count ${count} overruns its box`);
    return Math.floor(reader.remaining / entrySize);
  }
  return count;
}

function readSampleDescriptions(reader: ByteReader, track: Mp4Track): Mp4SampleEntry[] {
  reader.skip(4);
  const count = reader.u32();
  if (count === 0 || count > 1024 || count > reader.bytes.byteLength / 8) {
    note(track, 'refused', `stsd with ${count} entries`);
    return [];
  }
  const entries: Mp4SampleEntry[] = [];
  for (let i = 0; i < count && reader.remaining >= 8; i++) {
    const start = reader.position;
    const size = reader.u32();
    const format = reader.fourcc();
    if (size < 8 || size > reader.remaining + 8) {
      // ff_mov_read_stsd_entries refuses an entry under 8 bytes; a larger one is read past the box.
      note(track, size < 8 ? 'refused' : 'unknown', `stsd entry of ${size} bytes`);
      break;
    }
    const dataReferenceIndex = size >= 16 ? new DataView(reader.bytes.buffer, reader.bytes.byteOffset + start + 14, 2).getUint16(0) : 1;
    entries.push({ format, bytes: reader.bytes.subarray(start, start + size), dataReferenceIndex });
    reader.position = start + size;
  }
  return entries;
}

function readTimeToSample(reader: ByteReader, track: Mp4Track): Mp4TimeToSample[] {
  reader.skip(4);
  const count = entryCount(reader, 8, track, 'stts');
  const entries: Mp4TimeToSample[] = new Array(count);
  for (let i = 0; i < count; i++) entries[i] = { count: reader.u32(), delta: reader.u32() };
  return entries;
}

function readSampleToChunk(reader: ByteReader, track: Mp4Track): Mp4SampleToChunk[] {
  reader.skip(4);
  const count = entryCount(reader, 12, track, 'stsc');
  const entries: Mp4SampleToChunk[] = new Array(count);
  for (let i = 0; i < count; i++) {
    entries[i] = { firstChunk: reader.u32(), samplesPerChunk: reader.u32(), descriptionIndex: reader.u32() };
  }
  return entries;
}

function readSampleSizes(reader: ByteReader, type: string, track: Mp4Track): Mp4Track['sampleSize'] {
  reader.skip(4);
  if (type === 'stsz') {
    const constant = reader.u32();
    if (constant !== 0) return { constant, count: reader.u32() };
    const count = entryCount(reader, 4, track, 'stsz');
    const sizes = new Uint32Array(count);
    for (let i = 0; i < count; i++) sizes[i] = reader.u32();
    // mov_read_stsz keeps sizes in C ints and fails the trak on a negative one.
    if (sizes.some((size) => size > 0x7fffffff)) note(track, 'refused', 'stsz sample size of 2 GiB or more');
    return { constant, count, sizes };
  }
  reader.skip(3);
  const fieldSize = reader.u8();
  const declared = reader.u32();
  if (![4, 8, 16, 32].includes(fieldSize)) {
    note(track, 'refused', `stz2 field size ${fieldSize}`);
    return { constant: 0, count: 0 };
  }
  const count = Math.min(declared, Math.floor((reader.remaining * 8) / fieldSize));
  if (count < declared) note(track, 'unknown', 'stz2 count overruns its box');
  const sizes = new Uint32Array(count);
  const base = reader.position;
  for (let i = 0; i < count; i++) {
    const bit = i * fieldSize;
    const byte = reader.bytes[base + (bit >> 3)]!;
    if (fieldSize === 4) sizes[i] = (bit & 7) === 0 ? byte >> 4 : byte & 15;
    else {
      let value = 0;
      for (let b = 0; b < fieldSize / 8; b++) value = value * 256 + reader.bytes[base + (bit >> 3) + b]!;
      sizes[i] = value;
    }
  }
  return { constant: 0, count, sizes };
}

function readChunkOffsets(reader: ByteReader, wide: boolean, track: Mp4Track): ArrayLike<number> {
  reader.skip(4);
  const count = entryCount(reader, wide ? 8 : 4, track, wide ? 'co64' : 'stco');
  const offsets = new Float64Array(count);
  for (let i = 0; i < count; i++) offsets[i] = wide ? reader.u64() : reader.u32();
  return offsets;
}

/** FFmpeg trusts the box size over the declared count when they disagree. */
function readEditList(reader: ByteReader, payloadSize: number): Mp4EditEntry[] {
  const version = reader.u8();
  reader.skip(3);
  let count = reader.u32();
  const entrySize = version === 1 ? 20 : 12;
  const bodySize = payloadSize - 8;
  if (bodySize !== count * entrySize) count = Math.floor(bodySize / entrySize);
  const entries: Mp4EditEntry[] = [];
  for (let i = 0; i < count && reader.remaining >= entrySize; i++) {
    const duration = version === 1 ? reader.u64() : reader.u32();
    const mediaTime = version === 1 ? Number(reader.i64()) : reader.i32();
    const rate = reader.i32() / 65536;
    entries.push({ duration, mediaTime, rate });
  }
  return entries;
}

/** ctts: the first sample's offset (entries with a zero count hold no sample) and any negative offset. */
function readCompositionOffsets(reader: ByteReader, track: Mp4Track): Mp4Track['compositionOffsets'] {
  reader.skip(4);
  const count = entryCount(reader, 8, track, 'ctts');
  let first: number | undefined;
  let anyNegative = false;
  for (let i = 0; i < count; i++) {
    const samples = reader.u32();
    const offset = reader.i32();
    if (samples > 0) first ??= offset;
    anyNegative ||= offset < 0;
  }
  return { first: first ?? 0, anyNegative };
}

/** The trex boxes of an mvex. */
function readTrackExtends(bytes: Uint8Array, mvex: ChildBox): Mp4TrackExtends[] {
  return childBoxes(bytes, mvex.payloadStart, mvex.end)
    .filter((box) => box.type === 'trex' && box.end - box.payloadStart >= 24)
    .map((box) => {
      const reader = new ByteReader(bytes.subarray(box.payloadStart, box.end), 4);
      return { trackId: reader.u32(), sampleDescriptionIndex: reader.u32(), duration: reader.u32(), size: reader.u32(), flags: reader.u32() };
    });
}

async function readMovieFragment(source: Lookahead, box: Mp4TopBox): Promise<Mp4MovieFragment | undefined> {
  const bytes = await source.read(box.start, box.size);
  if (bytes.byteLength < box.size) return undefined;
  const fragment: Mp4MovieFragment = { offset: box.start + box.headerSize - 8, trafs: [], anomalies: [] };
  for (const child of childBoxes(bytes, box.headerSize, bytes.byteLength)) {
    if (child.type !== 'traf') continue;
    try {
      fragment.trafs.push(readTrackFragment(bytes, child, fragment.anomalies));
    } catch (error) {
      if (!(error instanceof OutOfData)) throw error;
      fragment.anomalies.push('traf ends early');
    }
  }
  return fragment;
}

/** TrackFragmentHeaderBox flags (ISO 14496-12 8.8.7). */
const TFHD_BASE_DATA_OFFSET = 0x1;
const TFHD_SAMPLE_DESCRIPTION_INDEX = 0x2;
const TFHD_DEFAULT_DURATION = 0x8;
const TFHD_DEFAULT_SIZE = 0x10;
const TFHD_DEFAULT_FLAGS = 0x20;

/** A traf read as FFmpeg reads its children in order: tfhd first, then tfdt, then the truns. */
function readTrackFragment(bytes: Uint8Array, traf: ChildBox, anomalies: string[]): Mp4TrackFragment {
  const children = childBoxes(bytes, traf.payloadStart, traf.end).filter((box) => ['tfhd', 'tfdt', 'trun'].includes(box.type));
  const order = children.map((box) => box.type).join(',');
  if (!/^tfhd(,tfdt)?(,trun)*$/.test(order)) anomalies.push(`traf holds ${order || 'nothing'}`);
  const header = children.find((box) => box.type === 'tfhd');
  if (!header) return { trackId: 0, flags: 0, runs: [] };
  const reader = new ByteReader(bytes.subarray(header.payloadStart, header.end));
  reader.skip(1);
  const flags = reader.u24();
  const fragment: Mp4TrackFragment = { trackId: reader.u32(), flags, runs: [] };
  if (flags & TFHD_BASE_DATA_OFFSET) fragment.baseDataOffset = reader.u64();
  if (flags & TFHD_SAMPLE_DESCRIPTION_INDEX) fragment.sampleDescriptionIndex = reader.u32();
  if (flags & TFHD_DEFAULT_DURATION) fragment.defaultDuration = reader.u32();
  if (flags & TFHD_DEFAULT_SIZE) fragment.defaultSize = reader.u32();
  if (flags & TFHD_DEFAULT_FLAGS) fragment.defaultFlags = reader.u32();
  for (const box of children) {
    const payload = new ByteReader(bytes.subarray(box.payloadStart, box.end));
    if (box.type === 'tfdt') {
      const version = payload.u8();
      payload.skip(3);
      fragment.decodeTime = version === 1 ? payload.u64() : payload.u32();
    } else if (box.type === 'trun') fragment.runs.push(readTrackRun(payload, anomalies));
  }
  return fragment;
}

/** TrackRunBox flags. */
const TRUN_DATA_OFFSET = 0x1;
const TRUN_FIRST_SAMPLE_FLAGS = 0x4;
const TRUN_SAMPLE_DURATION = 0x100;
const TRUN_SAMPLE_SIZE = 0x200;
const TRUN_SAMPLE_FLAGS = 0x400;
const TRUN_SAMPLE_CTS = 0x800;

function readTrackRun(reader: ByteReader, anomalies: string[]): Mp4TrackRun {
  reader.skip(1);
  const flags = reader.u24();
  const sampleCount = reader.u32();
  const run: Mp4TrackRun = { sampleCount };
  if (flags & TRUN_DATA_OFFSET) run.dataOffset = reader.i32();
  if (flags & TRUN_FIRST_SAMPLE_FLAGS) run.firstSampleFlags = reader.u32();
  const fields = [TRUN_SAMPLE_DURATION, TRUN_SAMPLE_SIZE, TRUN_SAMPLE_FLAGS, TRUN_SAMPLE_CTS].filter((flag) => flags & flag).length;
  if (sampleCount * fields * 4 > reader.remaining) {
    anomalies.push(`trun of ${sampleCount} samples overruns its box`);
    return run;
  }
  if (flags & TRUN_SAMPLE_DURATION) run.durations = new Uint32Array(sampleCount);
  if (flags & TRUN_SAMPLE_SIZE) run.sizes = new Uint32Array(sampleCount);
  if (flags & TRUN_SAMPLE_CTS) run.compositionOffsets = new Int32Array(sampleCount);
  for (let i = 0; i < sampleCount; i++) {
    if (run.durations) run.durations[i] = reader.u32();
    if (run.sizes) run.sizes[i] = reader.u32();
    if (flags & TRUN_SAMPLE_FLAGS) reader.skip(4);
    if (run.compositionOffsets) run.compositionOffsets[i] = reader.i32();
  }
  return run;
}

async function readSegmentIndex(source: Lookahead, box: Mp4TopBox): Promise<Mp4SegmentIndex | undefined> {
  const bytes = await source.read(box.start + box.headerSize, box.size - box.headerSize);
  try {
    const reader = new ByteReader(bytes);
    const version = reader.u8();
    reader.skip(3);
    const referenceId = reader.u32();
    const timescale = reader.u32();
    const earliestPresentationTime = version === 0 ? reader.u32() : reader.u64();
    const firstOffset = version === 0 ? reader.u32() : reader.u64();
    reader.skip(2);
    const count = reader.u16();
    const references = Array.from({ length: count }, () => {
      const word = reader.u32();
      const duration = reader.u32();
      reader.skip(4);
      return { type: word >>> 31, size: word & 0x7fffffff, duration };
    });
    return { version, referenceId, timescale, earliestPresentationTime, firstOffset, end: box.start + box.size, references };
  } catch (error) {
    if (error instanceof OutOfData) return undefined;
    throw error;
  }
}

/** dref entries; FFmpeg refuses a count the box cannot hold or an entry under 12 bytes (mov_read_dref). */
function readDataReferences(reader: ByteReader, payloadSize: number, track: Mp4Track): boolean[] {
  reader.skip(4);
  const count = reader.u32();
  if (count === 0 || count > Math.floor((payloadSize - 1) / 12) + 1) note(track, 'refused', `dref with ${count} entries`);
  const out: boolean[] = [];
  for (let i = 0; i < count; i++) {
    if (reader.remaining < 12) {
      note(track, 'unknown', `dref entries past the box`);
      break;
    }
    const start = reader.position;
    const size = reader.u32();
    reader.skip(4);
    const flags = reader.u32() & 0xffffff;
    out.push((flags & 1) === 1);
    if (size < 12 || start + size > reader.bytes.byteLength) {
      note(track, size < 12 ? 'refused' : 'unknown', `dref entry of ${size} bytes`);
      break;
    }
    reader.position = Math.min(start + size, reader.bytes.byteLength);
  }
  return out;
}

/** The child boxes of a sample entry, after its fixed fields (`fixedSize` bytes from the entry start). */
export function sampleEntryBoxes(entry: Mp4SampleEntry, fixedSize: number): Map<string, Uint8Array> {
  const boxes = new Map<string, Uint8Array>();
  for (const box of childBoxes(entry.bytes, fixedSize, entry.bytes.byteLength)) {
    if (!boxes.has(box.type)) boxes.set(box.type, entry.bytes.subarray(box.payloadStart, box.end));
  }
  return boxes;
}

/** Size of the fixed part of a VisualSampleEntry (box header, SampleEntry and visual fields). */
export const VISUAL_SAMPLE_ENTRY_SIZE = 86;

export interface VisualSampleEntry {
  format: string;
  width: number;
  height: number;
  compressorName: string;
  depth: number;
  boxes: Map<string, Uint8Array>;
  /** The format protected content declares (sinf/frma), when the entry is encv/encrypted. */
  originalFormat?: string;
}

export function readVisualSampleEntry(entry: Mp4SampleEntry): VisualSampleEntry | undefined {
  if (entry.bytes.byteLength < VISUAL_SAMPLE_ENTRY_SIZE) return undefined;
  const reader = new ByteReader(entry.bytes, 32);
  const width = reader.u16();
  const height = reader.u16();
  reader.position = 50;
  const nameLength = Math.min(reader.u8(), 31);
  const compressorName = new TextDecoder('latin1').decode(reader.slice(nameLength));
  reader.position = 82;
  const depth = reader.u16();
  const boxes = sampleEntryBoxes(entry, VISUAL_SAMPLE_ENTRY_SIZE);
  const sinf = boxes.get('sinf');
  const frma = sinf && childBoxes(sinf, 0, sinf.byteLength).find((box) => box.type === 'frma');
  const originalFormat = frma && frma.end - frma.payloadStart >= 4 ? fourcc(sinf!, frma.payloadStart) : undefined;
  return { format: entry.format, width, height, compressorName, depth, boxes, originalFormat };
}

/**
 * The DecoderSpecificInfo of an esds box (MPEG-4 systems descriptors: ES_Descriptor ->
 * DecoderConfigDescriptor -> DecoderSpecificInfo), with the object type indication.
 */
export function readEsds(payload: Uint8Array): { objectType: number; decoderSpecificInfo?: Uint8Array } | undefined {
  try {
    const reader = new ByteReader(payload, 4);
    const esTag = readDescriptorHeader(reader);
    if (esTag.tag !== 3) return undefined;
    reader.skip(2);
    const flags = reader.u8();
    if (flags & 0x80) reader.skip(2);
    if (flags & 0x40) reader.skip(reader.u8());
    if (flags & 0x20) reader.skip(2);
    const config = readDescriptorHeader(reader);
    if (config.tag !== 4) return undefined;
    const configEnd = reader.position + config.length;
    const objectType = reader.u8();
    reader.skip(12);
    if (reader.position >= configEnd) return { objectType };
    const info = readDescriptorHeader(reader);
    if (info.tag !== 5) return { objectType };
    return { objectType, decoderSpecificInfo: reader.slice(Math.min(info.length, reader.remaining)) };
  } catch (error) {
    if (error instanceof OutOfData) return undefined;
    throw error;
  }
}

function readDescriptorHeader(reader: ByteReader): { tag: number; length: number } {
  const tag = reader.u8();
  let length = 0;
  for (let i = 0; i < 4; i++) {
    const byte = reader.u8();
    length = length * 128 + (byte & 0x7f);
    if (!(byte & 0x80)) break;
  }
  return { tag, length };
}

/**
 * The end offset of the furthest sample the tables place in the file (chunk offset plus the sizes
 * of the samples in that chunk), walking chunks the way FFmpeg builds its index.
 */
export function sampleDataEnd(track: Mp4Track): number {
  const { sampleToChunk: stsc, chunkOffsets, sampleSize } = track;
  const total = sampleSize.count;
  let sample = 0;
  let furthest = 0;
  let run = 0;
  for (let chunk = 0; chunk < chunkOffsets.length && sample < total && stsc.length > 0; chunk++) {
    while (run + 1 < stsc.length && chunk + 1 >= stsc[run + 1]!.firstChunk) run++;
    const perChunk = stsc[run]!.samplesPerChunk;
    const inChunk = Math.min(perChunk, total - sample);
    let bytes = 0;
    if (sampleSize.constant) bytes = inChunk * sampleSize.constant;
    else for (let i = 0; i < inChunk; i++) bytes += sampleSize.sizes![sample + i] ?? 0;
    sample += inChunk;
    furthest = Math.max(furthest, chunkOffsets[chunk]! + bytes);
  }
  return furthest;
}

/** Offset and size of the first sample, to read its codec headers. */
export function firstSample(track: Mp4Track): { offset: number; size: number } | undefined {
  if (track.chunkOffsets.length === 0 || track.sampleSize.count === 0) return undefined;
  const size = track.sampleSize.constant || track.sampleSize.sizes?.[0];
  return size === undefined ? undefined : { offset: track.chunkOffsets[0]!, size };
}

/** Decoder configuration boxes the mov demuxer or the decoder refuses when damaged. */
const CONFIG_CHECKS: Record<string, (payload: Uint8Array) => string | undefined> = {
  esds: esdsProblem,
  avcC: avcConfigProblem,
  hvcC: hevcConfigProblem,
  vpcC: vpcConfigProblem,
  dOps: opusBoxProblem,
  dfLa: flacBoxProblem,
};

/**
 * Problems in a sample entry's decoder configuration (wherever it sits: in the entry or inside a
 * QuickTime 'wave'): FFmpeg fails the file (mov_read_vpcc, mov_read_dops, mov_read_dfla) or
 * ffprobe 5.1 exits when a stream's decoder will not open, so such a file is not described from
 * its headers. Only the AAC configurations the decoder surely refuses are known to be refused.
 */
export function decoderConfigProblems(entry: Mp4SampleEntry): Mp4Anomaly[] {
  const problems: Mp4Anomaly[] = [];
  for (const [type, check] of Object.entries(CONFIG_CHECKS)) {
    const payload = findNestedBox(entry.bytes, type);
    const problem = payload && check(payload);
    if (problem) problems.push({ message: `${entry.format} ${type}: ${problem}`, effect: type === 'esds' && AAC_DECODER_REFUSES.test(problem) ? 'refused' : 'unknown' });
  }
  return problems;
}

/**
 * aacConfigProblem's findings that make FFmpeg 5.1's AAC decoder fail to open (an object type it
 * has no decoder for, USAC included; a sampling index past the table; a channel configuration
 * set_default_channel_config refuses). Channel configuration 0 is not among them: a valid PCE opens.
 */
const AAC_DECODER_REFUSES = /^(audio object type \d+|sampling index \d+|channel configuration (8|9|10|14|15))$/;

/** A box found by its type anywhere in the entry, clipped to the entry as FFmpeg clips children. */
function findNestedBox(bytes: Uint8Array, type: string): Uint8Array | undefined {
  for (let at = 12; at + 4 <= bytes.byteLength; at++) {
    if (fourcc(bytes, at) !== type) continue;
    const size = new DataView(bytes.buffer, bytes.byteOffset + at - 4, 4).getUint32(0);
    if (size >= 8) return bytes.subarray(at + 4, Math.min(at - 4 + size, bytes.byteLength));
  }
  return undefined;
}

function esdsProblem(payload: Uint8Array): string | undefined {
  const esds = readEsds(payload);
  if (!esds) return 'unreadable descriptors';
  const info = esds.decoderSpecificInfo;
  if (info && info.byteLength === 0) return 'empty DecoderSpecificInfo';
  if (esds.objectType === 0x40 && info) return aacConfigProblem(info) ?? errorResilientAac(info);
  return undefined;
}

/** Error-resilient AAC object types: ER AAC LC, ER AAC LD, ER AAC ELD. */
const ERROR_RESILIENT_AAC = new Set([17, 23, 39]);

/**
 * The AAC decoder opens error-resilient AAC only when the rest of the config (epConfig and the
 * like, not checked here) suits it: Debian ffprobe 5.1.9 refused ER AAC LC and LD streams whose
 * 2-byte configs stop after the channel configuration. Counted as a problem whose effect is unknown.
 */
function errorResilientAac(config: Uint8Array): string | undefined {
  // Called after aacConfigProblem found the head whole.
  const { objectType } = readAacConfigHead(config);
  return ERROR_RESILIENT_AAC.has(objectType) ? `error-resilient AAC (object type ${objectType})` : undefined;
}

/** vpcC version 1 must carry no codec initialization data (mov_read_vpcc). */
function vpcConfigProblem(payload: Uint8Array): string | undefined {
  if (payload.byteLength < 5) return 'short box';
  if (payload[0] !== 1) return undefined;
  if (payload.byteLength < 12) return 'short version 1 box';
  return payload[10] || payload[11] ? 'codec initialization data' : undefined;
}

function opusBoxProblem(payload: Uint8Array): string | undefined {
  return payload.byteLength < 11 || payload[0] !== 0 ? 'not a version 0 OpusSpecificBox' : undefined;
}

/** dfLa: version 0, then STREAMINFO (type 0, 34 bytes) first. */
function flacBoxProblem(payload: Uint8Array): string | undefined {
  if (payload.byteLength < 42 || payload[0] !== 0) return 'not a version 0 FLACSpecificBox';
  const size = (payload[5]! << 16) | (payload[6]! << 8) | payload[7]!;
  return (payload[4]! & 0x7f) !== 0 || size !== 34 ? 'STREAMINFO is not the first block' : undefined;
}
