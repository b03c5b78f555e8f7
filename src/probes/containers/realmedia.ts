/**
 * RealMedia (.rm/.rmvb/.ra in an .RMF container) read as FFmpeg's rm demuxer (libavformat/rmdec.c)
 * reads it: the header chunks up to DATA (PROP durations, MDPR streams with their RealVideo or
 * RealAudio type-specific headers), then the data packets, which FFmpeg's rm_sync finds by their
 * 12-byte headers until the end of the file (INDX chunks skipped).
 *
 * Strict like the ASF reader: anything rm_sync would have to resynchronise over (packet versions
 * other than 0, bytes after the data that are not index chunks, packet lengths that do not chain
 * to the end of the DATA chunk) is not modelled and goes to ffprobe (NeedsFfprobe).
 */
import { ProbeError } from '../../errors.js';
import type { ByteSource } from '../../sources/source.js';
import { BlockReader } from '../audio/bytes.js';
import { NeedsFfprobe, type VideoFacts } from './facts.js';
import { avReduce } from './rational.js';

const HEADER_CHUNK_LIMIT = 1 << 20;
const PACKET_HEADER = 12;
const DATA_HEADER = 18;
const INDEX_HEADER = 20;
const INDEX_ENTRY = 14;
const RA_MAGIC = '.ra\xfd';

export const isRealMedia = (head: Uint8Array) => head.byteLength >= 4 && ascii(head, 0, 4) === '.RMF';

export interface RealAudioHeader {
  version: number;
  /** Codec fourcc ('dnet' for AC-3, 'cook', 'sipr', ...), '' for RealAudio 1 (version 3). */
  fourcc: string;
  /** Interleaver ('Int0' none, 'Int4', 'genr', 'sipr', 'vbrs', 'vbrf'). */
  interleaver: string;
  sampleRate: number;
  channels: number;
}

export interface RealMediaStream {
  id: number;
  type: 'audio' | 'video' | 'data';
  /** MDPR start time and duration, in ms. */
  start: number;
  duration: number;
  /** Video: the RealVideo fourcc, size and 16.16 frame rate. */
  fourcc?: string;
  width?: number;
  height?: number;
  fps?: number;
  audio?: RealAudioHeader;
}

export interface RealMediaFile {
  /** PROP duration in ms. */
  duration: number;
  streams: RealMediaStream[];
  packetsStart: number;
  dataEnd: number;
  declaredPackets: number;
}

export interface RealMediaPacket {
  stream: RealMediaStream;
  timestamp: number;
  flags: number;
  /** Payload bytes, only for the streams the caller asked for. */
  payload?: Uint8Array;
}

/** Block size for the header chunks, so the packet walk re-reads little of what they read. */
const HEADER_BLOCK = 16 * 1024;

/**
 * rm_read_header: chunks in file order until DATA. Everything is read forward, in order, and the
 * end of the file is found by reading (a forward-only stream is never asked for its size first).
 */
export async function parseRealMedia(source: ByteSource): Promise<RealMediaFile> {
  // Header chunks are small; the packet walk reads the data from its start with its own reader.
  const reader = new BlockReader(source, HEADER_BLOCK);
  const first = await reader.bytes(0, 8);
  if (first.byteLength < 8 || ascii(first, 0, 4) !== '.RMF') throw new ProbeError('corrupt_file', `${source.name}: not a RealMedia file`);
  const headerSize = u32(first, 4);
  if (headerSize < 18) throw new NeedsFfprobe(`RealMedia header of ${headerSize} bytes`);
  const streams: RealMediaStream[] = [];
  let prop: { duration: number; dataOffset: number } | undefined;
  for (let offset = headerSize; ; ) {
    const chunkHead = await reader.bytes(offset, 10);
    if (chunkHead.byteLength < 10) throw new ProbeError('truncated', `${source.name}: the RealMedia header ends before the DATA chunk`);
    const tag = ascii(chunkHead, 0, 4);
    const size = u32(chunkHead, 4);
    if (tag === 'DATA') return finishHeader(source, reader, { prop, streams, offset, size });
    if (size < 10 || size > HEADER_CHUNK_LIMIT) throw new NeedsFfprobe(`RealMedia ${tag} chunk of ${size} bytes`);
    const bytes = await reader.bytes(offset + 10, size - 10);
    if (bytes.byteLength < size - 10) throw new ProbeError('truncated', `${source.name}: the RealMedia ${tag} chunk runs past the end of the file`);
    const body = new Be(bytes);
    if (tag === 'PROP') prop = readProp(body);
    else if (tag === 'MDPR') streams.push(readMdpr(body));
    offset += size;
  }
}

