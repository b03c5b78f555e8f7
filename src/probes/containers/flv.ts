/**
 * FLV described as ffprobe 5.1 describes it (libavformat/flvdec.c): the format duration from
 * onMetaData's `duration`, else from the last tag's timestamp; the average frame rate from
 * onMetaData's `framerate`; the picture size from the codec (the H.264 SPS in the
 * AVCDecoderConfigurationRecord, a Sorenson Spark or VP6 key frame header), never from metadata;
 * the frame-rate mode from the first packets' timestamps, as the ffprobe path judges it. The
 * truncation checks (checkFlvEnd, checkFlvDuration) are exported for the ffprobe path too. Bytes
 * after the last tag are read as flv_read_packet meets them; anything else (other codecs,
 * enhanced FLV, data or caption tags, size mismatches that make ffmpeg resync, tags past the
 * muxer's filesize) goes to ffprobe.
 */
import { ProbeError } from '../../errors.js';
import type { ByteSource } from '../../sources/source.js';
import { BlockReader, startsWith, u24be, u32be, view } from '../audio/bytes.js';
import { parseMpegHeader } from '../audio/mpeg.js';
import { avcConfigProblem } from './codecs/decoder-config.js';
import { sorensonPicture, vp6KeyFramePicture, type FramePicture } from './codecs/flash-video.js';
import { avcConfigSpsList, h264DisplaySize, parseH264Sps } from './codecs/h264.js';
import { NeedsFfprobe, type VideoFacts } from './facts.js';
import { timestampsVary } from './frame-rate-mode.js';
import { avD2q, type Rational } from './rational.js';

const TAG_HEADER = 11;
const AUDIO = 8;
const VIDEO = 9;
const SCRIPT = 18;
const CODEC_SORENSON = 2;
const CODEC_VP6 = 4;
const CODEC_H264 = 7;
const AUDIO_AAC = 10;
const MP3_FORMATS = new Set([2, 14]);
const INFO_FRAME = 5;
/** The ffprobe path judges the frame rate mode from the first 41 video packets among the first 164 packets. */
const VFR_PACKETS = 41;
const PROBED_PACKETS = VFR_PACKETS * 4;
/** Tags walked at most before the reader gives up (the first packets lie well within). */
const WALK_LIMIT = 32 << 20;

export function isFlv(head: Uint8Array): boolean {
  return startsWith(head, 'FLV') && head[3]! < 5;
}

interface Packet {
  /** Presentation time of a video packet (ms); undefined for other streams. */
  videoPts?: number;
  /** The packets ffmpeg makes of the tag: 1, or the frames of an MP3 tag (its parser splits them); NaN when unsure. */
  count: number;
}

interface TagWalk {
  metadataSeen?: boolean;
  /** s->duration from onMetaData, in microseconds. */
  metaDuration?: number;
  frameRate?: number;
  /** onMetaData's `filesize`: where the muxer's file ended. */
  statedFileSize?: number;
  videoCodec?: number;
  picture?: FramePicture & { sampleAspectRatio?: Rational };
  packets: Packet[];
}

export async function flvVideoFacts(source: ByteSource, head: Uint8Array): Promise<VideoFacts> {
  const end = await checkFlvEnd(source);
  const size = await source.size();
  const dataOffset = u32be(head, 5);
  if (dataOffset !== 9 || size < dataOffset + 101) throw new NeedsFfprobe(`FLV body at byte ${dataOffset} of ${size}`);
  if (startsWith(head, 'NGINX RTMP', dataOffset + 40)) throw new NeedsFfprobe('live FLV (nginx RTMP)');
  if (end.tagsEnd < size) await requireSkippedTail(source, end.tagsEnd, size);
  const walk = await walkTags(new BlockReader(source), dataOffset + 4, end.tagsEnd, size);
  if (walk.videoCodec === undefined) throw new NeedsFfprobe('no FLV video tag among the first packets');
  if (!walk.picture) throw new NeedsFfprobe('no FLV video frame whose header gives the picture size');
  await requireNoJoinRead(source, walk.statedFileSize, end.tagsEnd, size);
  const micros = walk.metaDuration ? walk.metaDuration : await lastTagDuration(source, size);
  if (!(micros > 0)) throw new NeedsFfprobe('FLV states no duration');
  await checkFlvDuration(source, micros / 1e6);
  if (walk.frameRate === undefined || !(walk.frameRate > 0)) throw new NeedsFfprobe('FLV onMetaData states no frame rate');
  const { width, height, sampleAspectRatio } = walk.picture;
  return {
    mime: 'video/x-flv',
    containerDuration: micros / 1e6,
    stream: { width, height, avgFrameRate: avD2q(walk.frameRate, 1000), sampleAspectRatio, variableFrameRate: variableFrameRate(walk.packets) },
    reader: 'flv',
  };
}

