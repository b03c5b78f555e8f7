/**
 * MXF video described as ffprobe 5.1 describes it. The stream is the first video track of the
 * material package (mxf.ts); its time base is the inverse of the material track's edit rate and its
 * duration the source clip's; the format lasts as long as the longest stream. find_stream_info
 * then decodes the first frame, so the picture size is the bitstream's (MPEG-2 sequence header,
 * DNxHD frame header, DV profile, H.264 SPS), and every packet lasts one edit unit, so
 * avg_frame_rate is the edit rate (rounded to a standard rate as find_stream_info rounds it);
 * the descriptor's aspect ratio gives the sample aspect ratio (DAR x height / width).
 *
 * Other codecs, clip-wrapped MPEG-2 and H.264, interlaced DNxHD, MPEG-2 pictures that repeat a
 * field or come as field pictures, and bitstreams whose own frame rate disagrees with the edit
 * rate go to ffprobe.
 */
import { ProbeError } from '../../errors.js';
import type { ByteSource } from '../../sources/source.js';
import { unescapeRbsp } from './bytes.js';
import { h264DisplaySize, parseH264Sps } from './codecs/h264.js';
import { NeedsFfprobe, type VideoFacts } from './facts.js';
import { standardFrameRate } from './frame-rate-guess.js';
import { essenceElements, formatDuration, parseMxf, streamOfElement, type Descriptor, type Klv, type MxfFile } from './mxf.js';
import { avReduce, type Rational } from './rational.js';

export { isMxf } from './mxf.js';

type VideoCodec = 'mpeg2video' | 'dnxhd' | 'dvvideo' | 'h264';

/** Frames whose MPEG-2 picture headers are checked for repeated fields (find_stream_info's window). */
const MPEG2_FRAMES_CHECKED = 32;
const FIRST_FRAME_BYTES = 64 * 1024;
const ELEMENTS_WALKED = 4096;

export async function mxfVideoFacts(source: ByteSource): Promise<VideoFacts> {
  const file = await parseMxf(source);
  const videoIndex = file.streams.findIndex((stream) => stream.type === 'video');
  if (videoIndex < 0) throw new ProbeError('no_video_stream', `${source.name} has no video stream`);
  const video = file.streams[videoIndex]!;
  const descriptor = video.descriptor;
  if (!descriptor) throw new NeedsFfprobe('MXF video track without a descriptor');
  const codec = videoCodecOf(descriptor);
  if (video.duration === undefined || video.duration <= 0) throw new NeedsFfprobe('MXF video track without a positive duration');
  const frames = await firstFrames(file, videoIndex, codec === 'mpeg2video' ? MPEG2_FRAMES_CHECKED : 1);
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
    // facts.ts's reader union does not list 'mxf' yet (a file this reader does not own).
    reader: 'mxf' as VideoFacts['reader'],
  };
}

/** Essence container UL bytes 13-14 (after 06 0e 2b 34 04 01 01 xx 0d 01 03 01 02) for the codecs modelled here. */
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

/** mxf_picture_essence_container_uls for the modelled codecs. */
function containerCodec(ul: Uint8Array): VideoCodec | undefined {
  const generic = [0x06, 0x0e, 0x2b, 0x34, 0x04, 0x01, 0x01, 0x00, 0x0d, 0x01, 0x03, 0x01, 0x02];
  if (!matches(ul, generic)) return undefined;
  const [b13, b14] = [ul[13], ul[14]];
  if ((b13 === 0x04 && b14 === 0x60) || (b13 === 0x01 && b14 === 0x04)) return 'mpeg2video';
  if (b13 === 0x11 && b14 === 0x01) return 'dnxhd';
  if (b13 === 0x02 && b14 === 0x41) return 'dvvideo';
  if (b13 === 0x10 && b14 === 0x60) return 'h264';
  return undefined;
}

/** The first `count` essence elements of the stream (their first bytes), in file order. */
async function firstFrames(file: MxfFile, streamIndex: number, count: number): Promise<{ klv: Klv; bytes: Uint8Array }[]> {
  const frames: { klv: Klv; bytes: Uint8Array }[] = [];
  for (const range of file.essence) {
    for await (const klv of essenceElements(file.source, range.start, range.end, ELEMENTS_WALKED)) {
      if (streamOfElement(file, klv.key, range.bodySid) !== streamIndex) continue;
      frames.push({ klv, bytes: await file.source.read(klv.valueOffset, Math.min(klv.length, FIRST_FRAME_BYTES)) });
      if (frames.length >= count) return frames;
    }
  }
  if (frames.length === 0) throw new NeedsFfprobe('MXF video track without essence');
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

/** dnxhddec.c dnxhd_decode_header: the frame header's size; interlaced frames are not modelled. */
function dnxhdPicture(bytes: Uint8Array): Picture {
  const prefixes = [[0x00, 0x00, 0x02, 0x80, 0x01], [0x00, 0x00, 0x02, 0x80, 0x02], [0x00, 0x00, 0x02, 0x80, 0x03], [0x00, 0x00, 0x03, 0x8c, 0x03]];
  if (bytes.byteLength < 0x28 || !prefixes.some((prefix) => prefix.every((byte, i) => bytes[i] === byte))) throw new NeedsFfprobe('MXF DNxHD frame without a header');
  if (bytes[5]! & 2) throw new NeedsFfprobe('interlaced DNxHD');
  return { width: (bytes[0x1a]! << 8) | bytes[0x1b]!, height: (bytes[0x18]! << 8) | bytes[0x19]! };
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
  const sps = parseH264Sps(unescapeRbsp(bytes.subarray(spsAt, next === undefined ? bytes.byteLength : next - 3)));
  if (descriptor.frameLayout !== 0) throw new NeedsFfprobe('MXF H.264 with a field frame layout');
  return h264DisplaySize(sps, { width: descriptor.width, height: descriptor.height });
}
