/**
 * AVI described as ffprobe 5.1 describes it (libavformat/avidec.c): each video stream's
 * avg_frame_rate is dwRate/dwScale and its duration dwLength frames; an audio stream with
 * dwSampleSize 0 lasts dwLength of its units too; the format lasts as long as the longest
 * (update_stream_timings, every stream starting at 0). The picture size is the
 * BITMAPINFOHEADER's once the first frame's codec header agrees with it (the decoder's size is
 * what ffprobe reports); vprp gives the sample aspect ratio. A RIFF or movi list reaching past the
 * end of the file is truncated. Files in several RIFF chunks (OpenDML AVIX), other stream types and
 * codecs, frame-rate modes that depend on ffmpeg's packet window and frame counts idx1 does not
 * back go to ffprobe.
 */
import { ProbeError } from '../../errors.js';
import type { ByteSource } from '../../sources/source.js';
import { ascii, BlockReader, startsWith, u16le, u32le } from '../audio/bytes.js';
import { h264DisplaySize, parseH264Sps } from './codecs/h264.js';
import { jpegFrameSize } from './codecs/jpeg.js';
import { mpeg4VolPicture } from './codecs/mpeg4.js';
import { NeedsFfprobe, type VideoFacts } from './facts.js';
import { timestampsVaryForAnyWindow } from './frame-rate-mode.js';
import { avRescale, avReduce, type Rational } from './rational.js';

/** Header lists larger than this are not read in-process. */
const HEADER_LIMIT = 1 << 20;
/** The ffprobe path judges the frame rate mode from the first 41 video packets. */
const VFR_PACKETS = 41;
const INDEX_LIMIT = 32 << 20;

const MPEG4_TAGS = new Set(['FMP4', 'XVID', 'DIVX', 'DX50', 'MP4V', 'fmp4', 'xvid', 'divx', 'dx50', 'mp4v']);
const H264_TAGS = new Set(['H264', 'h264', 'X264', 'x264', 'AVC1', 'avc1']);
const MJPEG_TAGS = new Set(['MJPG', 'mjpg']);

interface AviStream {
  type: string;
  scale: number;
  rate: number;
  length: number;
  sampleSize: number;
  /** BITMAPINFOHEADER of a video stream. */
  bitmap?: { width: number; height: number; compression: string };
  sampleAspectRatio?: Rational;
}

export function isAvi(head: Uint8Array): boolean {
  return startsWith(head, 'RIFF') && startsWith(head, 'AVI ', 8);
}

export async function aviVideoFacts(source: ByteSource): Promise<VideoFacts> {
  const reader = new BlockReader(source);
  const riffEnd = 8 + u32le(await reader.bytes(4, 4), 0);
  const { streams, movi } = await readHeader(reader);
  const size = await source.size();
  // A missing pad byte after the last chunk loses nothing.
  if (riffEnd > size + 1) throw new ProbeError('truncated', `${source.name}: the RIFF chunk claims ${riffEnd} bytes, the file holds ${size}`);
  if (movi.dataEnd > size) throw new ProbeError('truncated', `${source.name}: the movi list claims to end at byte ${movi.dataEnd}, the file holds ${size}`);
  if (riffEnd < size && startsWith(await reader.bytes(riffEnd, 12), 'AVIX', 8)) throw new NeedsFfprobe('OpenDML AVI (AVIX)');
  const videoIndex = streams.findIndex((stream) => stream.type === 'vids');
  if (videoIndex < 0) throw new ProbeError('no_video_stream', `${source.name} has no video stream`);
  const video = streams[videoIndex]!;
  const timeBase = timeBaseOf(video);
  const first = await readFirstVideoChunks(reader, movi, videoIndex);
  await checkFrameCount(reader, movi, videoIndex, video, size);
  const picture = pictureSize(video, first.frame);
  return {
    mime: 'video/x-msvideo',
    containerDuration: formatDuration(streams),
    stream: {
      ...picture,
      // avi_read_header: avg_frame_rate = 1 / time base.
      avgFrameRate: { num: timeBase.den, den: timeBase.num },
      frameCount: video.length,
      duration: (video.length * timeBase.num) / timeBase.den,
      // ffprobe prints the stream's (vprp) aspect ratio, else the decoder's.
      sampleAspectRatio: video.sampleAspectRatio ?? picture.sampleAspectRatio,
      variableFrameRate: frameRateMode(first.timestamps, streams, timeBase),
    },
    reader: 'avi',
  };
}

