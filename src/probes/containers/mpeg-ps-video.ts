/**
 * MPEG program streams (MPEG-1 system streams, MPEG-2 PS, VOB) with MPEG-1/2 video and MPEG
 * audio, read as FFmpeg 5.1's "mpeg" demuxer and parsers read them for ffprobe (see
 * mpeg-facts.ts). Video frames span PES packets here: each frame takes the timestamps of the
 * PES its first byte is in, so every frame must start in a PES of its own that carries a PTS.
 *
 * The file is read whole (only small files are answered in-process) so that the end can be
 * checked: a PES that runs past the end is `truncated`; the last video PES must be closed by
 * the muxer's padding or an end code, and the audio must end on a frame boundary.
 */
import { ProbeError } from '../../errors.js';
import type { ByteSource } from '../../sources/source.js';
import { parseMpegHeader } from '../audio/mpeg.js';
import { NeedsFfprobe, type VideoFacts } from './facts.js';
import { mpegVideoFacts, type MpegStream, type PesPacket } from './mpeg-facts.js';

/** Files up to this size are read whole; larger ones go to ffprobe. */
const WHOLE_FILE_LIMIT = 2 * 1024 * 1024;
/** ff_read_packet's window for the duration (DURATION_MAX_READ_SIZE). */
const TAIL_BYTES = 250_000;

const PACK = 0xba;
const SYSTEM_HEADER = 0xbb;
const END_CODE = 0xb9;
const PADDING = 0xbe;
const PRIVATE_2 = 0xbf;


interface PsPes extends PesPacket {
  id: number;
  /** Offsets of the payload and of the byte after the packet. */
  payloadStart: number;
  end: number;
}

interface Unit {
  code: number;
  offset: number;
  end: number;
  pes?: PsPes;
}

function readTimestamp(b: Uint8Array, at: number): number {
  return (((b[at]! >> 1) & 7) * 2 ** 30) + ((b[at + 1]! << 22) | ((b[at + 2]! >> 1) << 15) | (b[at + 3]! << 7) | (b[at + 4]! >> 1));
}

/**
 * mpegps_read_pes_header: MPEG-1 stuffing, buffer size and timestamps, or the MPEG-2 PES header.
 * Undefined when FFmpeg would skip the packet as malformed.
 */
function readPesHeader(b: Uint8Array, at: number, end: number): Pick<PsPes, 'pts' | 'dts' | 'payloadStart'> | undefined {
  let p = at + 6;
  let c = b[p++]!;
  while (c === 0xff && p < end) c = b[p++]!;
  if ((c & 0xc0) === 0x40) {
    p++;
    c = b[p++]!;
  }
  if ((c & 0xe0) === 0x20) {
    const pts = readTimestamp(b, p - 1);
    p += 4;
    if (c & 0x10) {
      const dts = readTimestamp(b, p);
      p += 5;
      return p <= end ? { pts, dts, payloadStart: p } : undefined;
    }
    return p <= end ? { pts, payloadStart: p } : undefined;
  }
  if ((c & 0xc0) === 0x80) {
    const flags = b[p]!;
    const headerEnd = p + 2 + b[p + 1]!;
    if (headerEnd > end) return undefined;
    const pts = flags & 0x80 ? readTimestamp(b, p + 2) : undefined;
    const dts = (flags & 0xc0) === 0xc0 ? readTimestamp(b, p + 7) : undefined;
    return { pts, dts, payloadStart: headerEnd };
  }
  return c === 0x0f ? { payloadStart: p } : undefined;
}

function isAudioOrVideo(code: number): boolean {
  return code >= 0xc0 && code <= 0xef;
}