/** Walks the tags from the first until the first packets are seen, as flv_read_packet reads them. */
async function walkTags(reader: BlockReader, start: number, size: number, fileSize: number): Promise<TagWalk> {
  const walk: TagWalk = { packets: [] };
  let sawMedia = false;
  for (let offset = start; offset + TAG_HEADER + 4 <= size && !walkDone(walk); ) {
    if (offset > WALK_LIMIT) throw new NeedsFfprobe(`FLV: first packets not found within ${WALK_LIMIT} bytes`);
    const header = await reader.bytes(offset, TAG_HEADER);
    const dataSize = u24be(header, 1);
    const timestamp = (u24be(header, 4) | (header[7]! << 24)) >>> 0;
    const end = offset + TAG_HEADER + dataSize;
    if (end + 4 > size) {
      // The header of an appended FLV reads as a tag whose size ('LV' and the version) runs past
      // the end of a file under 5 MB: flv_read_packet stops there. Other overruns mean the tag
      // chain read forward disagrees with the one read back from the end.
      if (startsWith(header, 'FLV') && end + 4 > fileSize) break;
      throw new NeedsFfprobe(`FLV tag at byte ${offset} runs past the last whole tag at ${size}`);
    }
    if (u32be(await reader.bytes(end, 4), 0) !== dataSize + TAG_HEADER) throw new NeedsFfprobe(`FLV tag at byte ${offset}: PreviousTagSize does not match (ffmpeg resyncs)`);
    if (header[0]! & 0x20) throw new NeedsFfprobe('encrypted FLV tag');
    const type = header[0]! & 0x1f;
    const data = dataSize > 0 ? await reader.bytes(offset + TAG_HEADER, dataSize) : new Uint8Array(0);
    offset = end + 4;
    if (dataSize === 0) continue;
    if (type === SCRIPT) readScriptTag(walk, data, timestamp, sawMedia);
    else if (type === AUDIO) {
      sawMedia = true;
      readAudioTag(walk, data);
    } else if (type === VIDEO) {
      sawMedia = true;
      readVideoTag(walk, data, timestamp);
    }
  }
  return walk;
}

function walkDone(walk: TagWalk): boolean {
  const videoPackets = walk.packets.filter((packet) => packet.videoPts !== undefined).length;
  const packets = walk.packets.reduce((sum, packet) => sum + packet.count, 0);
  return walk.picture !== undefined && (packets >= PROBED_PACKETS || videoPackets >= VFR_PACKETS);
}

/** Script tags flv_read_metabody parses as metadata (others become data packets). */
const METADATA_TAGS = new Set(['onMetaData', 'onCuePoint', '|RtmpSampleAccess']);

/**
 * flv_read_metabody: the first onMetaData gives the duration and frame rate; a metadata tag
 * stamped 0 makes no packet, any other script tag one (a subtitle or data stream's).
 */
