/**
 * MXF video described as ffprobe 5.1 describes it. The stream is the first video track of the
 * material package (mxf.ts); its time base is the inverse of the material track's edit rate and its
 * duration the source clip's; the format lasts as long as the longest stream. find_stream_info
 * then decodes the first frame, so the picture size is the bitstream's (MPEG-2 sequence header,
 * DNxHD frame header, DV profile, H.264 SPS), and every packet lasts one edit unit, so
 * avg_frame_rate is the edit rate (rounded to a standard rate as find_stream_info rounds it);
 * the descriptor's aspect ratio gives the sample aspect ratio (DAR x height / width).
 *
 * Other codecs, clip-wrapped MPEG-2 and H.264, MPEG-2 pictures that repeat a field or come as
 * field pictures, field-coded H.264, streams of fewer than three frames (avg_frame_rate 0/0) or
 * whose first three frames outgrow ffmpeg's probe size, and bitstreams whose own frame rate
 * disagrees with the edit rate go to ffprobe.
 */
import { ProbeError } from '../../errors.js';
import type { ByteSource } from '../../sources/source.js';
import { unescapeRbsp } from './bytes.js';
import { h264DisplaySize, parseH264SpsTiming } from './codecs/h264.js';
import { NeedsFfprobe, type VideoFacts } from './facts.js';
import { standardFrameRate } from './frame-rate-guess.js';
import { essenceElements, formatDuration, parseMxf, streamOfElement, type Descriptor, type Klv, type MxfFile, type MxfStream } from './mxf.js';
import { avReduce, type Rational } from './rational.js';

export { isMxf } from './mxf.js';

type VideoCodec = 'mpeg2video' | 'dnxhd' | 'dvvideo' | 'h264';

/** Frames whose MPEG-2 picture headers are checked for repeated fields (pulldown repeats one every other frame). */
const MPEG2_FRAMES_CHECKED = 8;
const FIRST_FRAME_BYTES = 64 * 1024;
const PICTURE_HEADER_BYTES = 4096;
/** Packets find_stream_info must read before it has a duration to average (it skips the first two). */
const FRAMES_AVERAGED = 3;
/** Below ffmpeg's default probesize (5,000,000 bytes), with room for packets this walk does not weigh alike. */
const PROBE_SIZE_MARGIN = 4_000_000;
const ELEMENTS_WALKED = 4096;

export async function mxfVideoFacts(source: ByteSource): Promise<VideoFacts> {
  const file = await parseMxf(source);
  const videoIndex = file.streams.findIndex((stream) => stream.type === 'video');
  if (videoIndex < 0) throw new ProbeError('no_video_stream', `${source.name} has no video stream`);
  const video = file.streams[videoIndex]!;
  const descriptor = video.descriptor;
  if (!descriptor) throw new NeedsFfprobe('MXF video track without a descriptor');
  const codec = videoCodecOf(descriptor);
  const clipEditUnitBytes = clipEditUnitBytesOf(file, video, codec);
  if (video.duration === undefined || video.duration <= 0) throw new NeedsFfprobe('MXF video track without a positive duration');
  // Below 1000 fps every packet lasts one tick of the 1/edit-rate time base (ff_compute_frame_duration).
  if (video.editRate.num >= 1000 * video.editRate.den) throw new NeedsFfprobe('MXF edit rate of 1000 or more');
  const frames = await firstFrames(file, videoIndex, codec === 'mpeg2video' ? MPEG2_FRAMES_CHECKED : 1, clipEditUnitBytes);
  const picture = pictureOf(codec, frames, descriptor, video.editRate);
  if (!descriptor.aspectRatio || descriptor.aspectRatio.num <= 0 || descriptor.aspectRatio.den <= 0) throw new NeedsFfprobe('MXF picture descriptor without an aspect ratio');
  const rate = video.editRate;
  return {
    mime: 'application/mxf',
    containerDuration: formatDuration(file.streams),
    stream: {
      width: picture.width,
      height: picture.height,
      avgFrameRate: standardFrameRate(avReduce(rate.num, rate.den, 60000)),
      duration: (video.duration * rate.den) / rate.num,
      sampleAspectRatio: avReduce(descriptor.aspectRatio.num * picture.height, descriptor.aspectRatio.den * picture.width),
      variableFrameRate: false,
    },
    reader: 'mxf',
  };
}

/** The codec as mxf_parse_structural_metadata picks it: the picture essence coding UL first, else the essence container UL. */
function videoCodecOf(descriptor: Descriptor): VideoCodec {
  const coding = descriptor.essenceCoding && codingCodec(descriptor.essenceCoding);
  const container = descriptor.essenceContainer && containerCodec(descriptor.essenceContainer);
  if (descriptor.essenceCoding && !coding) throw new NeedsFfprobe('MXF picture essence coding not modelled');
  const codec = coding ?? container;
  if (!codec) throw new NeedsFfprobe('MXF picture essence not modelled');
  return codec;
}

