/**
 * Raw MPEG-1/MPEG-2 video elementary streams (.m1v/.m2v, and .mpg files without pack headers),
 * read as FFmpeg 5.1 reads them for ffprobe: the "mpegvideo" raw demuxer (time base 1/1200000)
 * with the mpegvideo parser, then avformat_find_stream_info and estimate_timings.
 *
 * - avg_frame_rate: find_stream_info measures the parser's frame durations over the fields they
 *   count and rounds the result to the standard rate the sequence header names (its error is 0),
 *   so it is that rate, repeated fields or not.
 * - duration: the demuxer gives no timestamps, so estimate_timings_from_bit_rate divides the file
 *   size by the stream's bit rate, which is what the parser (and, for MPEG-1, the decoder) left in
 *   AVCodecContext.bit_rate; without one, ffprobe prints no duration at all.
 * - the frame rate mode: repeated fields (3:2 pulldown) make frame durations differ; see
 *   {@link frameDurationsVary}.
 *
 * Field pictures, a changing sequence header, rates FFmpeg would round and the like go to
 * ffprobe: see {@link inspectMpegVideo}.
 */
import type { ByteSource } from '../../sources/source.js';
import { NeedsFfprobe, type VideoFacts } from './facts.js';
import { eachStartCode, inspectMpegVideo, sameBytes, startCodes } from './mpeg-es.js';
import type { Rational } from './rational.js';

const SEQUENCE_HEADER = 0xb3;
const SEQUENCE_END = 0xb7;
const EXTENSION = 0xb5;
const PICTURE = 0x00;
const PACK = 0xba;
const RESERVED_B6 = 0xb6;
const LAST_SLICE = 0xaf;
const SEQUENCE_EXTENSION_ID = 1;
const PICTURE_CODING_EXTENSION_ID = 8;

/** The raw demuxer's time base (rawdec.c: avpriv_set_pts_info(st, 64, 1, 1200000)). */
const TIME_BASE = 1_200_000;
/** vbv_delay 0xFFFF marks a variable bit rate picture. */
const VBR_DELAY = 0xffff;

/**
 * Frames looked at: more than find_stream_info parses (about 20 frames: it stops at 20 frame
 * periods) and than the 41 packets the ffprobe path judges the frame rate mode on.
 */
const FRAMES_NEEDED = 48;
/** The first read; each further read doubles what has been read (low-rate streams need one or two). */
const FIRST_READ = 64 * 1024;
/** Streams whose first frames need more than this go to ffprobe. */
const MAX_HEAD_BYTES = 8 * 1024 * 1024;
/** av_probe_input_buffer2: probe sizes from 2 KiB doubling up to 1 MiB. */
const PROBE_MIN = 2048;
const PROBE_MAX = 1 << 20;
/** mpegvideo_probe's score when the buffer holds several pictures (AVPROBE_SCORE_EXTENSION + 1). */
const PROBE_SCORE_SURE = 51;

export function isMpegVideoElementaryStream(head: Uint8Array): boolean {
  return head.byteLength >= 4 && head[0] === 0 && head[1] === 0 && head[2] === 1 && head[3] === SEQUENCE_HEADER;
}

export async function mpegVideoEsFacts(source: ByteSource): Promise<VideoFacts> {
  const { bytes, complete, frames } = await readHead(source);
  // The decoder drops a sequence header whose marker bit or end is wrong (and with it, for
  // MPEG-1, the bit rate it would set); the probe skips it.
  if (!sequenceHeaderChecksOut((at) => bytes[at] ?? 0, 4, bytes.byteLength - 4)) throw new NeedsFfprobe('MPEG video ES: the first sequence header does not check out');
  checkProbeChoosesMpegVideo(bytes, complete);
  if (frames.length < 3) throw new NeedsFfprobe('MPEG video ES: fewer than 3 frames (find_stream_info may measure no frame rate)');
  const parameters = inspectMpegVideo(frames, { extendedRateCodes: true, repeatedFields: true });
  if (!isStandardFrameRate(parameters.frameRate)) throw new NeedsFfprobe(`MPEG video ES: ${parameters.frameRate.num}/${parameters.frameRate.den} fps is no standard rate (find_stream_info would round it to one)`);
  const headers = frames.map(readFrameHeaders);
  const bitRate = streamBitRate(headers, parameters.codec);
  const variableFrameRate = frameDurationsVary(headers);
  const fileSize = await source.size();
  const durationTicks = bitRate === undefined ? undefined : rescale(8 * fileSize, TIME_BASE, bitRate);
  return {
    mime: 'video/mpeg',
    // update_stream_timings: format.duration is the stream's, rescaled to AV_TIME_BASE.
    containerDuration: durationTicks === undefined ? undefined : rescale(durationTicks, 1_000_000, TIME_BASE) / 1_000_000,
    stream: {
      width: parameters.width,
      height: parameters.height,
      avgFrameRate: parameters.frameRate,
      duration: durationTicks === undefined ? undefined : durationTicks / TIME_BASE,
      sampleAspectRatio: parameters.sampleAspectRatio,
      variableFrameRate,
    },
    reader: 'mpeg',
  };
}

