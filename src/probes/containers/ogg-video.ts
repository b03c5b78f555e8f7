/**
 * Ogg with Theora video (and Vorbis audio beside it), described as ffprobe 5.1 describes it
 * (libavformat/oggdec.c, oggparsetheora.c, oggparsevorbis.c): the header packets at the start of
 * the file, each stream's start from its first data page, its end from the last granule in the
 * final 65307 bytes (ogg_get_length), and the format duration from the streams
 * (update_stream_timings). Other streams (Skeleton, Opus, FLAC, Kate, ...), chained files, junk
 * between pages and anything else not modelled here go to ffprobe.
 */
import { ProbeError } from '../../errors.js';
import type { ByteSource } from '../../sources/source.js';
import { BlockReader, startsWith, u16be, u24be, u32be } from '../audio/bytes.js';
import { parseVorbisIdentification, VorbisDurations, type VorbisIdentification } from '../audio/vorbis.js';
import { NeedsFfprobe, type VideoFacts } from './facts.js';
import { concatBytes } from './bytes.js';
import { BOS, checkedPage, CONTINUED, EOS, findSync, OGG_MAX_PAGE_SIZE, readPageAt, type OggPage } from './ogg-pages.js';
import { avRescale, avReduce, type Rational } from './rational.js';
import { standardFrameRate } from './frame-rate-guess.js';

/** Files walked page by page to prove every frame is there (larger ones go to ffprobe). */
const WALK_LIMIT = 64 << 20;
/** How far into the file the header pages and first data pages may lie before the reader gives up. */
const HEAD_LIMIT = 16 << 20;
const HEADER_PACKETS = 3;

interface TheoraHeader {
  version: number;
  /** The frame size (whole macroblocks) and the picture region within it. */
  width: number;
  height: number;
  picture: { width: number; height: number; x: number; y: number };
  /** Frame duration (FRD/FRN reduced): the stream's time base. */
  timeBase: Rational;
  sampleAspectRatio?: Rational;
  granuleShift: number;
}

interface Stream {
  serial: number;
  codec: { name: 'theora'; header: TheoraHeader } | { name: 'vorbis'; id: VorbisIdentification };
  packets: Uint8Array[];
  /** Bytes of a packet continued on the next page. */
  open: Uint8Array[];
  /** The stream start in its time base, from its first data page. */
  start?: number;
  /** A data packet past the first two carried bytes: find_stream_info then measures the frame rate. */
  rateMeasured: boolean;
  /** Data packets with bytes: the packets the demuxer returns (it returns no empty one). */
  returnedPackets: number;
  lastGranule?: number;
}

export async function oggVideoFacts(source: ByteSource): Promise<VideoFacts> {
  const reader = new BlockReader(source);
  const { streams, endedAt } = await readHead(reader);
  const video = streams.find((stream) => stream.codec.name === 'theora');
  if (!video || video.codec.name !== 'theora') throw new ProbeError('no_video_stream', `${source.name} has no Theora stream`);
  const size = await source.size();
  if (endedAt !== undefined) checkReadToTheEnd(streams, video, endedAt, size);
  await readLastGranules(reader, size, streams);
  const header = video.codec.header;
  const videoDuration = streamDuration(video);
  // Read to the end, the walk has counted every packet ffprobe counts.
  if (endedAt === undefined) await checkFrameContinuity(new BlockReader(source), size, video, header);
  return {
    mime: 'video/ogg',
    containerDuration: formatDuration(streams),
    stream: {
      ...pictureSize(header),
      ...(endedAt === undefined ? { avgFrameRate: frameRate(header.timeBase) } : { frameCount: video.returnedPackets }),
      duration: (videoDuration * header.timeBase.num) / header.timeBase.den,
      sampleAspectRatio: header.sampleAspectRatio,
      variableFrameRate: false,
    },
    reader: 'ogg',
  };
}

/**
 * The whole file was walked before the video had three frames: find_stream_info reads to the
 * end, with at most two Theora packets, so it measures no rate (codec_info_duration counts from
 * the third packet, ff_rfps_calculate wants four) and ffprobe prints avg_frame_rate 0/0; the
 * rate is then the packets counted over the stream duration. Modelled only when every page was
 * read whole and every stream started (else its start and duration come from elsewhere).
 */
function checkReadToTheEnd(streams: Stream[], video: Stream, endedAt: number, size: number): void {
  if (endedAt !== size) throw new NeedsFfprobe(`Ogg pages end at byte ${endedAt} of ${size} before every stream started and three Theora frames were seen`);
  if (!streams.every((stream) => stream.start !== undefined)) throw new NeedsFfprobe('Ogg file ends before every stream started');
  if (streams.some((stream) => stream.open.length > 0)) throw new NeedsFfprobe('Ogg file ends inside a packet');
  if (video.returnedPackets === 0) throw new NeedsFfprobe('Ogg Theora stream without a frame');
}

