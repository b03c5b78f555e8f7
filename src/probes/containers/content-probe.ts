/**
 * FFmpeg 5.1 names the codec of an MPEG-TS stream it has no table entry for by probing the PES
 * payload (libavformat/demux.c probe_codec / set_codec_from_probe_data): the stream's payloads
 * are gathered packet by packet, and whenever a packet takes the total past a power of two (and
 * once more when probing ends) av_probe_input_format3 runs every demuxer's probe over the bytes
 * gathered, followed by AVPROBE_PADDING_SIZE zero bytes; when the best one (a tie names none) is
 * in fmt_id_type the stream takes its codec. Of that table, h264, hevc, m4v, mjpeg_2000 and
 * mpegvideo make a video stream.
 *
 * What is decided here is whether one of those five scores above zero on one of the buffers
 * FFmpeg probes: a probe that scores zero is never chosen (av_probe_input_format3 keeps a format
 * only for a score above the best so far, which starts at 0). The five probes are ported from
 * libavformat/h264dec.c, hevcdec.c, m4vdec.c, mj2kdec.c and mpegvideodec.c.
 */
import { concatBytes } from './bytes.js';

/** AVPROBE_PADDING_SIZE: zero bytes after the gathered payload that the probes may read. */
const PADDING = 32;
const AVPROBE_SCORE_EXTENSION = 50;
/** QUARTER_EXTENSION in C's integer division. */
const QUARTER_EXTENSION = 12;

/** FFmpeg's av_log2 (of 0 too, which it calls 0). */
const avLog2 = (value: number) => (value > 0 ? Math.floor(Math.log2(value)) : 0);

/**
 * The buffer sizes set_codec_from_probe_data sees for payloads of these sizes: each packet that
 * changes av_log2 of the total, and the total when probing ends.
 */
export function probedSizes(packetSizes: number[]): number[] {
  const sizes: number[] = [];
  let total = 0;
  for (const size of packetSizes) {
    total += size;
    if (avLog2(total) !== avLog2(total - size)) sizes.push(total);
  }
  if (sizes.at(-1) !== total) sizes.push(total);
  return sizes;
}

/** The probe buffer FFmpeg builds of the first `size` bytes: those, then zero padding. */
function probeBuffer(bytes: Uint8Array, size: number): Uint8Array {
  const buffer = new Uint8Array(size + PADDING);
  buffer.set(bytes.subarray(0, size));
  return buffer;
}

/** The score of each video demuxer of fmt_id_type for one probe buffer of `size` bytes. */
export function videoProbeScores(bytes: Uint8Array, size: number): Record<string, number> {
  const buffer = probeBuffer(bytes, size);
  return {
    h264: h264Probe(buffer, size),
    hevc: hevcProbe(buffer, size),
    m4v: mpeg4VideoProbe(buffer, size),
    mjpeg_2000: mjpeg2000Probe(buffer, size),
    mpegvideo: mpegVideoProbe(buffer, size),
  };
}

/** True when some video demuxer scores above zero on one of the buffers FFmpeg probes. */
export function mayProbeAsVideo(payloads: Uint8Array[]): boolean {
  const bytes = concatBytes(payloads);
  return probedSizes(payloads.map((payload) => payload.byteLength)).some((size) => Object.values(videoProbeScores(bytes, size)).some((score) => score > 0));
}

/** MSB-first bits over a probe buffer; past its end the reads see the zero padding. */
class Bits {
  private index = 0;

  constructor(private readonly bytes: Uint8Array, private readonly start: number) {}

  private bit(): number {
    const at = this.start + (this.index >> 3);
    const value = at < this.bytes.byteLength ? (this.bytes[at]! >> (7 - (this.index & 7))) & 1 : 0;
    this.index += 1;
    return value;
  }

  read(count: number): number {
    let value = 0;
    for (let i = 0; i < count; i++) value = value * 2 + this.bit();
    return value;
  }

  skip(count: number): void {
    this.index += count;
  }

  /** get_ue_golomb_long: 32 zero bits read as 2^32 - 1, as the unsigned arithmetic gives. */
  unsignedExpGolomb(): number {
    let zeros = 0;
    while (zeros < 31 && this.peekBit(zeros) === 0) zeros++;
    if (zeros === 31 && this.peekBit(31) === 0) {
      this.skip(31);
      return (this.read(32) - 1) >>> 0;
    }
    this.skip(zeros);
    return this.read(zeros + 1) - 1;
  }

  private peekBit(offset: number): number {
    const index = this.index + offset;
    const at = this.start + (index >> 3);
    return at < this.bytes.byteLength ? (this.bytes[at]! >> (7 - (index & 7))) & 1 : 0;
  }
}

/** h264dec.c: how each NAL type's nal_ref_idc must be (1: zero, -1: non-zero, 2: reserved type). */
const H264_REF_ZERO = [2, 0, 0, 0, 0, -1, 1, -1, -1, 1, 1, 1, 1, -1, 2, 2, 2, 2, 2, 0, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2];
const MAX_SPS_COUNT = 32;
const MAX_PPS_COUNT = 256;