function matches(ul: Uint8Array, prefix: readonly number[]): boolean {
  return prefix.every((byte, i) => i === 7 || ul[i] === byte);
}

/** ff_mxf_codec_uls entries for the modelled codecs: most compare 14 bytes (to byte 13), DV and VC-3 13. */
function codingCodec(ul: Uint8Array): VideoCodec | undefined {
  const picture = [0x06, 0x0e, 0x2b, 0x34, 0x04, 0x01, 0x01, 0x00, 0x04, 0x01, 0x02, 0x02];
  if (!matches(ul, picture)) return undefined;
  const [b12, b13] = [ul[12]!, ul[13]!];
  if (b12 === 0x01 && b13 >= 0x01 && b13 <= 0x04) return 'mpeg2video';
  if (b12 === 0x02) return 'dvvideo';
  if (b12 === 0x71 || (b12 === 0x03 && b13 === 0x02)) return 'dnxhd';
  if (b12 === 0x01 && (b13 === 0x31 || b13 === 0x32)) return 'h264';
  return undefined;
}

/** mxf_picture_essence_container_uls for the modelled codecs (compared to byte 13). */
function containerCodec(ul: Uint8Array): VideoCodec | undefined {
  const generic = [0x06, 0x0e, 0x2b, 0x34, 0x04, 0x01, 0x01, 0x00, 0x0d, 0x01, 0x03, 0x01, 0x02];
  if (!matches(ul, generic)) return undefined;
  return ({ 0x04: 'mpeg2video', 0x01: 'mpeg2video', 0x11: 'dnxhd', 0x02: 'dvvideo', 0x10: 'h264' } as const)[ul[13] as 0x04 | 0x01 | 0x11 | 0x02 | 0x10];
}

/**
 * Each packet must be one frame: frame-wrapped essence, or for the constant-size DNxHD and DV
 * clip-wrapped essence (OP-Atom) cut by an index's edit unit byte count, which is returned.
 */
function clipEditUnitBytesOf(file: MxfFile, video: MxfStream, codec: VideoCodec): number | undefined {
  const container = video.descriptor?.essenceContainer;
  const clipWrapped = file.operationalPattern === 'opatom' || !container || wrappingIndicator(container, codec) !== 0x01;
  if (!clipWrapped) return undefined;
  const segment = file.indexSegments.find((candidate) => candidate.bodySid === video.bodySid && candidate.editUnitByteCount > 0);
  if ((codec !== 'dnxhd' && codec !== 'dvvideo') || !segment || file.indexSegments.some((other) => other.bodySid === video.bodySid && other.editUnitByteCount !== segment.editUnitByteCount)) {
    throw new NeedsFfprobe('MXF clip-wrapped video not cut into frames by a constant-size index');
  }
  return segment.editUnitByteCount;
}

/** mxf_get_wrapping_kind: the container UL byte that tells frame (1) from clip (2) wrapping. */
function wrappingIndicator(container: Uint8Array, codec: VideoCodec): number | undefined {
  if (!containerCodec(container)) return undefined;
  if (codec === 'dnxhd') return container[14];
  // D-10 (and D-11) wrap frames whether byte 15 says 1 or 2.
  if (container[13] === 0x01) return container[15] === 0x01 || container[15] === 0x02 ? 0x01 : undefined;
  return container[15];
}

/**
 * The first `count` elements of the stream, read to their first bytes. find_stream_info sums
 * packet durations from the third packet on, so the average frame rate exists only when it reads
 * at least three video packets before its probe size (5,000,000 bytes of packets) runs out.
 */
