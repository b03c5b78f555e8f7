/**
 * The elementary streams the MPEG-TS/PS readers model, read as FFmpeg's parsers read them
 * (h264_parser.c, mpegvideo_parser.c, the audio frame headers): what each PES carries, the
 * picture size and aspect, and the frame length FFmpeg gives every packet. Anything these
 * parsers would time differently (field pictures, repeated fields, several pictures in a PES,
 * a missing frame rate) is a {@link NeedsFfprobe}.
 */
import { BitReader, OutOfData, unescapeRbsp } from './bytes.js';
import { h264DisplaySize, parseH264SpsTiming, type H264SpsTiming } from './codecs/h264.js';
import { NeedsFfprobe } from './facts.js';
import { avD2q, avReduce, type Rational } from './rational.js';

export type VideoCodec = 'h264' | 'mpeg-video';
export type AudioCodec = 'aac' | 'mpeg-audio' | 'ac3';

export interface VideoParameters {
  codec: 'h264' | 'mpeg1video' | 'mpeg2video';
  width: number;
  height: number;
  sampleAspectRatio?: Rational;
  /** The codec's frame rate (AVCodecContext.framerate as the parser sets it). */
  frameRate: Rational;
  /** pkt->duration FFmpeg computes for every packet, in 90 kHz ticks (rounded down). */
  packetTicks: number;
  /** Fields each packet adds to codec_info_duration_fields (repeat_pict + 1). */
  packetFields: number;
}

export interface VideoPictures extends VideoParameters {
  /** Per PES: its picture is a B picture (FFmpeg drops a non-B picture's DTS equal to its PTS). */
  bPictures: boolean[];
  /** The parser announces reordering (MPEG-2 without low_delay sets has_b_frames). */
  announcesReorder: boolean;
}

/** Start codes (00 00 01 xx) in a buffer: offsets of the byte after the prefix (found by the native byte search). */
export function startCodes(bytes: Uint8Array): number[] {
  return [...eachStartCode(bytes)];
}

/** {@link startCodes} one at a time, for readers that stop early. */
export function* eachStartCode(bytes: Uint8Array): Generator<number> {
  for (let one = bytes.indexOf(1, 2); one >= 0 && one + 1 < bytes.byteLength; one = bytes.indexOf(1, one + 1)) {
    if (bytes[one - 1] === 0 && bytes[one - 2] === 0) yield one + 1;
  }
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && a.every((byte, i) => byte === b[i]);
}

/**
 * Reads the video PES payloads (whole PES packets, in decode order): exactly one picture each,
 * one unchanging sequence header / SPS, every picture timed alike.
 */
export function inspectVideo(codec: VideoCodec, payloads: Uint8Array[]): VideoPictures {
  return codec === 'h264' ? inspectH264(payloads) : inspectMpegVideo(payloads);
}

const NAL_SLICE = 1;
const NAL_IDR = 5;
const NAL_SEI = 6;
const NAL_SPS = 7;
const NAL_PPS = 8;
const SEI_PIC_TIMING = 1;
/**
 * How long the pictures before the first SPS/PPS may last (by the SPS frame rate), well within
 * find_stream_info's 7 s, so that no stream's analysis ends it before the parser meets them.
 */
export const MAX_UNPARSED_TICKS = 4 * 90000;

interface H264Picture {
  b: boolean;
  /** h264_parser.c repeat_pict: from the picture timing SEI's pic_struct, else 1 for a frame, 0 for a field; undefined when the parser cannot read the picture. */
  repeat?: number;
}

/** The parameter sets h264_parser.c holds so far: one SPS (it must never change) and the PPS ids that refer to it. */
interface H264ParameterSets {
  spsBytes?: Uint8Array;
  sps?: H264SpsTiming;
  spsId?: number;
  ppsIds: Set<number>;
}

/**
 * Pictures whose slice names a PPS the parser does not hold yet (a stream cut before its first
 * SPS/PPS) make parse_nal_units fail ("non-existing PPS referenced"): the framerate is still
 * unknown, so compute_frame_duration gives the packet no duration and find_stream_info counts
 * neither its duration nor its fields. Such pictures may only lead the stream.
 */