/** The whole file, packet by packet from the first pack header; anything else in between is not modelled. */
function readUnits(b: Uint8Array, name: string): Unit[] {
  const units: Unit[] = [];
  for (let at = 0; at < b.byteLength; ) {
    if (at + 4 > b.byteLength || b[at] !== 0 || b[at + 1] !== 0 || b[at + 2] !== 1) throw new NeedsFfprobe(`MPEG-PS: no start code at byte ${at}`);
    const code = b[at + 3]!;
    let end: number;
    if (code === PACK) {
      const mpeg2 = b[at + 4]! >> 6 === 1;
      if (!mpeg2 && b[at + 4]! >> 4 !== 2) throw new NeedsFfprobe('MPEG-PS pack header of neither MPEG-1 nor MPEG-2');
      end = mpeg2 ? at + 14 + (b[at + 13]! & 7) : at + 12;
    } else if (code === END_CODE) {
      end = at + 4;
    } else if (code === SYSTEM_HEADER || code === PADDING || code === PRIVATE_2 || isAudioOrVideo(code)) {
      if (at + 6 > b.byteLength) throw cutOff(name, code);
      end = at + 6 + ((b[at + 4]! << 8) | b[at + 5]!);
    } else {
      throw new NeedsFfprobe(`MPEG-PS stream 0x${code.toString(16)} not modelled`);
    }
    if (end > b.byteLength) throw cutOff(name, code);
    const unit: Unit = { code, offset: at, end };
    if (isAudioOrVideo(code)) {
      const header = readPesHeader(b, at, end);
      if (!header) throw new NeedsFfprobe('MPEG-PS PES header not modelled');
      unit.pes = { id: code, ...header, end, payload: b.subarray(header.payloadStart, end) };
    }
    units.push(unit);
    at = end;
  }
  return units;
}

/** A cut video PES leaves a picture the decoder cannot finish; cut MPEG audio may end quietly. */
function cutOff(name: string, code: number): Error {
  if (code >= 0xe0 && code <= 0xef) return new ProbeError('truncated', `${name}: the file ends inside an MPEG-PS packet of stream 0x${code.toString(16)}`);
  return new NeedsFfprobe('MPEG-PS ends inside a packet');
}

export async function mpegPsVideoFacts(source: ByteSource, mime: string): Promise<VideoFacts> {
  const size = await source.size();
  if (size > WHOLE_FILE_LIMIT) throw new NeedsFfprobe('MPEG-PS too large to read whole');
  const bytes = await source.read(0, size);
  const units = readUnits(bytes, source.name);
  const ids = [...new Set(units.flatMap((unit) => (unit.pes ? [unit.pes.id] : [])))];
  const videoIds = ids.filter((id) => id >= 0xe0);
  if (videoIds.length !== 1) throw new NeedsFfprobe(`MPEG-PS with ${videoIds.length} video streams`);
  checkVideoClosed(units, videoIds[0]!);
  const tailPts = readTail(bytes, Math.max(0, size - TAIL_BYTES));
  const streams: MpegStream[] = ids.map((id) => {
    const packets = units.flatMap((unit) => (unit.pes?.id === id ? [unit.pes] : []));
    const tail = tailPts.get(id) ?? [];
    if (id >= 0xe0) return { type: 'video', codec: 'mpeg-video', head: videoFrames(packets), tailPts: tail };
    checkWholeAudioFrames(packets);
    return { type: 'audio', codec: 'mpeg-audio', head: packets, tailPts: tail };
  });
  return mpegVideoFacts({ mime, reader: 'mpeg', streams, wholeFile: true });
}

/** The muxer closes the video stream with padding or the end code after its last packet. */
function checkVideoClosed(units: Unit[], videoId: number): void {
  const last = units.findLastIndex((unit) => unit.pes?.id === videoId);
  const next = units[last + 1];
  if (!next || (next.code !== PADDING && next.code !== END_CODE)) throw new NeedsFfprobe('MPEG-PS video may end inside a frame');
}

/** Every audio packet joined must be whole MPEG audio frames. */
function checkWholeAudioFrames(packets: PsPes[]): void {
  const total = packets.reduce((sum, pes) => sum + pes.payload.byteLength, 0);
  const joined = new Uint8Array(total);
  let at = 0;
  for (const pes of packets) {
    joined.set(pes.payload, at);
    at += pes.payload.byteLength;
  }
  for (let p = 0; p < total; ) {
    const header = p + 4 <= total ? parseMpegHeader(new DataView(joined.buffer, joined.byteOffset + p, 4).getUint32(0)) : undefined;
    if (!header || !header.frameSize) throw new NeedsFfprobe('MPEG-PS audio is not whole MPEG audio frames');
    p += header.frameSize;
    if (p > total) throw new NeedsFfprobe('MPEG-PS audio ends inside a frame');
  }
}