async function firstFrames(file: MxfFile, streamIndex: number, count: number, clipEditUnitBytes?: number): Promise<{ klv: Klv; bytes: Uint8Array }[]> {
  const frames: { klv: Klv; bytes: Uint8Array }[] = [];
  let packets = 0;
  let packetBytes = 0;
  const done = () => packets >= FRAMES_AVERAGED && frames.length >= count;
  for (const range of file.essence) {
    for await (const klv of essenceElements(file.source, range.start, range.end, ELEMENTS_WALKED)) {
      const ours = streamOfElement(file, klv.key, range.bodySid) === streamIndex;
      // The first frame is read further (an SPS may follow other NAL units); later MPEG-2 frames only to their picture coding extension.
      const head = frames.length === 0 ? FIRST_FRAME_BYTES : PICTURE_HEADER_BYTES;
      if (ours && frames.length < count) frames.push({ klv, bytes: await file.source.read(klv.valueOffset, Math.min(klv.length, head)) });
      if (packets < FRAMES_AVERAGED) {
        // A clip-wrapped element is cut into packets of one edit unit each.
        const inElement = !ours ? 0 : clipEditUnitBytes ? Math.ceil(klv.length / clipEditUnitBytes) : 1;
        const taken = Math.min(inElement, FRAMES_AVERAGED - packets);
        packetBytes += ours && clipEditUnitBytes ? Math.min(klv.length, taken * clipEditUnitBytes) : klv.length;
        packets += taken;
      }
      if (done()) break;
    }
    if (done()) break;
  }
  if (packets < FRAMES_AVERAGED) throw new NeedsFfprobe('MXF video track with fewer than three frames (ffprobe: avg_frame_rate 0/0)');
  if (packetBytes > PROBE_SIZE_MARGIN) throw new NeedsFfprobe('MXF frames too large for find_stream_info to average three');
  return frames;
}

interface Picture {
  width: number;
  height: number;
}

function pictureOf(codec: VideoCodec, frames: { klv: Klv; bytes: Uint8Array }[], descriptor: Descriptor, editRate: Rational): Picture {
  const first = frames[0]!;
  switch (codec) {
    case 'mpeg2video':
      for (const frame of frames.slice(1)) checkMpeg2Picture(frame.bytes);
      return mpeg2Picture(first.bytes, editRate);
    case 'dnxhd':
      return dnxhdPicture(first.bytes);
    case 'dvvideo':
      return dvPicture(first.bytes, first.klv.length, editRate);
    case 'h264':
      return h264Picture(first.bytes, descriptor);
  }
}

function sameRate(a: Rational, b: Rational): boolean {
  return a.num * b.den === b.num * a.den;
}

/** Offsets just past each 00 00 01 start code prefix. */
function startCodes(bytes: Uint8Array): number[] {
  const found: number[] = [];
  for (let i = 2; i < bytes.byteLength; i++) if (bytes[i] === 1 && bytes[i - 1] === 0 && bytes[i - 2] === 0) found.push(i + 1);
  return found;
}

const MPEG2_FRAME_RATES: Rational[] = [
  { num: 0, den: 1 }, { num: 24000, den: 1001 }, { num: 24, den: 1 }, { num: 25, den: 1 }, { num: 30000, den: 1001 },
  { num: 30, den: 1 }, { num: 50, den: 1 }, { num: 60000, den: 1001 }, { num: 60, den: 1 },
];

/** The sequence header and extension (mpeg12dec.c): the size the decoder reports; its frame rate must be the edit rate. */
function mpeg2Picture(bytes: Uint8Array, editRate: Rational): Picture {
  const codes = startCodes(bytes);
  const sequence = codes.find((at) => bytes[at] === 0xb3);
  const extension = codes.find((at) => bytes[at] === 0xb5 && bytes[at + 1]! >> 4 === 1);
  if (sequence === undefined || extension === undefined || sequence + 8 > bytes.byteLength || extension + 7 > bytes.byteLength) {
    throw new NeedsFfprobe('MXF MPEG-2 frame without a sequence header and extension');
  }
  checkMpeg2Picture(bytes);
  const width = (bytes[sequence + 1]! << 4) | (bytes[sequence + 2]! >> 4);
  const height = ((bytes[sequence + 2]! & 0x0f) << 8) | bytes[sequence + 3]!;
  const rateCode = bytes[sequence + 4]! & 0x0f;
  const e = bytes.subarray(extension + 1);
  const widthExtension = ((e[1]! & 0x01) << 1) | (e[2]! >> 7);
  const heightExtension = (e[2]! >> 5) & 0x03;
  const rateN = (e[5]! >> 5) & 0x03;
  const rateD = e[5]! & 0x1f;
  const base = MPEG2_FRAME_RATES[rateCode];
  if (!base || base.num === 0) throw new NeedsFfprobe('MXF MPEG-2 frame rate code not valid');
  if (!sameRate({ num: base.num * (rateN + 1), den: base.den * (rateD + 1) }, editRate)) throw new NeedsFfprobe('MXF MPEG-2 frame rate differs from the edit rate');
  return { width: width | (widthExtension << 12), height: height | (heightExtension << 12) };
}