/** h264_probe. */
export function h264Probe(buffer: Uint8Array, size: number): number {
  let code = 0xffffffff;
  let [sps, pps, idr, res, sli] = [0, 0, 0, 0, 0];
  const ppsIds = new Uint8Array(MAX_PPS_COUNT + 1);
  const spsIds = new Uint8Array(MAX_SPS_COUNT + 1);
  for (let i = 0; i + 2 < size; i++) {
    code = ((code << 8) + buffer[i]!) >>> 0;
    if ((code & 0xffffff00) !== 0x100) continue;
    const refIdc = (code >> 5) & 3;
    const type = code & 0x1f;
    if (code & 0x80) return 0;
    if (H264_REF_ZERO[type] === 1 && refIdc) return 0;
    if (H264_REF_ZERO[type] === -1 && !refIdc) return 0;
    if (H264_REF_ZERO[type] === 2 && !(code === 0x100 && !buffer[i + 1] && !buffer[i + 2])) res++;
    const bits = new Bits(buffer, i + 1);
    if (type === 1 || type === 5) {
      bits.unsignedExpGolomb();
      if (bits.unsignedExpGolomb() > 9) return 0;
      const ppsId = bits.unsignedExpGolomb();
      if (ppsId > MAX_PPS_COUNT) return 0;
      if (!ppsIds[ppsId]) continue;
      if (type === 1) sli++;
      else idr++;
    } else if (type === 7) {
      bits.skip(14);
      if (bits.read(2)) return 0;
      bits.skip(8);
      const spsId = bits.unsignedExpGolomb();
      if (spsId > MAX_SPS_COUNT) return 0;
      spsIds[spsId] = 1;
      sps++;
    } else if (type === 8) {
      const ppsId = bits.unsignedExpGolomb();
      if (ppsId > MAX_PPS_COUNT) return 0;
      const spsId = bits.unsignedExpGolomb();
      if (spsId > MAX_SPS_COUNT) return 0;
      if (!spsIds[spsId]) continue;
      ppsIds[ppsId] = 1;
      pps++;
    }
  }
  return sps && pps && (idr || sli > 3) && res < sps + pps + idr ? AVPROBE_SCORE_EXTENSION + 1 : 0;
}

const HEVC_VPS = 32;
const HEVC_SPS = 33;
const HEVC_PPS = 34;
/** BLA_W_LP .. CRA_NUT: the IRAP pictures hevc_probe counts. */
const HEVC_IRAP_FIRST = 16;
const HEVC_IRAP_LAST = 21;

/** hevc_probe. */
export function hevcProbe(buffer: Uint8Array, size: number): number {
  let code = 0xffffffff;
  let [vps, sps, pps, irap] = [0, 0, 0, 0];
  for (let i = 0; i < size - 1; i++) {
    code = ((code << 8) + buffer[i]!) >>> 0;
    if ((code & 0xffffff00) !== 0x100) continue;
    const type = (code & 0x7e) >> 1;
    if (code & 0x81 || buffer[i + 1]! & 0xf8) return 0;
    if (type === HEVC_VPS) vps++;
    else if (type === HEVC_SPS) sps++;
    else if (type === HEVC_PPS) pps++;
    else if (type >= HEVC_IRAP_FIRST && type <= HEVC_IRAP_LAST) irap++;
  }
  return vps && sps && pps && irap ? AVPROBE_SCORE_EXTENSION + 1 : 0;
}

const VOP_STARTCODE = 0x1b6;
const VISUAL_OBJ_STARTCODE = 0x1b5;
const SLICE_STARTCODE = 0x1b7;
const EXT_STARTCODE = 0x1b8;

/** mpeg4video_probe (m4vdec.c). */
export function mpeg4VideoProbe(buffer: Uint8Array, size: number): number {
  let code = 0xffffffff;
  let [vo, vol, vop, viso, res, resMain] = [0, 0, 0, 0, 0, 0];
  for (let i = 0; i < size; i++) {
    code = ((code << 8) + buffer[i]!) >>> 0;
    if (code & 0xfffffe00 || code < 2) continue;
    if (code === VOP_STARTCODE) vop++;
    else if (code === VISUAL_OBJ_STARTCODE) viso++;
    else if (code >= 0x100 && code < 0x120) vo++;
    else if (code >= 0x120 && code < 0x130) vol++;
    else if (code === SLICE_STARTCODE || code === EXT_STARTCODE) resMain++;
    else if (!(0x1af < code && code < 0x1b7) && !(0x1b9 < code && code < 0x1c4)) res++;
  }
  if (resMain && 2 * resMain < vop) res += resMain;
  const shaped = vop >= viso && vop >= vol && vo >= vol && vol > 0;
  if (shaped && res === 0) return vop + vo > 4 ? AVPROBE_SCORE_EXTENSION : AVPROBE_SCORE_EXTENSION / 2;
  if (shaped && vop + vo > 4) return AVPROBE_SCORE_EXTENSION / 10;
  return 0;
}