function readScriptTag(walk: TagWalk, data: Uint8Array, timestamp: number, sawMedia: boolean): void {
  const name = data[0] === 2 && data.byteLength >= 3 ? new TextDecoder('latin1').decode(data.subarray(3, 3 + ((data[1]! << 8) | data[2]!))) : '';
  const parsed = data.byteLength > 13 + 1 + 4 && METADATA_TAGS.has(name);
  if (!parsed && name.startsWith('on')) throw new NeedsFfprobe(`FLV script tag '${name}'`);
  if (parsed) {
    const values = readMetadata(data.subarray(3 + name.length));
    const first = name === 'onMetaData' && !walk.metadataSeen;
    if (first) {
      walk.metadataSeen = true;
      if (values.duration !== undefined) walk.metaDuration = Math.trunc(values.duration * 1e6);
      walk.frameRate = values.framerate;
      walk.statedFileSize = values.filesize;
      // After the first audio or video tag ffmpeg has already looked for the duration at the end.
      if (sawMedia && !(walk.metaDuration && walk.metaDuration > 0)) throw new NeedsFfprobe('FLV onMetaData after the first packets without a duration');
    } else if (values.duration !== undefined || values.framerate !== undefined) {
      throw new NeedsFfprobe(`FLV script tag '${name}' restates the duration or frame rate`);
    }
  }
  if (!parsed || timestamp !== 0) walk.packets.push({ count: 1 });
}

function readAudioTag(walk: TagWalk, data: Uint8Array): void {
  const format = data[0]! >> 4;
  if (format === 9) throw new NeedsFfprobe('enhanced FLV audio');
  if (format === AUDIO_AAC) {
    // AACPacketType 0 is the AudioSpecificConfig: extradata, not a packet.
    if (data[1] !== 0 && data.byteLength > 2) walk.packets.push({ count: 1 });
    return;
  }
  if (data.byteLength > 1) walk.packets.push({ count: MP3_FORMATS.has(format) ? mp3Frames(data.subarray(1)) : 1 });
}

function readVideoTag(walk: TagWalk, data: Uint8Array, timestamp: number): void {
  const frameType = data[0]! >> 4;
  const codec = data[0]! & 0x0f;
  if (frameType >= 8) throw new NeedsFfprobe('enhanced FLV video');
  if (frameType === INFO_FRAME) return;
  if (walk.videoCodec !== undefined && walk.videoCodec !== codec) throw new NeedsFfprobe('FLV video codec changes');
  walk.videoCodec = codec;
  switch (codec) {
    case CODEC_H264:
      return readAvcTag(walk, data, timestamp);
    case CODEC_SORENSON:
      if (data.byteLength <= 1) return;
      walk.picture ??= orFfprobe(sorensonPicture(data.subarray(1)), 'Sorenson Spark');
      walk.packets.push({ videoPts: timestamp, count: 1 });
      return;
    case CODEC_VP6:
      if (data.byteLength <= 2) return;
      walk.picture ??= orFfprobe(vp6KeyFramePicture(data.subarray(2), data[1]!), 'VP6');
      walk.packets.push({ videoPts: timestamp, count: 1 });
      return;
    default:
      throw new NeedsFfprobe(`FLV video codec ${codec}`);
  }
}

function orFfprobe(picture: FramePicture | undefined, codec: string): FramePicture {
  if (!picture) throw new NeedsFfprobe(`the first ${codec} frame does not give the picture size`);
  return picture;
}

/** AVCPacketType 0 carries the AVCDecoderConfigurationRecord (no packet); 1 a frame at dts + composition offset. */
function readAvcTag(walk: TagWalk, data: Uint8Array, timestamp: number): void {
  if (data.byteLength < 5) throw new NeedsFfprobe('FLV AVC tag cut short');
  const compositionOffset = (u24be(data, 2) << 8) >> 8;
  if (data[1] === 0) {
    walk.picture ??= avcPicture(data.subarray(5));
    return;
  }
  if (data.byteLength === 5) return;
  if (!walk.picture) throw new NeedsFfprobe('FLV H.264 frames before the decoder configuration');
  if (Math.abs(compositionOffset) > 15 * 60 * 1000) throw new NeedsFfprobe('FLV composition offset ffmpeg discards');
  walk.packets.push({ videoPts: timestamp + compositionOffset, count: 1 });
}

function avcPicture(avcC: Uint8Array): FramePicture & { sampleAspectRatio?: Rational } {
  const problem = avcConfigProblem(avcC);
  if (problem) throw new NeedsFfprobe(`FLV AVC configuration: ${problem}`);
  const sps = avcConfigSpsList(avcC);
  if (sps.length !== 1) throw new NeedsFfprobe(`FLV AVC configuration with ${sps.length} SPS`);
  const parsed = parseH264Sps(sps[0]!);
  // flvdec gives the decoder no size of its own (onMetaData width/height only with flv_metadata).
  return { ...h264DisplaySize(parsed, { width: 0, height: 0 }), sampleAspectRatio: parsed.sampleAspectRatio };
}