function readProp(body: Be): { duration: number; dataOffset: number } {
  body.skip(4 * 5);
  const duration = body.u32();
  body.skip(4 + 4);
  const dataOffset = body.u32();
  return { duration, dataOffset };
}

function readMdpr(body: Be): RealMediaStream {
  const id = body.u16();
  body.skip(4 * 4);
  const start = body.u32();
  body.skip(4);
  const duration = body.u32();
  body.skip(body.u8());
  const mime = body.ascii(body.u8());
  const typeSpecific = body.u32();
  const stream: RealMediaStream = { id, type: 'data', start, duration };
  if (typeSpecific < 8 || typeSpecific > body.remaining) return stream;
  const data = new Be(body.slice(typeSpecific));
  const lead = data.ascii(4);
  if (lead === 'MLTI') throw new NeedsFfprobe('RealMedia multi-rate stream');
  if (lead === RA_MAGIC) {
    stream.type = 'audio';
    stream.audio = readRealAudioHeader(data);
  } else if (data.ascii(4) === 'VIDO') {
    stream.type = 'video';
    stream.fourcc = data.ascii(4);
    stream.width = data.u16();
    stream.height = data.u16();
    data.skip(2 + 4);
    stream.fps = data.u32();
  } else if (mime !== 'logical-fileinfo') {
    throw new NeedsFfprobe(`RealMedia stream of type ${mime}`);
  }
  return stream;
}

/** rm_read_audio_stream_info for the '.ra\xfd' header (versions 3, 4 and 5). */
function readRealAudioHeader(data: Be): RealAudioHeader {
  const version = data.u16();
  if (version === 3) return { version, fourcc: '', interleaver: 'Int0', sampleRate: 8000, channels: 1 };
  if (version !== 4 && version !== 5) throw new NeedsFfprobe(`RealAudio header version ${version}`);
  data.skip(2 + 4 + 4 + 2 + 4 + 2 + 4 + 4 + 4 + 4 + 2 + 2 + 2 + 2);
  if (version === 5) data.skip(6);
  const sampleRate = data.u16();
  data.skip(4);
  const channels = data.u16();
  if (version === 5) return { version, interleaver: data.ascii(4), fourcc: data.ascii(4), sampleRate, channels };
  const interleaver = data.ascii(data.u8());
  const fourcc = data.ascii(data.u8());
  return { version, interleaver, fourcc, sampleRate, channels };
}

interface HeaderParts {
  prop?: { duration: number; dataOffset: number };
  streams: RealMediaStream[];
  offset: number;
  size: number;
}

async function finishHeader(source: ByteSource, reader: BlockReader, parts: HeaderParts): Promise<RealMediaFile> {
  const { prop, streams, offset, size } = parts;
  if (!prop) throw new NeedsFfprobe('RealMedia without PROP');
  if (prop.dataOffset !== 0 && prop.dataOffset !== offset) throw new NeedsFfprobe('RealMedia PROP data offset points elsewhere');
  if (new Set(streams.map((stream) => stream.id)).size !== streams.length) throw new NeedsFfprobe('RealMedia stream numbers repeat');
  const head = await reader.bytes(offset, DATA_HEADER);
  if (head.byteLength < DATA_HEADER) throw new ProbeError('truncated', `${source.name}: the file ends in the RealMedia DATA header`);
  const dataEnd = offset + size;
  if (size < DATA_HEADER) throw new NeedsFfprobe(`RealMedia DATA chunk of ${size} bytes`);
  // The packet walk checks what follows the data (FFmpeg's own muxer states the chunk 10 bytes too long).
  return { duration: prop.duration, streams, packetsStart: offset + DATA_HEADER, dataEnd, declaredPackets: u32(head, 10) };
}