function inspectH264(payloads: Uint8Array[]): VideoPictures {
  const sets: H264ParameterSets = { ppsIds: new Set() };
  const pictures = payloads.map((payload, index) => readH264Picture(payload, index, sets));
  const sps = sets.sps;
  if (!sps) throw new NeedsFfprobe('MPEG stream: no H.264 SPS');
  const unparsed = pictures.findIndex((picture) => picture.repeat !== undefined);
  if (unparsed < 0) throw new NeedsFfprobe('MPEG stream: no H.264 picture after the first SPS and PPS');
  if (pictures.slice(unparsed).some((picture) => picture.repeat === undefined)) throw new NeedsFfprobe('MPEG stream: H.264 picture without its PPS after parsed ones');
  // Three parsed pictures keep r_frame_rate's guess as FFmpeg's (see h264PicturesBeforeParameterSets).
  if (unparsed > 0 && payloads.length < unparsed + 3) throw new NeedsFfprobe(`MPEG stream: ${unparsed} H.264 pictures before the first SPS and PPS`);
  const repeat = pictures[unparsed]!.repeat!;
  if (pictures.some((picture) => picture.repeat !== undefined && picture.repeat !== repeat)) throw new NeedsFfprobe('MPEG stream: H.264 pictures last different numbers of fields');
  const parameters = h264Parameters(sps, repeat);
  if (unparsed * parameters.packetTicks > MAX_UNPARSED_TICKS) throw new NeedsFfprobe('MPEG stream: H.264 pictures before the first SPS and PPS last over 4 s');
  return { ...parameters, bPictures: pictures.map((picture) => picture.b), announcesReorder: false };
}

/**
 * The number of leading PES whose picture the parser cannot read for want of its PPS (undefined
 * when none of these can be read yet). find_stream_info goes on for 5 s of timed packets after
 * them (MPEG demuxers have no header to stop at), so it analyses at least three timed pictures
 * when the stream has them, while the MPEG readers guess r_frame_rate with codec_info_duration
 * counted from the third packet: the guesses agree, as a standard rate that only the longer span
 * lets in is three frames long or more, and the timestamps then sweep its whole grid, far from the
 * 0.01 variance a guess needs.
 */
export function h264PicturesBeforeParameterSets(payloads: Uint8Array[]): number | undefined {
  const sets: H264ParameterSets = { ppsIds: new Set() };
  const index = payloads.findIndex((payload, n) => readH264Picture(payload, n, sets).repeat !== undefined);
  return index < 0 ? undefined : index;
}

/** The one picture of a PES, as the parser reads it with the parameter sets seen so far (which the PES may add to). */
function readH264Picture(payload: Uint8Array, index: number, sets: H264ParameterSets): H264Picture {
  const found: H264Picture[] = [];
  let picStruct: number | undefined;
  const codes = startCodes(payload);
  codes.forEach((at, n) => {
    const type = payload[at]! & 0x1f;
    const end = n + 1 < codes.length ? codes[n + 1]! - 3 : payload.byteLength;
    const nal = trimTrailingZeros(payload.subarray(at, end));
    // The parser ends a frame at a parameter set that follows a slice: not one picture per PES then.
    if ((type === NAL_SPS || type === NAL_PPS) && found.length > 0) throw new NeedsFfprobe('MPEG stream: H.264 parameter set after a slice in one PES');
    if (type === NAL_SPS) readSps(nal, sets);
    else if (type === NAL_PPS) readPps(nal, sets);
    else if (type === NAL_SEI && sets.sps && found.length === 0) {
      picStruct = readPicStruct(nal, sets.sps) ?? picStruct;
    } else if (type === NAL_SLICE || type === NAL_IDR) {
      const slice = readSliceStart(nal.subarray(1, 33), sets);
      if (slice.firstMb !== 0) return;
      const parsed = sets.ppsIds.has(slice.ppsId) && sets.sps;
      found.push({ b: slice.type % 5 === 1, repeat: parsed ? repeatPict(parsed, slice.field, picStruct) : undefined });
    }
  });
  if (found.length !== 1) throw new NeedsFfprobe(`MPEG stream: H.264 PES ${index} holds ${found.length} pictures`);
  return found[0]!;
}

function readSps(nal: Uint8Array, sets: H264ParameterSets): void {
  if (sets.spsBytes && !sameBytes(sets.spsBytes, nal)) throw new NeedsFfprobe('MPEG stream: the H.264 SPS changes');
  if (sets.spsBytes) return;
  sets.spsBytes = nal;
  sets.sps = parseSps(nal);
  // profile_idc, constraint flags and level_idc (24 bits) precede seq_parameter_set_id.
  sets.spsId = readUeFields(nal.subarray(1, 12), 1, 24)[0];
}