/**
 * flv_read_packet without a metadata duration: the timestamp of the tag the trailing
 * PreviousTagSize points to, stepping back over tags stamped 0 (microseconds; 0 when none).
 */
async function lastTagDuration(source: ByteSource, size: number): Promise<number> {
  for (let end = size; end >= 8; ) {
    const previous = u32be(await source.read(end - 4, 4), 0);
    if (!(previous > 0 && previous < end)) return 0;
    const header = await source.read(end - 3 - previous, 7);
    if (header.byteLength < 7 || previous !== u24be(header, 0) + TAG_HEADER) return 0;
    const timestamp = (u24be(header, 3) | (header[6]! << 24)) >>> 0;
    if (timestamp) return Math.trunc((timestamp * 1_000_000) / 1000);
    if (end - 8 < previous) return 0;
    end -= previous + 4;
  }
  return 0;
}

/** The top-level numbers of onMetaData that flvdec.c uses (amf_parse_object at depth 1). */
function readMetadata(body: Uint8Array): { duration?: number; framerate?: number; filesize?: number } {
  const values: { duration?: number; framerate?: number; filesize?: number } = {};
  const amf = new AmfReader(body);
  amf.value(0, (key, value) => {
    if (key === 'duration' || key === 'framerate') {
      if (typeof value !== 'number') throw new NeedsFfprobe(`FLV onMetaData ${key} is not a number`);
      values[key] = value;
    } else if (key === 'filesize' && typeof value === 'number') values.filesize = value;
  });
  return values;
}

type AmfVisitor = (key: string, value: number | boolean | string | undefined) => void;

/** AMF0 values as flvdec.c parses them; types it cannot parse go to ffprobe. */
class AmfReader {
  private at = 0;

  constructor(private readonly bytes: Uint8Array) {}

  private need(length: number): number {
    if (this.at + length > this.bytes.byteLength) throw new NeedsFfprobe('FLV onMetaData ends early');
    const at = this.at;
    this.at += length;
    return at;
  }

  private string(length: number): string {
    const at = this.need(length);
    return new TextDecoder('latin1').decode(this.bytes.subarray(at, at + length));
  }

  private u16(): number {
    const at = this.need(2);
    return (this.bytes[at]! << 8) | this.bytes[at + 1]!;
  }

  /** Reads one value; `visit` sees the keys of an object or mixed array at depth 0 (flvdec's depth 1). */
  value(depth: number, visit?: AmfVisitor): number | boolean | string | undefined {
    const type = this.bytes[this.need(1)]!;
    switch (type) {
      case 0:
        return view(this.bytes).getFloat64(this.need(8));
      case 1:
        return this.bytes[this.need(1)] !== 0;
      case 2:
        return this.string(this.u16());
      case 3:
        this.pairs(depth, visit);
        return undefined;
      case 5:
      case 6:
        return undefined;
      case 8:
        this.need(4);
        this.pairs(depth, visit);
        return undefined;
      case 10: {
        const count = u32be(this.bytes, this.need(4));
        for (let i = 0; i < count; i++) this.value(depth + 1);
        return undefined;
      }
      case 11:
        this.need(10);
        return undefined;
      default:
        throw new NeedsFfprobe(`FLV onMetaData value of AMF type ${type}`);
    }
  }

  private pairs(depth: number, visit?: AmfVisitor): void {
    for (;;) {
      const key = this.string(this.u16());
      if (key === '') {
        if (this.bytes[this.need(1)] !== 9) throw new NeedsFfprobe('FLV onMetaData object without its end marker');
        return;
      }
      const value = this.value(depth + 1);
      if (depth === 0) visit?.(key, value);
    }
  }
}