const SEQUENCE_HEADER = 0xb3;
const GROUP = 0xb8;
const PICTURE = 0x00;
const LAST_SLICE = 0xaf;

/**
 * The video frames as mpegvideo_parser.c cuts them (a frame opens at the sequence header, GROUP
 * or picture start code after the previous picture's slices), each with the timestamps of the
 * PES its first byte is in. Every frame must open in its own PES, which alone carries a PTS.
 */
function videoFrames(packets: PsPes[]): PesPacket[] {
  const frames: PesPacket[] = [];
  let inSlices = true;
  let open: { pes: PsPes; index: number; parts: Uint8Array[] } | undefined;
  const used = new Set<number>();
  packets.forEach((pes, index) => {
    let from = 0;
    const payload = pes.payload;
    for (let i = 0; i + 3 < payload.byteLength; i++) {
      if (payload[i] !== 0 || payload[i + 1] !== 0 || payload[i + 2] !== 1) continue;
      const code = payload[i + 3]!;
      if (code >= 0x01 && code <= LAST_SLICE) inSlices = true;
      else if ((code === SEQUENCE_HEADER || code === GROUP || code === PICTURE) && inSlices) {
        inSlices = false;
        if (open) {
          open.parts.push(payload.subarray(from, i));
          frames.push(closeFrame(open.pes, open.parts));
        } else if (index !== 0 || i !== 0) throw new NeedsFfprobe('MPEG-PS video does not open with a frame');
        if (used.has(index)) throw new NeedsFfprobe('MPEG-PS: two video frames open in one PES');
        used.add(index);
        open = { pes, index, parts: [] };
        from = i;
      }
    }
    if (!open) throw new NeedsFfprobe('MPEG-PS video does not open with a frame');
    open.parts.push(payload.subarray(from));
    if (pes.pts !== undefined && !used.has(index)) throw new NeedsFfprobe('MPEG-PS: a PTS on a PES where no frame opens');
  });
  if (open) frames.push(closeFrame(open.pes, open.parts));
  return frames;
}

function closeFrame(pes: PsPes, parts: Uint8Array[]): PesPacket {
  if (pes.pts === undefined) throw new NeedsFfprobe('MPEG-PS: a video frame without PTS');
  const size = parts.reduce((sum, part) => sum + part.byteLength, 0);
  const payload = new Uint8Array(size);
  let at = 0;
  for (const part of parts) {
    payload.set(part, at);
    at += part.byteLength;
  }
  return { pts: pes.pts, dts: pes.dts, payload };
}

/**
 * estimate_timings_from_pts: FFmpeg seeks to `tailStart` and scans byte by byte for start codes;
 * each audio/video PES it finds there gives a packet with that PES's PTS; padding and private
 * stream 2 are skipped by their length; any other code is passed over.
 */
function readTail(b: Uint8Array, tailStart: number): Map<number, number[]> {
  const found = new Map<number, number[]>();
  for (let at = tailStart; at + 4 <= b.byteLength; ) {
    if (b[at] !== 0 || b[at + 1] !== 0 || b[at + 2] !== 1) {
      at++;
      continue;
    }
    const code = b[at + 3]!;
    if (code === PADDING || code === PRIVATE_2 || isAudioOrVideo(code)) {
      if (at + 6 > b.byteLength) break;
      const end = Math.min(b.byteLength, at + 6 + ((b[at + 4]! << 8) | b[at + 5]!));
      const header = isAudioOrVideo(code) ? readPesHeader(b, at, end) : undefined;
      if (isAudioOrVideo(code) && !header) throw new NeedsFfprobe('MPEG-PS tail: a PES header FFmpeg would resync over');
      if (header?.pts !== undefined) found.set(code, [...(found.get(code) ?? []), header.pts]);
      at = end;
    } else if (code === 0xbd || code >= 0xf0) {
      throw new NeedsFfprobe(`MPEG-PS tail: stream 0x${code.toString(16)} not modelled`);
    } else {
      at += 4;
    }
  }
  return found;
}