/** ff_h264_decode_picture_parameter_set keeps a PPS only when the SPS it names is held. */
function readPps(nal: Uint8Array, sets: H264ParameterSets): void {
  const [ppsId, spsId] = readUeFields(nal.subarray(1, 12), 2);
  if (sets.sps && spsId === sets.spsId) sets.ppsIds.add(ppsId!);
}

/** The first `count` ue(v) fields of escaped RBSP bytes, after `skipBits`. */
function readUeFields(escaped: Uint8Array, count: number, skipBits = 0): number[] {
  try {
    const bits = new BitReader(unescapeRbsp(escaped));
    bits.skip(skipBits);
    return Array.from({ length: count }, () => bits.ue());
  } catch (error) {
    if (error instanceof OutOfData) throw new NeedsFfprobe('MPEG stream: unreadable H.264 parameter set');
    throw error;
  }
}

/** pic_struct -> repeat_pict (h264_parser.c); undefined for reserved values. */
const REPEAT_BY_PIC_STRUCT = [1, 0, 0, 1, 1, 2, 2, 3, 5];

function repeatPict(sps: H264SpsTiming, field: boolean, picStruct: number | undefined): number {
  if (!sps.picStructPresent) return field ? 0 : 1;
  if (picStruct === undefined) throw new NeedsFfprobe('MPEG stream: H.264 picture without its timing SEI');
  const repeat = REPEAT_BY_PIC_STRUCT[picStruct];
  if (repeat === undefined) throw new NeedsFfprobe(`MPEG stream: H.264 pic_struct ${picStruct}`);
  return repeat;
}

/** The pic_struct of a picture timing message in an SEI NAL unit, if it has one. */
function readPicStruct(nal: Uint8Array, sps: H264SpsTiming): number | undefined {
  if (!sps.picStructPresent) return undefined;
  const rbsp = unescapeRbsp(nal.subarray(1));
  let at = 0;
  const readVarying = () => {
    let value = 0;
    while (rbsp[at] === 0xff) value += rbsp[at++]!;
    if (at >= rbsp.byteLength) throw new NeedsFfprobe('MPEG stream: H.264 SEI cut');
    return value + rbsp[at++]!;
  };
  while (at < rbsp.byteLength && !(rbsp[at] === 0x80 && at === rbsp.byteLength - 1)) {
    const type = readVarying();
    const size = readVarying();
    if (at + size > rbsp.byteLength) throw new NeedsFfprobe('MPEG stream: H.264 SEI message overruns its NAL unit');
    if (type === SEI_PIC_TIMING) {
      const bits = new BitReader(rbsp.subarray(at, at + size));
      try {
        if (sps.hrdDelayBits) bits.skip(sps.hrdDelayBits.cpbRemoval + sps.hrdDelayBits.dpbOutput);
        return bits.u(4);
      } catch (error) {
        if (error instanceof OutOfData) throw new NeedsFfprobe('MPEG stream: H.264 picture timing SEI cut');
        throw error;
      }
    }
    at += size;
  }
  return undefined;
}

function trimTrailingZeros(nal: Uint8Array): Uint8Array {
  let end = nal.byteLength;
  while (end > 0 && nal[end - 1] === 0) end--;
  return nal.subarray(0, end);
}

function parseSps(nal: Uint8Array): H264SpsTiming {
  try {
    return parseH264SpsTiming(nal);
  } catch (error) {
    if (error instanceof OutOfData || error instanceof RangeError) throw new NeedsFfprobe('MPEG stream: unreadable H.264 SPS');
    throw error;
  }
}

/**
 * first_mb_in_slice, slice_type, pic_parameter_set_id, and field_pic_flag when the SPS allows
 * field coding (read only for a slice the parser can take further: its PPS is held).
 */
function readSliceStart(escaped: Uint8Array, sets: H264ParameterSets): { firstMb: number; type: number; ppsId: number; field: boolean } {
  try {
    const bits = new BitReader(unescapeRbsp(escaped));
    const firstMb = bits.ue();
    const type = bits.ue();
    const ppsId = bits.ue();
    const sps = sets.ppsIds.has(ppsId) ? sets.sps : undefined;
    if (!sps || sps.frameMbsOnly) return { firstMb, type, ppsId, field: false };
    if (sps.separateColourPlanes) bits.skip(2);
    bits.skip(sps.log2MaxFrameNum);
    return { firstMb, type, ppsId, field: bits.flag() };
  } catch (error) {
    if (error instanceof OutOfData) throw new NeedsFfprobe('MPEG stream: unreadable H.264 slice header');
    throw error;
  }
}