/** The first FRAMES_NEEDED frames (or the whole stream), read in growing steps. */
async function readHead(source: ByteSource): Promise<{ bytes: Uint8Array; complete: boolean; frames: Uint8Array[] }> {
  const chunks: Uint8Array[] = [];
  let length = 0;
  for (;;) {
    const wanted = Math.max(FIRST_READ, length);
    const chunk = await source.read(length, wanted);
    chunks.push(chunk);
    length += chunk.byteLength;
    const complete = chunk.byteLength < wanted;
    const bytes = join(chunks, length);
    const frames = splitFrames(bytes, complete);
    if (complete || frames.length >= FRAMES_NEEDED) return { bytes, complete, frames };
    if (length >= MAX_HEAD_BYTES) throw new NeedsFfprobe('MPEG video ES: large frames');
  }
}

function join(chunks: Uint8Array[], length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.byteLength;
  }
  return bytes;
}

function isSlice(code: number): boolean {
  return code >= 0x01 && code <= LAST_SLICE;
}

/**
 * The frames as ff_mpeg1_find_frame_end cuts them for frame pictures: a frame ends at the first
 * start code other than a slice after its slices (the sequence end code stays in its frame).
 * Without `complete`, the last frame may be cut by the read and is left out.
 */
function splitFrames(bytes: Uint8Array, complete: boolean): Uint8Array[] {
  const frames: Uint8Array[] = [];
  let start = 0;
  let inSlices = false;
  for (const at of startCodes(bytes)) {
    const code = bytes[at]!;
    if (code === SEQUENCE_END) {
      if (at + 1 < bytes.byteLength || !complete) throw new NeedsFfprobe('MPEG video ES: data after a sequence end code');
      break;
    }
    if (isSlice(code)) inSlices = true;
    else if (inSlices) {
      frames.push(bytes.subarray(start, at - 3));
      start = at - 3;
      inSlices = false;
    }
  }
  if (complete) frames.push(bytes.subarray(start));
  return frames;
}

interface FrameHeaders {
  /** The sequence header's 18-bit bit_rate field, when the frame opens with a sequence header. */
  bitRateField?: number;
  /** The sequence extension's bytes (MPEG-2), when the frame carries one. */
  sequenceExtension?: Uint8Array;
  vbvDelay: number;
  /** The picture coding extension's flags (MPEG-2). */
  pictureCoding?: { topFieldFirst: boolean; repeatFirstField: boolean; progressiveFrame: boolean };
}

/** mpegvideo_extract_headers: the headers before the first slice. */
function readFrameHeaders(frame: Uint8Array): FrameHeaders {
  const headers: FrameHeaders = { vbvDelay: -1 };
  for (const at of eachStartCode(frame)) {
    const code = frame[at]!;
    const left = frame.byteLength - at - 1;
    if (isSlice(code)) break;
    if (code === SEQUENCE_HEADER) {
      if (left < 8) throw new NeedsFfprobe('MPEG video ES: sequence header cut');
      headers.bitRateField = (frame[at + 5]! << 10) | (frame[at + 6]! << 2) | (frame[at + 7]! >> 6);
    } else if (code === PICTURE) {
      if (left < 4) throw new NeedsFfprobe('MPEG video ES: picture header cut');
      headers.vbvDelay = ((frame[at + 2]! & 7) << 13) | (frame[at + 3]! << 5) | (frame[at + 4]! >> 3);
    } else if (code === EXTENSION && left >= 6) {
      const id = frame[at + 1]! >> 4;
      if (id === SEQUENCE_EXTENSION_ID) headers.sequenceExtension = frame.slice(at + 1, at + 7);
      else if (id === PICTURE_CODING_EXTENSION_ID) {
        headers.pictureCoding = { topFieldFirst: (frame[at + 4]! & 0x80) !== 0, repeatFirstField: (frame[at + 4]! & 2) !== 0, progressiveFrame: (frame[at + 5]! & 0x80) !== 0 };
      }
    }
  }
  if (headers.vbvDelay < 0) throw new NeedsFfprobe('MPEG video ES: a frame without a picture header');
  return headers;
}