/**
 * Walks the pages from the start until every stream has its headers and its start, and the video
 * its measured rate; or to the end of the pages (`endedAt`, the offset where no page follows).
 */
async function readHead(reader: BlockReader): Promise<{ streams: Stream[]; endedAt?: number }> {
  const streams = new Map<number, Stream>();
  let sawData = false;
  for (let offset = 0; ; ) {
    if (offset > HEAD_LIMIT) throw new NeedsFfprobe(`Ogg streams not all started within ${HEAD_LIMIT} bytes`);
    // The size is not asked yet (on a stream that drains it): a page cut by the end fails its CRC check.
    const read = await readPageAt(reader, offset, Infinity);
    if ('end' in read) {
      if (read.end !== 'no-page' || streams.size === 0) throw new NeedsFfprobe(`Ogg pages end (${read.end}) at byte ${offset} before every stream started and three Theora frames were seen`);
      return { streams: [...streams.values()], endedAt: offset };
    }
    const { page } = read;
    const bytes = await checkedPage(reader, page);
    if (!bytes) throw new NeedsFfprobe(`Ogg page at byte ${offset} fails its CRC check`);
    const body = bytes.subarray(page.headerSize);
    offset += page.size;
    if (page.flags & BOS) {
      if (sawData || streams.has(page.serial)) throw new NeedsFfprobe('chained Ogg streams');
      streams.set(page.serial, newStream(page, body));
    } else sawData = true;
    const stream = streams.get(page.serial);
    if (!stream) throw new NeedsFfprobe(`Ogg page of unknown stream ${page.serial}`);
    addPage(stream, page, body);
    if (sawData && [...streams.values()].every(isStarted)) return { streams: [...streams.values()] };
  }
}

/**
 * Whether find_stream_info measures an average rate depends on how many packets it reads before
 * every stream is described; when it does not, ffprobe's rate is the packets counted over the
 * stream duration. Both are the header's rate when every granule position counts exactly the
 * packets before it (no frame missing, none extra) and the rate is a standard one, which this
 * walk over the whole file checks.
 */
async function checkFrameContinuity(reader: BlockReader, size: number, video: Stream, header: TheoraHeader): Promise<void> {
  if (size > WALK_LIMIT) throw new NeedsFfprobe(`Ogg file over ${WALK_LIMIT} bytes: frames not counted in-process`);
  let packets = -HEADER_PACKETS;
  for (let offset = 0; offset < size; ) {
    const read = await readPageAt(reader, offset, size);
    if ('end' in read) {
      if (read.end === 'no-page') throw new NeedsFfprobe(`junk between Ogg pages at byte ${offset}`);
      break;
    }
    const { page } = read;
    offset += page.size;
    if (page.serial !== video.serial) continue;
    let packetBytes = page.flags & CONTINUED ? 1 : 0;
    for (const lace of page.lacing) {
      packetBytes += lace;
      if (lace === 255) continue;
      // ffmpeg returns no empty packet (a repeated frame): ffprobe then counts fewer packets than frames.
      if (packetBytes === 0 && packets >= 0) throw new NeedsFfprobe(`empty Theora packet on the page at byte ${page.offset}`);
      packets++;
      packetBytes = 0;
    }
    if (packets > 0 && page.granule >= 0 && theoraFrames(header, page.granule) !== video.start! + packets) {
      throw new NeedsFfprobe(`Theora granule at byte ${page.offset} does not count the packets before it`);
    }
  }
  if (packets !== streamDuration(video)) throw new NeedsFfprobe('Theora packets and granule positions disagree');
}

/** The header's rate, which must equal the standard rate find_stream_info would round it to. */
function frameRate(timeBase: Rational): Rational {
  const rate = { num: timeBase.den, den: timeBase.num };
  const measured = standardFrameRate(avReduce(rate.num, rate.den, 60000));
  if (Math.abs((measured.num * rate.den) / (measured.den * rate.num) - 1) > 1e-6) {
    throw new NeedsFfprobe(`Theora rate ${rate.num}/${rate.den} is not one find_stream_info keeps`);
  }
  return rate;
}

function isStarted(stream: Stream): boolean {
  return stream.start !== undefined && (stream.codec.name !== 'theora' || stream.rateMeasured);
}