/** avpriv_set_pts_info(st, 64, dwScale, dwRate): the time base, reduced. */
function timeBaseOf(stream: AviStream): Rational {
  return avReduce(stream.scale, stream.rate);
}

/** The hdrl list's streams and where the movi list lies. */
async function readHeader(reader: BlockReader): Promise<{ streams: AviStream[]; movi: { start: number; dataEnd: number; end: number } }> {
  let streams: AviStream[] | undefined;
  for (let offset = 12; ; ) {
    const header = await reader.bytes(offset, 12);
    if (header.byteLength < 12) throw new ProbeError('truncated', 'the AVI file ends before its movi list');
    const id = ascii(header, 0);
    const size = u32le(header, 4);
    const listType = ascii(header, 8);
    if (id === 'LIST' && listType === 'movi') {
      if (!streams) throw new ProbeError('corrupt_file', 'AVI movi list before the hdrl list');
      if (size === 0) throw new NeedsFfprobe('AVI movi list of size 0');
      return { streams, movi: { start: offset + 12, dataEnd: offset + 8 + size, end: offset + 8 + size + (size & 1) } };
    }
    if (id === 'LIST' && listType === 'hdrl') {
      if (streams || size > HEADER_LIMIT) throw new NeedsFfprobe('AVI hdrl list repeated or over 1 MiB');
      streams = parseHeaderList(await reader.bytes(offset + 12, size - 4));
    } else if (!['LIST', 'JUNK', 'IDIT', 'JUNQ'].includes(id)) {
      throw new NeedsFfprobe(`AVI chunk '${id}' before the movi list`);
    }
    offset += 8 + size + (size & 1);
  }
}

/** Chunks of a RIFF list body: [id, body]. */
function* chunks(bytes: Uint8Array): Generator<[string, Uint8Array]> {
  for (let offset = 0; offset + 8 <= bytes.byteLength; ) {
    const size = u32le(bytes, offset + 4);
    if (offset + 8 + size > bytes.byteLength) throw new NeedsFfprobe(`AVI header chunk '${ascii(bytes, offset)}' runs past its list`);
    yield [ascii(bytes, offset), bytes.subarray(offset + 8, offset + 8 + size)];
    offset += 8 + size + (size & 1);
  }
}

function parseHeaderList(hdrl: Uint8Array): AviStream[] {
  const streams: AviStream[] = [];
  for (const [id, body] of chunks(hdrl)) {
    // An OpenDML 'odml' list (dmlh) and 'indx' super indexes change no value ffprobe reports.
    if (id === 'LIST' && startsWith(body, 'strl')) streams.push(parseStreamList(body.subarray(4)));
  }
  return streams;
}

function parseStreamList(strl: Uint8Array): AviStream {
  let stream: AviStream | undefined;
  for (const [id, body] of chunks(strl)) {
    if (id === 'strh') stream = parseStreamHeader(body);
    else if (id === 'strf' && stream?.type === 'vids') stream.bitmap = parseBitmapHeader(body);
    else if (id === 'vprp' && stream) stream.sampleAspectRatio = videoPropertiesAspect(body);
  }
  if (!stream) throw new NeedsFfprobe('AVI stream list without strh');
  if (stream.type === 'vids' && !stream.bitmap) throw new NeedsFfprobe('AVI video stream without strf');
  return stream;
}

function parseStreamHeader(strh: Uint8Array): AviStream {
  if (strh.byteLength < 48) throw new NeedsFfprobe('AVI strh cut short');
  const type = ascii(strh, 0);
  if (type !== 'vids' && type !== 'auds') throw new NeedsFfprobe(`AVI '${type}' stream`);
  const scale = u32le(strh, 20);
  const rate = u32le(strh, 24);
  if (!(scale > 0 && rate > 0 && scale < 2 ** 31 && rate < 2 ** 31)) throw new NeedsFfprobe(`AVI stream rate ${rate}/${scale}`);
  const sampleSize = type === 'vids' ? 0 : u32le(strh, 44);
  if (sampleSize >= 2 ** 31) throw new NeedsFfprobe('AVI negative sample size');
  return { type, scale, rate, length: u32le(strh, 32), sampleSize };
}