/** After the data, rm_sync skips INDX chunks; anything else it would scan for packet headers. */
async function checkIndexTail(source: ByteSource, reader: BlockReader, start: number): Promise<void> {
  for (let offset = start; ; ) {
    const head = await reader.bytes(offset, INDEX_HEADER);
    if (head.byteLength === 0) return;
    if (head.byteLength < INDEX_HEADER || ascii(head, 0, 4) !== 'INDX') throw new NeedsFfprobe('RealMedia bytes after the data that are not an index');
    const entries = u32(head, 10);
    const size = u32(head, 4);
    const expected = INDEX_HEADER + entries * INDEX_ENTRY;
    if (size !== expected && size !== INDEX_HEADER) throw new NeedsFfprobe('RealMedia index chunk of an odd size');
    if ((await reader.bytes(offset + expected - 1, 1)).byteLength === 0) throw new ProbeError('truncated', `${source.name}: the RealMedia index runs past the end of the file`);
    offset += expected;
  }
}

/**
 * Every data packet in order, as rm_sync finds them: the declared number of packets chained from
 * the DATA header, then only what rm_sync skips without finding a packet (zero bytes, INDX
 * chunks) up to the end of the file. The file ending before the last declared packet is
 * truncation.
 */
export async function walkRealMediaPackets(source: ByteSource, file: RealMediaFile, keep: ReadonlySet<number>, onPacket: (packet: RealMediaPacket) => void): Promise<void> {
  const reader = new BlockReader(source, 1 << 20);
  const byId = new Map(file.streams.map((stream) => [stream.id, stream]));
  if (file.declaredPackets === 0) throw new NeedsFfprobe('RealMedia DATA chunk without a packet count');
  let offset = file.packetsStart;
  for (let count = 0; count < file.declaredPackets; count++) {
    const head = await reader.bytes(offset, PACKET_HEADER);
    if (head.byteLength < PACKET_HEADER) {
      throw new ProbeError('truncated', `${source.name}: the RealMedia DATA chunk declares ${file.declaredPackets} packets, the file ends after ${count}`);
    }
    const version = (head[0]! << 8) | head[1]!;
    const length = (head[2]! << 8) | head[3]!;
    if (version !== 0) throw new NeedsFfprobe(`RealMedia packet of version ${version}`);
    if (length <= PACKET_HEADER) throw new NeedsFfprobe(`RealMedia packet of ${length} bytes`);
    const stream = byId.get((head[4]! << 8) | head[5]!);
    if (!stream) throw new NeedsFfprobe('RealMedia packet of an undeclared stream');
    // The payload when kept, else its last byte: either way the whole packet must be in the file.
    const kept = keep.has(stream.id);
    const [from, wanted] = kept ? [offset + PACKET_HEADER, length - PACKET_HEADER] : [offset + length - 1, 1];
    const bytes = await reader.bytes(from, wanted);
    if (bytes.byteLength < wanted) throw new ProbeError('truncated', `${source.name}: a RealMedia packet runs past the end of the file`);
    onPacket({ stream, timestamp: u32(head, 6), flags: head[11]!, payload: kept ? bytes : undefined });
    offset += length;
  }
  if (offset > file.dataEnd) throw new NeedsFfprobe('RealMedia packets run past the DATA chunk');
  await checkTail(source, reader, offset);
}

/** After the packets rm_sync must find nothing: zero padding (FFmpeg's muxer writes some), then index chunks. */
async function checkTail(source: ByteSource, reader: BlockReader, start: number): Promise<void> {
  let offset = start;
  for (;;) {
    const bytes = await reader.bytes(offset, 16);
    const zeros = bytes.findIndex((byte) => byte !== 0);
    if (zeros === -1 && bytes.byteLength > 0) {
      offset += bytes.byteLength;
      continue;
    }
    if (zeros > 0) offset += zeros;
    break;
  }
  await checkIndexTail(source, reader, offset);
}

/** RealVideo codecs whose decoders FFmpeg runs no parser for; pts are the packet times. */
const PLAIN_VIDEO = new Set(['RV10', 'RV20']);
/** Distinct frame times checked for an even rate (ffprobe's VFR window is 41 frames). */
const VFR_FRAMES = 64;

/**
 * The video probe's facts as the ffprobe path derives them: avg_frame_rate from the MDPR's 16.16
 * rate, stream and format durations from the MDPR start times and durations (PROP's when no
 * stream has one). VFR: only files whose first frame times are evenly spaced are read here.
 */