/** A frame picture that repeats no field: the MPEG-2 parser then counts two fields per packet. */
function checkMpeg2Picture(bytes: Uint8Array): void {
  const codes = startCodes(bytes);
  const picture = codes.find((at) => bytes[at] === 0x00);
  const coding = codes.find((at) => picture !== undefined && at > picture && bytes[at] === 0xb5 && bytes[at + 1]! >> 4 === 8);
  if (coding === undefined || coding + 5 > bytes.byteLength) throw new NeedsFfprobe('MXF MPEG-2 frame without a picture coding extension');
  const structure = bytes[coding + 3]! & 0x03;
  const repeatFirstField = (bytes[coding + 4]! >> 1) & 0x01;
  if (structure !== 3 || repeatFirstField) throw new NeedsFfprobe('MXF MPEG-2 field pictures or repeated fields');
}

/** dnxhddec.c dnxhd_decode_header: the frame header's size; an interlaced frame's header gives one field's height. */
function dnxhdPicture(bytes: Uint8Array): Picture {
  const prefixes = [[0x00, 0x00, 0x02, 0x80, 0x01], [0x00, 0x00, 0x02, 0x80, 0x02], [0x00, 0x00, 0x02, 0x80, 0x03], [0x00, 0x00, 0x03, 0x8c, 0x03]];
  if (bytes.byteLength < 0x28 || !prefixes.some((prefix) => prefix.every((byte, i) => bytes[i] === byte))) throw new NeedsFfprobe('MXF DNxHD frame without a header');
  const fieldHeight = (bytes[0x18]! << 8) | bytes[0x19]!;
  return { width: (bytes[0x1a]! << 8) | bytes[0x1b]!, height: bytes[5]! & 2 ? fieldHeight * 2 : fieldHeight };
}

/** dv_profile.c: the profiles by DSF flag and video source type, with their frame size and rate. */
const DV_PROFILES: { dsf: number; stype: number; frameSize: number; width: number; height: number; rate: Rational }[] = [
  { dsf: 0, stype: 0x00, frameSize: 120000, width: 720, height: 480, rate: { num: 30000, den: 1001 } },
  { dsf: 1, stype: 0x00, frameSize: 144000, width: 720, height: 576, rate: { num: 25, den: 1 } },
  { dsf: 1, stype: 0x01, frameSize: 144000, width: 720, height: 576, rate: { num: 25, den: 1 } },
  { dsf: 0, stype: 0x04, frameSize: 240000, width: 720, height: 480, rate: { num: 30000, den: 1001 } },
  { dsf: 1, stype: 0x04, frameSize: 288000, width: 720, height: 576, rate: { num: 25, den: 1 } },
  { dsf: 0, stype: 0x14, frameSize: 480000, width: 1280, height: 1080, rate: { num: 30000, den: 1001 } },
  { dsf: 1, stype: 0x14, frameSize: 576000, width: 1440, height: 1080, rate: { num: 25, den: 1 } },
  { dsf: 0, stype: 0x18, frameSize: 240000, width: 960, height: 720, rate: { num: 60000, den: 1001 } },
  { dsf: 1, stype: 0x18, frameSize: 288000, width: 960, height: 720, rate: { num: 50, den: 1 } },
];

function dvPicture(bytes: Uint8Array, frameSize: number, editRate: Rational): Picture {
  const stypeAt = 80 * 5 + 48 + 3;
  if (bytes.byteLength <= stypeAt || bytes[0]! >> 5 !== 0) throw new NeedsFfprobe('MXF DV frame without a DIF header');
  const dsf = bytes[3]! >> 7;
  const stype = bytes[stypeAt]! & 0x1f;
  const profile = DV_PROFILES.find((candidate) => candidate.dsf === dsf && candidate.stype === stype);
  if (!profile || profile.frameSize !== frameSize || !sameRate(profile.rate, editRate)) throw new NeedsFfprobe('MXF DV frame of a profile not modelled');
  return { width: profile.width, height: profile.height };
}

/** The SPS of the first access unit (Annex B), sized as the decoder sizes it against the container's size. */
function h264Picture(bytes: Uint8Array, descriptor: Descriptor): Picture {
  const codes = startCodes(bytes);
  const spsAt = codes.find((at) => (bytes[at]! & 0x1f) === 7);
  if (spsAt === undefined) throw new NeedsFfprobe('MXF H.264 frame without an SPS');
  const next = codes.find((at) => at > spsAt);
  const sps = parseH264SpsTiming(unescapeRbsp(bytes.subarray(spsAt, next === undefined ? bytes.byteLength : next - 3)));
  // Field coding or picture timing SEI change the fields the parser counts per packet.
  if (descriptor.frameLayout !== 0 || !sps.frameMbsOnly || sps.picStructPresent) throw new NeedsFfprobe('MXF H.264 with field coding or picture structure timing');
  return h264DisplaySize(sps, { width: descriptor.width, height: descriptor.height });
}