function newStream(page: OggPage, body: Uint8Array): Stream {
  const first = body.subarray(0, page.lacing[0] ?? 0);
  if (page.lacing.length !== 1 || page.lacing[0] === 255) throw new NeedsFfprobe('Ogg BOS page with more than its first header');
  const base = { serial: page.serial, packets: [], open: [], rateMeasured: false, returnedPackets: 0 };
  if (first[0] === 0x80 && startsWith(first, 'theora', 1)) return { ...base, codec: { name: 'theora', header: parseTheoraHeader(first) } };
  if (first[0] === 1 && startsWith(first, 'vorbis', 1)) return { ...base, codec: { name: 'vorbis', id: parseVorbisIdentification(first) } };
  throw new NeedsFfprobe(`Ogg stream '${String.fromCharCode(...first.subarray(0, 8)).replace(/[^\x20-\x7e]/g, '.')}'`);
}

/** Adds a page's packets to its stream; on the first data page, sets the stream start as the codec's packet hook does. */
function addPage(stream: Stream, page: OggPage, body: Uint8Array): void {
  if (stream.start !== undefined && (stream.codec.name !== 'theora' || stream.rateMeasured)) return;
  if (Boolean(page.flags & CONTINUED) !== stream.open.length > 0) throw new NeedsFfprobe(`Ogg page at byte ${page.offset} breaks a packet`);
  const onPage: Uint8Array[] = [];
  let start = 0;
  let position = 0;
  for (const lace of page.lacing) {
    position += lace;
    if (lace === 255) continue;
    const packet = concatBytes([...stream.open, body.subarray(start, position)]);
    stream.open = [];
    start = position;
    stream.packets.push(packet);
    const index = stream.packets.length - 1;
    if (index < HEADER_PACKETS) checkHeaderPacket(stream, packet, index);
    else {
      onPage.push(packet);
      if (packet.byteLength > 0) stream.returnedPackets++;
      // find_stream_info measures the rate from the third data packet on, when it has a duration (is not empty).
      if (index >= HEADER_PACKETS + 2 && packet.byteLength > 0) stream.rateMeasured = true;
    }
    if (index > HEADER_PACKETS + 64) stream.packets[index - 64] = new Uint8Array(0); // only the first packets are needed
  }
  if (start < position) stream.open.push(body.subarray(start, position));
  if (stream.start === undefined && onPage.length > 0) stream.start = streamStart(stream, page, onPage);
}

function checkHeaderPacket(stream: Stream, packet: Uint8Array, index: number): void {
  const expected = stream.codec.name === 'theora' ? 0x80 + index : 1 + 2 * index;
  const magic = stream.codec.name === 'theora' ? 'theora' : 'vorbis';
  if (packet[0] !== expected || !startsWith(packet, magic, 1)) throw new NeedsFfprobe(`Ogg ${magic} header packet ${index} is not the one expected`);
}

/**
 * The start (in the stream's time base) ffmpeg derives from the page the first data packet ends
 * on: its granule less the durations of the packets ending there (oggparsetheora.c theora_packet: one frame each;
 * oggparsevorbis.c vorbis_packet: the parser's durations, the first packet counting none, the
 * start clamped at 0).
 */
function streamStart(stream: Stream, page: OggPage, packets: Uint8Array[]): number {
  if (page.granule < 0 || page.flags & EOS) throw new NeedsFfprobe('the first Ogg data page ends no packet or ends the stream');
  if (stream.codec.name === 'theora') return theoraFrames(stream.codec.header, page.granule) - packets.length;
  const durations = new VorbisDurations(stream.codec.id, stream.packets[2]!);
  const played = packets.map((packet) => durations.duration(packet)).slice(1).reduce((a, b) => a + b, 0);
  if (page.granule === 0 && played > 0) throw new NeedsFfprobe('Ogg Vorbis stream starting at granule 0');
  return Math.max(page.granule - played, 0);
}

/** oggparsetheora.c theora_gptopts: keyframe number plus frames since, one more before Theora 3.2.1. */
function theoraFrames(header: TheoraHeader, granule: number): number {
  const scale = 2 ** header.granuleShift;
  const keyframe = Math.floor(granule / scale) + (header.version < 0x030201 ? 1 : 0);
  return keyframe + (granule % scale);
}

/**
 * ogg_get_length: the last page with a granule (other than 0 and -1) of each stream in the final
 * 65307 bytes, found as ffmpeg's sync search finds pages (skipping a damaged one).
 */