/**
 * h264_parser.c: framerate = time_scale / (num_units_in_tick * ticks_per_frame 2); a packet lasts
 * den / (num * 2) * (repeat_pict + 1) seconds and counts repeat_pict + 1 fields.
 */
function h264Parameters(sps: H264SpsTiming, repeat: number): VideoParameters {
  if (!sps.timing || !sps.timing.numUnitsInTick || !sps.timing.timeScale) {
    throw new NeedsFfprobe('MPEG stream: H.264 without VUI timing (FFmpeg guesses the rate from timestamps)');
  }
  const { numUnitsInTick, timeScale } = sps.timing;
  const frameRate = avReduce(timeScale, numUnitsInTick * 2, 1 << 30);
  if (frameRate.num * numUnitsInTick * 2 !== frameRate.den * timeScale) throw new NeedsFfprobe('MPEG stream: H.264 timing beyond FFmpeg\'s precision');
  const { width, height } = h264DisplaySize(sps, { width: 0, height: 0 });
  const packetTicks = Math.floor((frameRate.den * (repeat + 1) * 90000) / (frameRate.num * 2));
  return { codec: 'h264', width, height, sampleAspectRatio: sps.sampleAspectRatio, frameRate, packetTicks, packetFields: repeat + 1 };
}

/** av_rescale_rnd(1, den * 90000, num, AV_ROUND_DOWN): one frame of `rate` in 90 kHz ticks. */
function frameTicksOf(rate: Rational): number {
  return Math.floor((rate.den * 90000) / rate.num);
}

const SEQUENCE_HEADER = 0xb3;
const EXTENSION = 0xb5;
const PICTURE = 0x00;
/** ff_mpeg12_frame_rate_tab for the codes MPEG-1/2 define. */
const MPEG_FRAME_RATES: readonly (Rational | undefined)[] = [
  undefined, { num: 24000, den: 1001 }, { num: 24, den: 1 }, { num: 25, den: 1 }, { num: 30000, den: 1001 },
  { num: 30, den: 1 }, { num: 50, den: 1 }, { num: 60000, den: 1001 }, { num: 60, den: 1 },
];
/** ff_mpeg12_frame_rate_tab's codes 9-13 beyond the standard (Xing's 15 fps, libmpeg3's economy rates). */
const EXTENDED_FRAME_RATES: readonly (Rational | undefined)[] = [
  ...MPEG_FRAME_RATES, { num: 15, den: 1 }, { num: 5, den: 1 }, { num: 10, den: 1 }, { num: 12, den: 1 }, { num: 15, den: 1 },
];

export interface MpegVideoOptions {
  /**
   * Accept frame_rate_code 9-13 (MPEG-1 only), which FFmpeg's parser and decoder read from its
   * extended table; only the raw elementary stream reader has checked their timing against ffprobe.
   */
  extendedRateCodes?: boolean;
  /** Accept repeat_first_field: the caller times such pictures itself (packetTicks is then the unrepeated frame's). */
  repeatedFields?: boolean;
}
/** ff_mpeg2_aspect: display aspect ratios for aspect_ratio_information 2..4. */
const MPEG2_ASPECT: readonly Rational[] = [{ num: 0, den: 1 }, { num: 1, den: 1 }, { num: 4, den: 3 }, { num: 16, den: 9 }, { num: 221, den: 100 }];

interface SequenceHeader {
  bytes: Uint8Array;
  width: number;
  height: number;
  aspect: number;
  rateCode: number;
}

interface SequenceExtension {
  widthExtension: number;
  heightExtension: number;
  lowDelay: boolean;
  rateN: number;
  rateD: number;
}

interface MpegVideoState {
  header?: SequenceHeader;
  extension?: SequenceExtension;
  display?: { width: number; height: number };
}

const B_PICTURE = 3;