/**
 * AVCodecContext.bit_rate after find_stream_info, in bit/s; undefined when nothing sets it.
 * The parser sets 400 * bit_rate for a frame with a sequence header when the stream is MPEG-1
 * with a constant rate, or the frame's picture has a vbv_delay; the MPEG-1 decoder sets it too,
 * for any rate other than 0 (its vbv_delay test sees no picture yet).
 */
function streamBitRate(frames: FrameHeaders[], codec: string): number | undefined {
  const mpeg2 = codec === 'mpeg2video';
  const withHeader = frames.filter((frame) => frame.bitRateField !== undefined);
  const firstExtension = frames[0]?.sequenceExtension;
  if (mpeg2 !== (firstExtension !== undefined)) throw new NeedsFfprobe('MPEG video ES: sequence extension not in the first frame');
  for (const frame of withHeader) {
    if (mpeg2 && !(frame.sequenceExtension && sameBytes(frame.sequenceExtension, firstExtension!))) {
      throw new NeedsFfprobe('MPEG video ES: a sequence header without the same sequence extension');
    }
  }
  if (mpeg2 && frames.some((frame) => !frame.pictureCoding)) throw new NeedsFfprobe('MPEG-2 video ES: a picture without its coding extension');
  const field = withHeader[0]!.bitRateField!;
  const extensionBits = firstExtension ? (((firstExtension[2]! & 0x1f) << 7) | (firstExtension[3]! >> 1)) : 0;
  const bitRate = (field + extensionBits * 2 ** 18) * 400;
  if (field === 0 && extensionBits === 0) throw new NeedsFfprobe('MPEG video ES: bit_rate 0');
  if (!mpeg2) return bitRate;
  // The first frame is always parsed, and nothing clears the rate once set; a later frame that
  // sets it may lie beyond the frames find_stream_info parses.
  const setsRate = withHeader.map((frame) => frame.vbvDelay !== VBR_DELAY);
  if (setsRate[0]) return bitRate;
  if (setsRate.includes(true)) throw new NeedsFfprobe('MPEG-2 video ES: vbv_delay marks only later frames as constant rate');
  return undefined;
}

/**
 * get_std_framerate (libavformat/demux.c) in units of 1/(12 * 1001) fps: n/12 fps up to 30,
 * whole rates 31-60, 80, 120, 240, and the NTSC rates x000/1001.
 */
const STANDARD_FRAME_RATES = new Set([
  ...Array.from({ length: 30 * 12 }, (_, i) => (i + 1) * 1001),
  ...Array.from({ length: 30 }, (_, i) => (i + 31) * 1001 * 12),
  ...[80, 120, 240].map((rate) => rate * 1001 * 12),
  ...[24, 30, 60, 12, 15, 48].map((rate) => rate * 1000 * 12),
]);

/** find_stream_info rounds avg_frame_rate to the standard rate nearest the codec's; only a standard codec rate survives as is. */
function isStandardFrameRate(rate: Rational): boolean {
  const scaled = (rate.num * 12 * 1001) / rate.den;
  return Number.isInteger(scaled) && STANDARD_FRAME_RATES.has(scaled);
}

/**
 * Fields each frame lasts (repeat_pict + 1, as mpegvideo_parser.c sets repeat_pict from the
 * picture coding extension; MPEG-1 and plain MPEG-2 frames last two).
 */
function fieldsOf(frame: FrameHeaders, progressiveSequence: boolean): number {
  const coding = frame.pictureCoding;
  if (!coding?.repeatFirstField) return 2;
  if (progressiveSequence) return coding.topFieldFirst ? 6 : 4;
  return coding.progressiveFrame ? 3 : 2;
}

/** Frames whose durations give the 40 gaps between ffprobe's first 41 packet timestamps. */
const TIMESTAMP_FRAMES = 40;
/** Gaps the frame-rate-mode rule (frame-rate-mode.ts) drops as outliers (the largest tenth of 40). */
const DROPPED_GAPS = 4;
/**
 * Frames of the window that may give no gap: the last I/P frame's duration advances the packet
 * after the window (one frame; one more kept as margin).
 */