async function readLastGranules(reader: BlockReader, size: number, streams: Stream[]): Promise<void> {
  const bySerial = new Map(streams.map((stream) => [stream.serial, stream]));
  for (let position = Math.max(0, size - OGG_MAX_PAGE_SIZE); ; ) {
    const sync = await findSync(reader, position, size, Infinity);
    if (sync === undefined) break;
    const read = await readPageAt(reader, sync, size);
    if ('end' in read) {
      if (read.end === 'no-page') throw new NeedsFfprobe(`Ogg page of an unknown version at byte ${sync}`);
      break; // the end of the file cuts the page: ffmpeg stops there
    }
    const { page } = read;
    if (!(await checkedPage(reader, page))) {
      position = sync + 1;
      continue;
    }
    const stream = bySerial.get(page.serial);
    if (!stream) throw new NeedsFfprobe(`Ogg stream ${page.serial} appears near the end of the file`);
    if (page.granule > 0) stream.lastGranule = page.granule;
    position = sync + page.size;
  }
}

function streamDuration(stream: Stream): number {
  if (stream.lastGranule === undefined) throw new NeedsFfprobe(`Ogg stream ${stream.serial} has no granule in the last 65307 bytes`);
  const end = stream.codec.name === 'theora' ? theoraFrames(stream.codec.header, stream.lastGranule) : stream.lastGranule;
  return end - stream.start!;
}

function timeBaseOf(stream: Stream): Rational {
  return stream.codec.name === 'theora' ? stream.codec.header.timeBase : { num: 1, den: stream.codec.id.sampleRate };
}

/** update_stream_timings: the longest stream duration, or the span from the earliest start to the latest end if longer (in microseconds). */
function formatDuration(streams: Stream[]): number {
  let longest = -Infinity;
  let earliest = Infinity;
  let latest = -Infinity;
  for (const stream of streams) {
    const { num, den } = timeBaseOf(stream);
    const start = Number(avRescale(BigInt(stream.start!) * BigInt(num), 1_000_000, den));
    const duration = Number(avRescale(BigInt(streamDuration(stream)) * BigInt(num), 1_000_000, den));
    longest = Math.max(longest, duration);
    earliest = Math.min(earliest, start);
    latest = Math.max(latest, start + duration);
  }
  const micros = Math.max(longest, latest - earliest);
  if (!(micros > 0)) throw new NeedsFfprobe('Ogg streams without a positive duration');
  return micros / 1_000_000;
}

/**
 * The Theora identification header, as both oggparsetheora.c and the decoder read it. Only
 * Theora 3.2 is described here.
 */
function parseTheoraHeader(packet: Uint8Array): TheoraHeader {
  if (packet.byteLength < 42) throw new ProbeError('corrupt_file', 'Theora identification header cut short');
  const version = u24be(packet, 7);
  if (packet[7] !== 3 || packet[8] !== 2) throw new NeedsFfprobe(`Theora version ${packet[7]}.${packet[8]}`);
  const [frameNum, frameDen] = [u32be(packet, 22), u32be(packet, 26)];
  if (!(frameNum > 0 && frameDen > 0 && frameNum < 2 ** 31 && frameDen < 2 ** 31)) throw new NeedsFfprobe(`Theora frame rate ${frameNum}/${frameDen}`);
  const pixelFormat = (packet[41]! >> 3) & 3;
  if (pixelFormat === 1) throw new NeedsFfprobe('Theora with the reserved pixel format');
  const [aspectNum, aspectDen] = [u24be(packet, 30), u24be(packet, 33)];
  const header = {
    version,
    width: u16be(packet, 10) << 4,
    height: u16be(packet, 12) << 4,
    picture: { width: u24be(packet, 14), height: u24be(packet, 17), x: packet[20]!, y: packet[21]! },
    timeBase: avReduce(frameDen, frameNum),
    sampleAspectRatio: aspectNum > 0 && aspectDen > 0 ? { num: aspectNum, den: aspectDen } : undefined,
    granuleShift: ((packet[40]! & 3) << 3) | (packet[41]! >> 5),
  };
  if (header.width === 0 || header.height === 0) throw new ProbeError('corrupt_file', 'Theora header with a zero frame size');
  return header;
}

/**
 * The demuxer takes the picture size when it lies within 16 pixels of the frame; the decoder,
 * whose size ffprobe reports, also asks for the picture at offset 0 from the top left. Where the
 * two disagree the reader does not guess.
 */
function pictureSize({ width, height, picture }: TheoraHeader): { width: number; height: number } {
  const withinFrame = picture.width <= width && picture.width > width - 16 && picture.height <= height && picture.height > height - 16;
  const atOrigin = picture.x === 0 && picture.y === height - picture.height;
  if (withinFrame && !atOrigin) throw new NeedsFfprobe('Theora picture region offset within the frame');
  return withinFrame ? { width: picture.width, height: picture.height } : { width, height };
}

export function isOgg(head: Uint8Array): boolean {
  return startsWith(head, 'OggS');
}