function parseBitmapHeader(strf: Uint8Array): AviStream['bitmap'] {
  if (strf.byteLength < 40) throw new NeedsFfprobe('AVI BITMAPINFOHEADER cut short');
  const height = new DataView(strf.buffer, strf.byteOffset).getInt32(8, true);
  return { width: u32le(strf, 4), height: Math.abs(height), compression: ascii(strf, 16) };
}

/** vprp: the frame aspect ratio over the active size (avidec.c: av_div_q(active_aspect, active)). */
function videoPropertiesAspect(vprp: Uint8Array): Rational | undefined {
  if (vprp.byteLength <= 36) return undefined;
  const aspect = { den: u16le(vprp, 20), num: u16le(vprp, 22) };
  const active = { num: u32le(vprp, 24), den: u32le(vprp, 28) };
  if (!(aspect.num && aspect.den && active.num && active.den)) return undefined;
  return avReduce(BigInt(aspect.num) * BigInt(active.den), BigInt(aspect.den) * BigInt(active.num));
}

/**
 * The first video chunks of the movi list: the first frame (its codec header), and the frame
 * numbers of the first 41 that hold data (ffmpeg skips an empty chunk, a dropped frame, but counts
 * its time: those numbers are the packets' timestamps).
 */
async function readFirstVideoChunks(reader: BlockReader, movi: { start: number; end: number }, videoIndex: number): Promise<{ frame: Uint8Array; timestamps: number[] }> {
  const timestamps: number[] = [];
  let frame: Uint8Array | undefined;
  const videoPrefix = String(videoIndex).padStart(2, '0');
  let frameNumber = 0;
  for (let offset = movi.start; offset + 8 <= movi.end && timestamps.length < VFR_PACKETS; ) {
    const header = await reader.bytes(offset, 8);
    const id = ascii(header, 0);
    const size = u32le(header, 4);
    if (id === 'LIST') throw new NeedsFfprobe("AVI 'rec ' lists");
    if (id.startsWith(videoPrefix) && (id.endsWith('dc') || id.endsWith('db'))) {
      if (size > 0) {
        frame ??= new Uint8Array(await reader.bytes(offset + 8, Math.min(size, 1 << 20)));
        timestamps.push(frameNumber);
      }
      frameNumber++;
    } else if (id.startsWith(videoPrefix)) throw new NeedsFfprobe(`AVI chunk '${id}' in the video stream`);
    offset += 8 + size + (size & 1);
  }
  if (!frame) throw new NeedsFfprobe('no AVI video chunk with data');
  return { frame, timestamps };
}

/** Audio packets a second that ffmpeg may read beside the video, at most, for the usual codecs. */
const AUDIO_PACKET_RATE = 200;

/**
 * The ffprobe path's frame-rate-mode rule on the first video timestamps among its first 164
 * packets. How many video packets that window holds depends on how ffmpeg cuts the audio, so the
 * verdict must not change down to the fewest it could hold (8, when eight frames last less than the
 * audio packets that could fill the window need).
 */
function frameRateMode(timestamps: number[], streams: AviStream[], timeBase: Rational): boolean {
  const hasAudio = streams.some((stream) => stream.type === 'auds');
  const eightFrames = (8 * timeBase.num) / timeBase.den;
  const fewest = !hasAudio ? VFR_PACKETS : eightFrames * AUDIO_PACKET_RATE + 8 <= VFR_PACKETS * 4 ? 8 : 2;
  const verdict = timestampsVaryForAnyWindow(timestamps, fewest);
  if (verdict === undefined) throw new NeedsFfprobe('the frame rate mode depends on how many video packets ffprobe reads');
  return verdict;
}