/** mjpeg2000_probe (mj2kdec.c): codestreams opening with SOC + SIZ whose SIZ is followed by a marker. */
export function mjpeg2000Probe(buffer: Uint8Array, size: number): number {
  let [frames, invalid] = [0, 0];
  for (let i = 0; i < size - 5; i++) {
    if (buffer[i] !== 0xff || buffer[i + 1] !== 0x4f || buffer[i + 2] !== 0xff || buffer[i + 3] !== 0x51) continue;
    const markerSize = (buffer[i + 4]! << 8) | buffer[i + 5]!;
    if (markerSize + i >= size - 4) continue;
    if (buffer[i + 4 + markerSize] === 0xff) frames++;
    else invalid++;
  }
  if (invalid * 4 + 1 >= frames) return 0;
  return invalid === 0 && frames > 2 ? AVPROBE_SCORE_EXTENSION / 2 : QUARTER_EXTENSION;
}

/**
 * avpriv_find_start_code (libavcodec/utils.c): the position just after the next 00 00 01 xx and
 * the last four bytes read, or the end and the last four bytes there.
 */
function findStartCode(buffer: Uint8Array, from: number, end: number, state: number): [number, number] {
  let p = from;
  if (p >= end) return [end, state];
  for (let i = 0; i < 3; i++) {
    const shifted = (state << 8) >>> 0;
    state = (shifted + buffer[p++]!) >>> 0;
    if (shifted === 0x100 || p === end) return [p, state];
  }
  while (p < end) {
    if (buffer[p - 1]! > 1) p += 3;
    else if (buffer[p - 2]) p += 2;
    else if (buffer[p - 3]! | (buffer[p - 1]! - 1)) p++;
    else {
      p++;
      break;
    }
  }
  p = Math.min(p, end) - 4;
  return [p + 4, ((buffer[p]! << 24) | (buffer[p + 1]! << 16) | (buffer[p + 2]! << 8) | buffer[p + 3]!) >>> 0];
}

const SEQ_START_CODE = 0x1b3;
const PICTURE_START_CODE = 0x100;
const SLICE_START_CODE = 0x101;
const PACK_START_CODE = 0x1ba;
const VIDEO_ID = 0x1e0;
const AUDIO_ID = 0x1c0;

/** mpegvideo_probe (mpegvideodec.c). */
export function mpegVideoProbe(buffer: Uint8Array, size: number): number {
  let code = 0xffffffff;
  let [pic, seq, slice, pspack, vpes, apes, res, sicle, last] = [0, 0, 0, 0, 0, 0, 0, 0, 0];
  for (let ptr = 0; ptr < size; ) {
    [ptr, code] = findStartCode(buffer, ptr, size, code);
    if ((code & 0xffffff00) !== 0x100) continue;
    if (code === SEQ_START_CODE && isSequenceHeader(buffer, ptr, size)) seq++;
    else if (code === PICTURE_START_CODE) pic++;
    else if (code === PACK_START_CODE) pspack++;
    else if (code === 0x1b6) res++;
    if (code >= SLICE_START_CODE && code <= 0x1af) {
      const afterSlice = last >= SLICE_START_CODE && last <= 0x1af;
      if (afterSlice ? code >= last : code === SLICE_START_CODE) slice++;
      else sicle++;
    }
    if ((code & 0x1f0) === VIDEO_ID) vpes++;
    else if ((code & 0x1e0) === AUDIO_ID) apes++;
    last = code;
  }
  if (seq && seq * 9 <= pic * 10 && pic * 9 <= slice * 10 && !pspack && !apes && !res && slice > sicle) {
    if (vpes) return QUARTER_EXTENSION;
    return pic > 1 ? AVPROBE_SCORE_EXTENSION + 1 : AVPROBE_SCORE_EXTENSION / 2;
  }
  return 0;
}

/** The sequence header checks of mpegvideo_probe: marker bit, quantiser matrices, then a start code. */
function isSequenceHeader(buffer: Uint8Array, ptr: number, end: number): boolean {
  if (!(buffer[ptr + 6]! & 0x20)) return false;
  let j = -1;
  if (buffer[ptr + j + 8]! & 2) j += 64;
  if (j >= end - ptr) return false;
  if (buffer[ptr + j + 8]! & 1) j += 64;
  if (j >= end - ptr) return false;
  const next = (buffer[ptr + j + 9]! << 16) | (buffer[ptr + j + 10]! << 8) | buffer[ptr + j + 11]!;
  return (next & 0xfffffe) === 0;
}

/**
 * ff_id3v2_match on the payloads joined: av_probe_input_format3 skips an ID3v2 tag at the start
 * of the buffer before probing, which the ports above do not model.
 */
export function opensWithId3v2(payloads: Uint8Array[]): boolean {
  const head = concatBytes(payloads.slice(0, 10)).subarray(0, 10);
  const syncSafe = [6, 7, 8, 9].every((at) => !(head[at]! & 0x80));
  return head.byteLength === 10 && head[0] === 0x49 && head[1] === 0x44 && head[2] === 0x33 && head[3] !== 0xff && head[4] !== 0xff && syncSafe;
}