/** The MPEG audio frames an MP3 tag holds whole; NaN when they do not fill it exactly (the parser would carry bytes over). */
function mp3Frames(payload: Uint8Array): number {
  let frames = 0;
  for (let at = 0; at < payload.byteLength; frames++) {
    const header = at + 4 <= payload.byteLength ? parseMpegHeader(u32be(payload, at)) : undefined;
    if (!header || header.frameSize === 0) return NaN;
    at += header.frameSize;
    if (at > payload.byteLength) return NaN;
  }
  return frames;
}

/**
 * The ffprobe path's frame-rate-mode rule (MediaInfo's): the first 41 video timestamps among the
 * first 164 packets, sorted; their gaps must stay within +-10% (after the largest few are dropped).
 */
function variableFrameRate(packets: Packet[]): boolean {
  const times: number[] = [];
  let read = 0;
  for (const packet of packets) {
    if (Number.isNaN(packet.count)) throw new NeedsFfprobe('an MP3 tag ffmpeg may split unevenly among the first packets');
    read += packet.count;
    if (read > PROBED_PACKETS) break;
    if (packet.videoPts !== undefined) times.push(packet.videoPts);
  }
  return timestampsVary(times.slice(0, VFR_PACKETS));
}

const FLV_BODY = 13;
/** Bytes searched back from the end for the last whole tags when the file does not end with one. */
const TAIL_SCAN = 1 << 20;
/** flvdec.c's RESYNC_BUFFER_SIZE: how far back its resync looks for two whole tags. */
const RESYNC_BUFFER = 1 << 20;

/** Where the tags end (after the last whole tag's PreviousTagSize); bytes past it are no tag. */
interface FlvEnd {
  tagsEnd: number;
}

/**
 * Truncation as SPEC.md has it for FLV: the file ends inside a tag (the last bytes start a tag
 * header whose size runs past the end). Bytes after the last whole tag that do not start a tag
 * (a newline, junk, another file appended) describe nothing: FFmpeg reads no packet from them.
 * When the end cannot be told apart within the last MiB it stays truncation.
 */
export async function checkFlvEnd(source: ByteSource): Promise<FlvEnd> {
  const size = await source.size();
  if (await tagBefore(source, size)) return { tagsEnd: size };
  const from = Math.max(0, size - TAIL_SCAN);
  const window = await source.read(from, size - from);
  const tagsEnd = lastTagsEnd(window, from);
  if (tagsEnd === undefined) throw new ProbeError('truncated', `${source.name}: the file ends inside an FLV tag (no whole tag in its last ${size - from} bytes)`);
  const tail = window.subarray(tagsEnd - from);
  if (startsTagPastEnd(tail)) throw new ProbeError('truncated', `${source.name}: the file ends inside an FLV tag at byte ${tagsEnd}`);
  return { tagsEnd };
}

/** The last offset in the window where two whole tags end (or one that follows a file header), if any. */
function lastTagsEnd(window: Uint8Array, from: number): number | undefined {
  for (let end = window.byteLength; end >= FLV_BODY - from + 11 + 4; end--) {
    const start = tagStartBefore(window, end);
    if (start === undefined) continue;
    if (start + from === FLV_BODY || startsFile(window, start) || tagStartBefore(window, start) !== undefined) return end + from;
  }
  return undefined;
}

/** The start of the tag whose PreviousTagSize ends at `end` in the bytes, when its header agrees. */
function tagStartBefore(bytes: Uint8Array, end: number): number | undefined {
  if (end < 4) return undefined;
  const previous = u32be(bytes, end - 4);
  const start = end - 4 - previous;
  if (previous < TAG_HEADER || start < 0) return undefined;
  return [AUDIO, VIDEO, SCRIPT].includes(bytes[start]!) && u24be(bytes, start + 1) + TAG_HEADER === previous ? start : undefined;
}

/** A file header and PreviousTagSize0 end at `at`: the first tag of an appended FLV starts there. */
function startsFile(bytes: Uint8Array, at: number): boolean {
  return at >= FLV_BODY && startsWith(bytes, 'FLV', at - FLV_BODY) && u32be(bytes, at - 4) === 0;
}