/** The idx1 index after the movi list must count the frames dwLength states. */
async function checkFrameCount(reader: BlockReader, movi: { start: number; end: number }, videoIndex: number, video: AviStream, size: number): Promise<void> {
  const header = await reader.bytes(movi.end, 8);
  if (header.byteLength < 8 || ascii(header, 0) !== 'idx1') throw new NeedsFfprobe('AVI without an idx1 index after the movi list');
  const indexSize = u32le(header, 4);
  if (movi.end + 8 + indexSize > size) throw new ProbeError('truncated', `the AVI index claims ${indexSize} bytes past the end of the file`);
  if (indexSize > INDEX_LIMIT) throw new NeedsFfprobe('AVI index over 32 MiB');
  const index = await reader.bytes(movi.end + 8, indexSize);
  const videoPrefix = String(videoIndex).padStart(2, '0');
  let frames = 0;
  let dataEnd = 0;
  for (let at = 0; at + 16 <= index.byteLength; at += 16) {
    const id = ascii(index, at);
    if (id.startsWith(videoPrefix) && (id.endsWith('dc') || id.endsWith('db'))) frames++;
    dataEnd = Math.max(dataEnd, u32le(index, at + 8) + 8 + u32le(index, at + 12));
  }
  // Entry offsets count from the 'movi' fourcc or from the start of the file.
  if (dataEnd > size && dataEnd + movi.start - 4 > size) throw new ProbeError('truncated', `AVI index entries reach byte ${dataEnd}, past the end of the file`);
  if (frames !== video.length) throw new NeedsFfprobe(`AVI dwLength ${video.length} but ${frames} indexed frames`);
}

/** update_stream_timings: the longest stream whose duration ffmpeg knows (dwLength units where dwSampleSize is 0). */
function formatDuration(streams: AviStream[]): number {
  let micros = 0n;
  for (const stream of streams) {
    if (stream.sampleSize !== 0) continue;
    const { num, den } = timeBaseOf(stream);
    const duration = avRescale(BigInt(stream.length) * BigInt(num), 1_000_000, den);
    if (duration > micros) micros = duration;
  }
  if (micros <= 0n) throw new NeedsFfprobe('AVI streams state no duration');
  return Number(micros) / 1e6;
}

/** The BITMAPINFOHEADER size, once the first frame's codec header shows the decoder will use it; with the decoder's aspect ratio. */
function pictureSize(video: AviStream, firstFrame: Uint8Array): { width: number; height: number; sampleAspectRatio?: Rational } {
  const bitmap = video.bitmap!;
  const codec = bitmap.compression;
  const coded = MJPEG_TAGS.has(codec) ? mjpegPicture(firstFrame) : MPEG4_TAGS.has(codec) ? mpeg4VolPicture(firstFrame) : H264_TAGS.has(codec) ? h264Picture(firstFrame, bitmap) : undefined;
  if (!coded) throw new NeedsFfprobe(`AVI video '${codec}' whose first frame does not give its size`);
  if (coded.width !== bitmap.width || coded.height !== bitmap.height) throw new NeedsFfprobe(`AVI ${codec} frame ${coded.width}x${coded.height} in a ${bitmap.width}x${bitmap.height} header`);
  return coded;
}

/** SOF size, and the JFIF pixel density the MJPEG decoder takes as the aspect ratio. */
function mjpegPicture(frame: Uint8Array): { width: number; height: number; sampleAspectRatio?: Rational } | undefined {
  const size = jpegFrameSize(frame);
  if (!size) return undefined;
  const jfif = frame[2] === 0xff && frame[3] === 0xe0 && startsWith(frame, 'JFIF\0', 6) && frame.byteLength >= 18;
  if (!jfif) return size;
  const density = { num: (frame[14]! << 8) | frame[15]!, den: (frame[16]! << 8) | frame[17]! };
  return { ...size, sampleAspectRatio: density.num > 0 && density.den > 0 ? density : undefined };
}

/** The SPS of an Annex B key frame, cropped as the decoder crops it given the container size. */
function h264Picture(frame: Uint8Array, bitmap: { width: number; height: number }): { width: number; height: number; sampleAspectRatio?: Rational } | undefined {
  for (let i = 0; i + 4 < frame.byteLength; i++) {
    if (frame[i] === 0 && frame[i + 1] === 0 && frame[i + 2] === 1 && (frame[i + 3]! & 0x1f) === 7) {
      let end = i + 3;
      while (end + 3 <= frame.byteLength && !(frame[end] === 0 && frame[end + 1] === 0 && (frame[end + 2] === 1 || frame[end + 2] === 0))) end++;
      const sps = parseH264Sps(frame.subarray(i + 3, end));
      return { ...h264DisplaySize(sps, bitmap), sampleAspectRatio: sps.sampleAspectRatio };
    }
  }
  return undefined;
}