export function inspectMpegVideo(payloads: Uint8Array[], options: MpegVideoOptions = {}): VideoPictures {
  const state: MpegVideoState = {};
  const bPictures: boolean[] = [];
  payloads.forEach((payload, index) => {
    let pictures = 0;
    for (const at of startCodes(payload)) {
      const code = payload[at];
      if (code === SEQUENCE_HEADER) readSequenceHeader(payload.subarray(at + 1, at + 9), state);
      else if (code === EXTENSION) readExtension(payload.subarray(at + 1, at + 12), state, options);
      else if (code === PICTURE) {
        pictures++;
        bPictures[index] = ((payload[at + 2] ?? 0) >> 3 & 7) === B_PICTURE;
      }
    }
    if (pictures !== 1) throw new NeedsFfprobe(`MPEG stream: video PES ${index} holds ${pictures} pictures`);
  });
  return { ...mpegVideoParameters(state, options), bPictures, announcesReorder: state.extension !== undefined && !state.extension.lowDelay };
}

function readSequenceHeader(bytes: Uint8Array, state: MpegVideoState): void {
  if (bytes.byteLength < 8) throw new NeedsFfprobe('MPEG stream: sequence header cut');
  const header = {
    bytes: bytes.slice(0, 8),
    width: (bytes[0]! << 4) | (bytes[1]! >> 4),
    height: ((bytes[1]! & 15) << 8) | bytes[2]!,
    aspect: bytes[3]! >> 4,
    rateCode: bytes[3]! & 15,
  };
  if (state.header && !sameBytes(state.header.bytes, header.bytes)) throw new NeedsFfprobe('MPEG stream: the sequence header changes');
  state.header ??= header;
}

const SEQUENCE_EXTENSION = 1;
const SEQUENCE_DISPLAY_EXTENSION = 2;
const PICTURE_CODING_EXTENSION = 8;
const FRAME_PICTURE = 3;

function readExtension(bytes: Uint8Array, state: MpegVideoState, options: MpegVideoOptions): void {
  if (bytes.byteLength < 5) throw new NeedsFfprobe('MPEG stream: extension cut');
  const bits = new BitReader(bytes);
  const id = bits.u(4);
  if (id === SEQUENCE_EXTENSION) {
    bits.skip(8 + 1 + 2);
    const widthExtension = bits.u(2);
    const heightExtension = bits.u(2);
    bits.skip(12 + 1 + 8);
    const extension = { widthExtension, heightExtension, lowDelay: bits.flag(), rateN: bits.u(2), rateD: bits.u(5) };
    if (state.extension && JSON.stringify(state.extension) !== JSON.stringify(extension)) throw new NeedsFfprobe('MPEG stream: the sequence extension changes');
    state.extension = extension;
  } else if (id === SEQUENCE_DISPLAY_EXTENSION) {
    bits.skip(3);
    if (bits.flag()) bits.skip(24);
    const width = bits.u(14);
    bits.skip(1);
    state.display = { width, height: bits.u(14) };
  } else if (id === PICTURE_CODING_EXTENSION) {
    bits.skip(16 + 2);
    const structure = bits.u(2);
    bits.skip(6);
    const repeatFirstField = bits.flag();
    if (structure !== FRAME_PICTURE) throw new NeedsFfprobe('MPEG stream: MPEG-2 field pictures');
    if (repeatFirstField && !options.repeatedFields) throw new NeedsFfprobe('MPEG stream: MPEG-2 repeated fields');
  }
}

/**
 * mpegvideo_parser.c: MPEG-1 frames last one frame period; MPEG-2 sets framerate with the
 * extension's n/d and ticks_per_frame 2, and a frame picture without repeat_first_field has
 * repeat_pict 1: again one frame period. The decoder's picture size and aspect (mpeg12dec.c).
 */
function mpegVideoParameters({ header, extension, display }: MpegVideoState, options: MpegVideoOptions): VideoParameters {
  if (!header) throw new NeedsFfprobe('MPEG stream: no sequence header');
  const base = (options.extendedRateCodes && !extension ? EXTENDED_FRAME_RATES : MPEG_FRAME_RATES)[header.rateCode];
  if (!base) throw new NeedsFfprobe(`MPEG stream: frame_rate_code ${header.rateCode}`);
  const frameRate = extension ? avReduce(base.num * (extension.rateN + 1), base.den * (extension.rateD + 1), 1 << 30) : base;
  const width = header.width | ((extension?.widthExtension ?? 0) << 12);
  const height = header.height | ((extension?.heightExtension ?? 0) << 12);
  if (!width || !height) throw new NeedsFfprobe('MPEG stream: sequence header without a picture size');
  const sampleAspectRatio = extension ? mpeg2AspectRatio(header.aspect, width, height, display) : mpeg1AspectRatio(header.aspect);
  return { codec: extension ? 'mpeg2video' : 'mpeg1video', width, height, sampleAspectRatio, frameRate, packetTicks: frameTicksOf(frameRate), packetFields: 2 };
}