/** The bytes start a tag header (type, stream id 0) whose tag and PreviousTagSize the file does not hold. */
function startsTagPastEnd(tail: Uint8Array): boolean {
  if (![AUDIO, VIDEO, SCRIPT].includes(tail[0]!)) return false;
  if (tail.byteLength >= TAG_HEADER && u24be(tail, 8) !== 0) return false;
  return tail.byteLength < 4 || TAG_HEADER + u24be(tail, 1) + 4 > tail.byteLength;
}

/**
 * flv_read_packet at bytes that are no tag: it reads them as a tag header; a type other than
 * audio, video or script is skipped, and the PreviousTagSize after it read at the end of the file
 * (or failing to match, then resync finding no two whole tags) ends the demuxing with no packet.
 * Anything else (a packet made of the bytes, a resync that lands) goes to ffprobe.
 */
async function requireSkippedTail(source: ByteSource, tagsEnd: number, size: number): Promise<void> {
  if (size - tagsEnd < 8) return;
  if (size - tagsEnd > RESYNC_BUFFER) throw new NeedsFfprobe(`FLV: ${size - tagsEnd} bytes after the last tag`);
  const tail = await source.read(tagsEnd, size - tagsEnd);
  if ([AUDIO, VIDEO, SCRIPT].includes(tail[0]! & 0x1f)) throw new NeedsFfprobe(`FLV: bytes after the last tag read as a tag of type ${tail[0]! & 0x1f}`);
  const dataSize = u24be(tail, 1);
  const next = TAG_HEADER + dataSize;
  if (next + 4 > tail.byteLength) return;
  const last = u32be(tail, next);
  if (last === dataSize + 11 || last === dataSize + 10 || (last === dataSize && last !== 0)) throw new NeedsFfprobe('FLV: bytes after the last tag end in a size flvdec accepts');
  if (resyncFinds(tail.subarray(1))) throw new NeedsFfprobe('FLV: bytes after the last tag hold two tags resync would land on');
}

/** flvdec.c resync(): two consecutive whole tags (sizes and PreviousTagSizes agreeing) among the bytes read. */
function resyncFinds(bytes: Uint8Array): boolean {
  // The loop also checks after the read that meets the end of the file, whose byte is never looked at.
  for (let i = 23; i <= bytes.byteLength; i++) {
    const lsize2 = u32be(bytes, i - 4);
    if (!(lsize2 >= 11 && lsize2 + 8 < i)) continue;
    const size2 = u24be(bytes, i - lsize2 - 3);
    const lsize1 = u32be(bytes, i - lsize2 - 8);
    if (!(lsize1 >= 11 && lsize1 + 8 + lsize2 < i)) continue;
    const size1 = u24be(bytes, i - lsize1 - lsize2 - 7);
    if (size1 === lsize1 - 11 && size2 === lsize2 - 11) return true;
  }
  return false;
}

/**
 * Tags past onMetaData's `filesize` are another file appended (cat a.flv b.flv). flv_read_packet
 * reads its header as a tag whose size ('LV' and the version) runs past the end of a file under
 * 5 MB and stops there; otherwise resync lands in the next file, whose onMetaData (read while
 * ffprobe looks for stream info, a long way for video-only files) resets the duration and frame rate.
 */
async function requireNoJoinRead(source: ByteSource, statedFileSize: number | undefined, tagsEnd: number, size: number): Promise<void> {
  if (!statedFileSize || !(statedFileSize < tagsEnd)) return; // 0 is the placeholder of a muxer that could not seek back
  const at = Math.trunc(statedFileSize);
  const header = await source.read(at, 4);
  if (at === statedFileSize && startsWith(header, 'FLV') && at + TAG_HEADER + u24be(header, 1) + 4 > size) return;
  throw new NeedsFfprobe(`FLV tags continue past onMetaData's filesize ${statedFileSize}: flvdec reads on into what follows`);
}

/** Slack between the stated duration and the last tag's timestamp (the last frame's own length, rounding). */
const DURATION_SLACK_S = 1;
/**
 * Tags walked back from the end until one reaches the stated duration: a muxer's closing video tag
 * may come after the audio's last, and a joined file's tags (a few thousand) come before the join.
 */