const UNUSED_FRAMES = 2;

/**
 * The frame-rate-mode verdict the ffprobe path reaches on the first 41 packets: their timestamps
 * advance by frame durations (compute_pkt_fields: a B frame's own, an I/P frame's previous I/P
 * frame's, the first frame's twice), so the 40 gaps are durations of the first 40 frames. Equal
 * durations: even. A short and a longer duration surviving the frames that may give no gap and
 * the 4 largest gaps dropped: varying. Anything between goes to ffprobe.
 */
function frameDurationsVary(frames: FrameHeaders[]): boolean {
  const progressiveSequence = ((frames[0]?.sequenceExtension?.[1] ?? 0) & 8) !== 0;
  const fields = frames.map((frame) => fieldsOf(frame, progressiveSequence));
  if (fields.every((count) => count === fields[0])) return false;
  const window = fields.slice(0, TIMESTAMP_FRAMES);
  const shortest = Math.min(...window);
  const short = window.filter((count) => count === shortest).length;
  const longer = window.length - short;
  if (window.length === TIMESTAMP_FRAMES && short - UNUSED_FRAMES >= 1 && longer - UNUSED_FRAMES > DROPPED_GAPS) return true;
  throw new NeedsFfprobe('MPEG-2 video ES: too few repeated fields to tell the frame rate mode');
}

/** av_rescale(a, b, c): a * b / c rounded to nearest, halves away from zero. */
function rescale(a: number, b: number, c: number): number {
  const product = BigInt(a) * BigInt(b);
  const divisor = BigInt(c);
  return Number((product + divisor / 2n) / divisor);
}

/**
 * av_probe_input_buffer2 with mpegvideo_probe: at the first probe size where the raw MPEG video
 * probe is sure (several pictures, slices, no system-stream codes) FFmpeg picks "mpegvideo";
 * files it would not pick (or pick only at a low score) go to ffprobe.
 */
function checkProbeChoosesMpegVideo(bytes: Uint8Array, complete: boolean): void {
  for (let size = PROBE_MIN; ; size *= 2) {
    const last = size >= bytes.byteLength;
    if (last && !complete) throw new NeedsFfprobe('MPEG video ES: probing needs more than was read');
    const score = mpegVideoProbeScore(bytes.subarray(0, size));
    if (score === PROBE_SCORE_SURE) return;
    if (score > 25 || last || size >= PROBE_MAX) throw new NeedsFfprobe('MPEG video ES: FFmpeg\'s probe is not sure of raw MPEG video');
  }
}

/** mpegvideo_probe (libavformat/mpegvideodec.c); bytes past the buffer read as the zero padding. */
function mpegVideoProbeScore(buf: Uint8Array): number {
  const byteAt = (at: number) => buf[at] ?? 0;
  let pic = 0;
  let seq = 0;
  let slice = 0;
  let sicle = 0;
  let rejects = 0;
  let vpes = 0;
  let last = 0;
  for (const at of startCodes(buf)) {
    const code = buf[at]!;
    const ptr = at + 1;
    if (code === SEQUENCE_HEADER && sequenceHeaderChecksOut(byteAt, ptr, buf.byteLength - ptr)) seq++;
    else if (code === PICTURE) pic++;
    else if (code === PACK || code === RESERVED_B6) rejects++;
    if (isSlice(code)) {
      if (isSlice(last) ? code >= last : code === 1) slice++;
      else sicle++;
    }
    if ((code & 0xf0) === 0xe0) vpes++;
    else if ((code & 0xe0) === 0xc0) rejects++;
    last = code;
  }
  if (!(seq && seq * 9 <= pic * 10 && pic * 9 <= slice * 10 && !rejects && slice > sicle)) return 0;
  return !vpes && pic > 1 ? PROBE_SCORE_SURE : 12;
}

/** The marker bit, then the next start code (or zero bytes) right after the quantiser matrices. */
function sequenceHeaderChecksOut(byteAt: (at: number) => number, ptr: number, left: number): boolean {
  if (!(byteAt(ptr + 6) & 0x20)) return false;
  let j = -1;
  if (byteAt(ptr + j + 8) & 2) j += 64;
  if (j >= left) return false;
  if (byteAt(ptr + j + 8) & 1) j += 64;
  if (j >= left) return false;
  const next = (byteAt(ptr + j + 9) << 16) | (byteAt(ptr + j + 10) << 8) | byteAt(ptr + j + 11);
  return (next & 0xfffffe) === 0;
}