/** ff_mpeg1_aspect: pixel height/width for aspect codes 1..14 (0 and 15 are forbidden). */
const MPEG1_ASPECT = [0, 1, 0.6735, 0.7031, 0.7615, 0.8055, 0.8437, 0.8935, 0.9157, 0.9815, 1.0255, 1.0695, 1.095, 1.1575, 1.2015];

/** mpeg12dec.c: av_d2q(1 / ff_mpeg1_aspect[code], 255). */
function mpeg1AspectRatio(code: number): Rational {
  const aspect = MPEG1_ASPECT[code];
  if (!aspect) throw new NeedsFfprobe(`MPEG stream: MPEG-1 aspect code ${code}`);
  return avD2q(1 / aspect, 255);
}

function mpeg2AspectRatio(code: number, width: number, height: number, display: { width: number; height: number } | undefined): Rational {
  const aspect = MPEG2_ASPECT[code] ?? { num: 0, den: 1 };
  if (code <= 1 || code > 4) return aspect;
  const byPicture = avReduce(aspect.num * height, aspect.den * width);
  if (!display || !display.width || !display.height) return byPicture;
  // FFmpeg uses the display size only when picture and display sizes give a DAR of 4:3 or 16:9.
  const dar = avReduce(aspect.num * display.height * width, aspect.den * display.width * height);
  const standard = (dar.num === 4 && dar.den === 3) || (dar.num === 16 && dar.den === 9);
  return standard ? avReduce(aspect.num * display.height, aspect.den * display.width) : byPicture;
}

export interface AudioParameters {
  /** Samples per frame (AVCodecContext.frame_size) and the sample rate, which time each audio packet. */
  frameSize: number;
  sampleRate: number;
}

const ADTS_RATES = [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350];
const MPEG_AUDIO_RATES = [44100, 48000, 32000];
const AC3_RATES = [48000, 44100, 32000];

/** The first frame header of the first audio PES payload. */
export function inspectAudio(codec: AudioCodec, payload: Uint8Array): AudioParameters {
  const b = payload;
  if (codec === 'aac') {
    if (b.byteLength < 7 || b[0] !== 0xff || (b[1]! & 0xf6) !== 0xf0) throw new NeedsFfprobe('MPEG stream: AAC PES without an ADTS header');
    const rate = ADTS_RATES[(b[2]! >> 2) & 15];
    if (!rate) throw new NeedsFfprobe('MPEG stream: ADTS sampling index');
    return { frameSize: 1024, sampleRate: rate };
  }
  if (codec === 'mpeg-audio') {
    if (b.byteLength < 4 || b[0] !== 0xff || (b[1]! & 0xe0) !== 0xe0) throw new NeedsFfprobe('MPEG stream: MPEG audio PES without a frame header');
    const version = (b[1]! >> 3) & 3;
    const layer = 4 - ((b[1]! >> 1) & 3);
    const rateIndex = (b[2]! >> 2) & 3;
    if (version === 1 || layer === 4 || rateIndex === 3) throw new NeedsFfprobe('MPEG stream: reserved MPEG audio header');
    const divisor = version === 3 ? 1 : version === 2 ? 2 : 4;
    const frameSize = layer === 1 ? 384 : layer === 3 && version !== 3 ? 576 : 1152;
    return { frameSize, sampleRate: MPEG_AUDIO_RATES[rateIndex]! / divisor };
  }
  if (b.byteLength < 6 || b[0] !== 0x0b || b[1] !== 0x77) throw new NeedsFfprobe('MPEG stream: AC-3 PES without a sync frame');
  const bsid = b[5]! >> 3;
  const rate = AC3_RATES[b[4]! >> 6];
  if (bsid > 8 || !rate) throw new NeedsFfprobe('MPEG stream: E-AC-3 or reserved AC-3 header');
  return { frameSize: 1536, sampleRate: rate };
}