export async function realMediaVideoFacts(source: ByteSource): Promise<VideoFacts> {
  const file = await parseRealMedia(source);
  const video = file.streams.find((stream) => stream.type === 'video');
  if (!video) throw new ProbeError('no_video_stream', `${source.name} has no video stream`);
  if (!PLAIN_VIDEO.has(video.fourcc!)) throw new NeedsFfprobe(`RealVideo ${video.fourcc}`);
  if (!(video.fps! > 0) || !(video.width! > 0 && video.height! > 0)) throw new NeedsFfprobe('RealVideo without a frame rate or size');
  const times: number[] = [];
  await walkRealMediaPackets(source, file, new Set(), ({ stream, timestamp }) => {
    if (stream !== video || times.length >= VFR_FRAMES || times[times.length - 1] === timestamp) return;
    if (times.length > 0 && timestamp < times[times.length - 1]!) throw new NeedsFfprobe('RealVideo frame times go back');
    times.push(timestamp);
  });
  if (!evenlySpaced(times)) throw new NeedsFfprobe('RealVideo frame times vary: the VFR verdict needs the demuxed packets');
  // av_reduce(&den, &num, 0x10000, fps, 2^30 - 1): the 16.16 rate as a fraction.
  const inverse = avReduce(0x10000, video.fps!, (1 << 30) - 1);
  const rate = { num: inverse.den, den: inverse.num };
  return {
    mime: 'application/vnd.rn-realmedia',
    containerDuration: formatDuration(file) / 1000,
    stream: { width: video.width!, height: video.height!, avgFrameRate: rate, duration: video.duration / 1000, variableFrameRate: false },
    // facts.ts names the readers; 'rm' is to be added to its union there.
    reader: 'rm',
  };
}

/** Every gap between frame times within +-10% of every other: the VFR rule cannot fire on any window. */
function evenlySpaced(times: number[]): boolean {
  const gaps = times.slice(1).map((time, i) => time - times[i]!);
  if (gaps.length === 0) return true;
  const smallest = Math.min(...gaps);
  const largest = Math.max(...gaps);
  return smallest * 0.9 < largest && smallest * 1.1 > largest;
}

/**
 * format.duration in ms: the PROP duration, unless a stream states one (then FFmpeg drops it and
 * update_stream_timings spans the streams' start + duration; data streams only as a fallback).
 */
function formatDuration(file: RealMediaFile): number {
  if (!file.streams.some((stream) => stream.duration > 0)) return file.duration;
  const media = file.streams.filter((stream) => stream.type !== 'data');
  const counted = media.length > 0 ? media : file.streams;
  const start = Math.min(...counted.map((stream) => stream.start));
  const end = Math.max(...counted.map((stream) => stream.start + stream.duration));
  const longest = Math.max(...counted.map((stream) => stream.duration));
  if (file.streams.some((stream) => stream.type === 'data' && (stream.start < start || stream.start + stream.duration > end || stream.duration > longest))) {
    throw new NeedsFfprobe('RealMedia data stream outside the media streams');
  }
  return Math.max(longest, end - start);
}

function ascii(bytes: Uint8Array, offset: number, length: number): string {
  return String.fromCharCode(...bytes.subarray(offset, offset + length));
}

function u32(bytes: Uint8Array, offset: number): number {
  return ((bytes[offset]! << 24) >>> 0) + ((bytes[offset + 1]! << 16) | (bytes[offset + 2]! << 8) | bytes[offset + 3]!);
}

/** Big-endian cursor; running past the end means a header FFmpeg would read differently. */
class Be {
  position = 0;

  constructor(private readonly bytes: Uint8Array) {}

  get remaining(): number {
    return this.bytes.byteLength - this.position;
  }

  private take(length: number): number {
    const at = this.position;
    if (at + length > this.bytes.byteLength) throw new NeedsFfprobe('RealMedia header field runs past its chunk');
    this.position += length;
    return at;
  }

  skip(length: number): void {
    this.take(length);
  }
  u8(): number {
    return this.bytes[this.take(1)]!;
  }
  u16(): number {
    const at = this.take(2);
    return (this.bytes[at]! << 8) | this.bytes[at + 1]!;
  }
  u32(): number {
    return u32(this.bytes, this.take(4));
  }
  ascii(length: number): string {
    return ascii(this.bytes, this.take(length), length);
  }
  slice(length: number): Uint8Array {
    const at = this.take(length);
    return this.bytes.subarray(at, at + length);
  }
}