const TAGS_WALKED_BACK = 8192;
/** Joined files crossed walking back. */
const JOINS_WALKED_BACK = 8;
/** Bytes read at once walking back. */
const BACK_WINDOW = 1 << 18;

/** Reads walking back from the end through one window, so many small tags cost few reads. */
class BackReader {
  private start = 0;
  private bytes: Uint8Array = new Uint8Array(0);

  constructor(private readonly source: ByteSource) {}

  async read(offset: number, length: number): Promise<Uint8Array> {
    if (offset < this.start || offset + length > this.start + this.bytes.byteLength) {
      const end = offset + length;
      this.start = Math.max(0, end - Math.max(BACK_WINDOW, length));
      this.bytes = await this.source.read(this.start, end - this.start);
    }
    return this.bytes.subarray(offset - this.start, offset - this.start + length);
  }
}

/**
 * The last tags' timestamps must come close to the duration onMetaData states (which ffprobe
 * reports). Walking back crosses the header of an appended FLV, whose timestamps restart: the
 * stated duration is the first file's and the tags before the join back it.
 */
export async function checkFlvDuration(source: ByteSource, statedDuration: number | undefined): Promise<void> {
  if (statedDuration === undefined) return;
  const { tagsEnd } = await checkFlvEnd(source);
  const enough = statedDuration - DURATION_SLACK_S;
  const reader = new BackReader(source);
  let latest: number | undefined;
  let end = tagsEnd;
  for (let joins = 0, walked = 0; walked < TAGS_WALKED_BACK && !(latest !== undefined && latest >= enough); walked++) {
    const tag = await tagBefore(reader, end);
    if (tag) {
      latest = Math.max(latest ?? 0, tag.timestamp / 1000);
      if (tag.start === end) break;
      end = tag.start;
    } else if (joins < JOINS_WALKED_BACK && (await appendedFileAt(reader, end))) {
      joins++;
      end -= FLV_BODY;
      await requireJoinEndsDemuxing(reader, end, await source.size(), source.name);
    } else break;
  }
  if (latest !== undefined && statedDuration > latest + DURATION_SLACK_S) {
    throw new ProbeError('truncated', `${source.name}: onMetaData states a duration of ${statedDuration} s; the tags end at ${latest} s`);
  }
}

/**
 * flv_read_packet reads an appended file's header as a tag whose size ('LV' and the version) runs
 * past the end of a file under 5 MB, and stops there. Otherwise resync lands in the next file,
 * whose onMetaData may reset the duration and frame rate depending on how many packets are read
 * (ffprobe's stream-info pass, or the packets the ffprobe path asks for): no reading is certain.
 */
async function requireJoinEndsDemuxing(reader: BackReader, at: number, size: number, name: string): Promise<void> {
  const header = await reader.read(at, 4);
  if (at + TAG_HEADER + u24be(header, 1) + 4 > size) return;
  throw new ProbeError('corrupt_file', `${name}: another FLV is joined at byte ${at}, and flvdec reads on into it`);
}

async function appendedFileAt(source: { read(offset: number, length: number): Promise<Uint8Array> }, at: number): Promise<boolean> {
  if (at < 2 * FLV_BODY) return false;
  const header = await source.read(at - FLV_BODY, FLV_BODY);
  return startsWith(header, 'FLV') && u32be(header, FLV_BODY - 4) === 0;
}

/** The tag that ends at `end`, found through the PreviousTagSize before it; undefined when it does not check out. */
async function tagBefore(source: { read(offset: number, length: number): Promise<Uint8Array> }, end: number): Promise<{ timestamp: number; start: number } | undefined> {
  if (end < FLV_BODY) return undefined;
  const previous = u32be(await source.read(end - 4, 4), 0);
  if (previous === 0) return end === FLV_BODY ? { timestamp: 0, start: end } : undefined;
  const start = end - 4 - previous;
  if (start < FLV_BODY) return undefined;
  const header = await source.read(start, TAG_HEADER);
  if (![AUDIO, VIDEO, SCRIPT].includes(header[0]! & 0x1f) || u24be(header, 1) + TAG_HEADER !== previous) return undefined;
  return { timestamp: (u24be(header, 4) | (header[7]! << 24)) >>> 0, start };
}
