import { concatBytes } from '../containers/bytes.js';
import { NeedsFfprobe } from '../containers/facts.js';
import { readPmtStreams, type EsInfo } from '../containers/mpegts-streams.js';
import { BlockReader, startsWith, u16be } from './bytes.js';
import { isIntact, parseSyncFrame, sameLayout, type SyncFrame } from './ac3.js';
import { DecoderNeeded, type AudioFacts, type AudioInput } from './facts.js';
import { containerMime } from './mime.js';

/**
 * MPEG-TS whose first audio stream is AC-3 or E-AC-3, as ffmpeg's mpegts demuxer and decoder
 * play it: the stream's PES payloads joined are whole sync frames, each CRC-checked, and every
 * one decodes (see ac3.ts). Anything that makes what reaches the decoder depend on the
 * demuxer's recovery (lost or scrambled packets, payload before the first PES start, several
 * programs, a changing PMT, a frame cut at the end) or another first audio codec goes to ffprobe.
 */

const PACKET_BYTES = 188;
const PAT_PID = 0;

export const isMpegTs = (head: Uint8Array) =>
  head.byteLength >= 3 * PACKET_BYTES && [0, 1, 2].every((i) => head[i * PACKET_BYTES] === 0x47);

type Kind = 'ac3' | 'eac3';

interface Packet {
  pid: number;
  start: boolean;
  payload: Uint8Array | undefined;
  continuity: number;
}

export async function readMpegTs(input: AudioInput): Promise<AudioFacts> {
  const mime = containerMime('mpegts', input.head, input.detection)!;
  const size = await input.size();
  if (size % PACKET_BYTES !== 0) throw new DecoderNeeded(mime, 'MPEG-TS file that is not whole 188-byte packets');
  const reader = new BlockReader(input.source);
  let pmtPid: number | undefined;
  let pmt: Uint8Array | undefined;
  let audio: { pid: number; kind: Kind } | undefined;
  let continuity: number | undefined;
  const payloads: Uint8Array[] = [];
  /** PIDs that carried data before the PMT named the streams: what ffmpeg makes of it is its business. */
  const seenBeforePmt = new Set<number>();
  for (let offset = 0; offset < size; offset += PACKET_BYTES) {
    const packet = parsePacket(await reader.bytes(offset, PACKET_BYTES), mime, offset);
    if (!packet.payload) continue;
    if (packet.pid === PAT_PID) pmtPid = checkSame(pmtPid, patProgramPid(packet, mime), mime);
    else if (packet.pid === pmtPid) {
      const section = sectionOf(packet, mime);
      if (pmt && !equal(pmt, section)) throw new DecoderNeeded(mime, 'MPEG-TS PMT changes');
      pmt = section;
      audio ??= firstAudio(section, pmtPid!, mime);
      if (seenBeforePmt.has(audio.pid)) throw new DecoderNeeded(mime, 'MPEG-TS audio packets before the PMT');
    } else if (!pmt) {
      seenBeforePmt.add(packet.pid);
    } else if (audio && packet.pid === audio.pid) {
      if (continuity !== undefined && packet.continuity !== ((continuity + 1) & 15)) {
        throw new DecoderNeeded(mime, `MPEG-TS continuity break at byte ${offset}`);
      }
      continuity = packet.continuity;
      if (packet.start) payloads.push(pesPayload(packet.payload, mime));
      else if (payloads.length === 0) throw new DecoderNeeded(mime, 'MPEG-TS audio payload before its first PES');
      else payloads.push(packet.payload);
    }
  }
  if (!audio) throw new DecoderNeeded(mime, 'no MPEG-TS AC-3 stream found');
  return ac3Facts(concatBytes(payloads), audio.kind, mime);
}

function parsePacket(b: Uint8Array, mime: string, offset: number): Packet {
  if (b[0] !== 0x47 || b[1]! & 0x80) throw new DecoderNeeded(mime, `MPEG-TS packet at byte ${offset} lost sync or marks an error`);
  if (b[3]! & 0xc0) throw new DecoderNeeded(mime, 'scrambled MPEG-TS packets');
  const control = (b[3]! >> 4) & 3;
  const payloadStart = 4 + (control & 2 ? 1 + b[4]! : 0);
  const hasPayload = (control & 1) !== 0 && payloadStart < PACKET_BYTES;
  return {
    pid: u16be(b, 1) & 0x1fff,
    start: (b[1]! & 0x40) !== 0,
    payload: hasPayload ? b.subarray(payloadStart) : undefined,
    continuity: b[3]! & 15,
  };
}

/** A PSI section that starts and ends in this packet (pointer field, then table). */
function sectionOf(packet: Packet, mime: string): Uint8Array {
  const payload = packet.payload!;
  const start = 1 + payload[0]!;
  const length = ((u16be(payload, start + 1) & 0xfff) + 3);
  if (!packet.start || start + length > payload.byteLength) throw new DecoderNeeded(mime, 'MPEG-TS table section spanning packets');
  return payload.slice(start, start + length);
}

/** The PMT PID of the only program of the PAT. */
function patProgramPid(packet: Packet, mime: string): number {
  const section = sectionOf(packet, mime);
  const programs: number[] = [];
  for (let p = 8; p + 4 <= section.byteLength - 4; p += 4) {
    if (u16be(section, p) !== 0) programs.push(u16be(section, p + 2) & 0x1fff);
  }
  if (section[0] !== 0 || programs.length !== 1) throw new DecoderNeeded(mime, `MPEG-TS PAT with ${programs.length} programs`);
  return programs[0]!;
}

function checkSame(known: number | undefined, found: number, mime: string): number {
  if (known !== undefined && known !== found) throw new DecoderNeeded(mime, 'MPEG-TS PAT changes');
  return found;
}

/**
 * The first stream FFmpeg makes an audio stream of (streams take their PMT order), when it is
 * AC-3 or E-AC-3 by the PMT alone (see mpegts-streams.ts). A stream before it whose codec FFmpeg
 * takes from its content may turn out audio itself: then ffmpeg decides.
 */
function firstAudio(pmt: Uint8Array, pmtPid: number, mime: string): { pid: number; kind: Kind } {
  for (const stream of pmtStreams(pmt, pmtPid, mime)) {
    if (!stream.codec || stream.requestProbe > 0) {
      throw new DecoderNeeded(mime, `MPEG-TS stream type 0x${stream.streamType.toString(16)} whose codec FFmpeg takes from its content`);
    }
    if (stream.media !== 'audio') continue;
    if (stream.codec === 'ac3' || stream.codec === 'eac3') return { pid: stream.pid, kind: stream.codec };
    break;
  }
  throw new DecoderNeeded(mime, 'the first MPEG-TS audio stream is not AC-3');
}

function pmtStreams(pmt: Uint8Array, pmtPid: number, mime: string): EsInfo[] {
  try {
    return readPmtStreams(pmt, pmtPid);
  } catch (error) {
    if (error instanceof NeedsFfprobe) throw new DecoderNeeded(mime, error.reason);
    throw error;
  }
}

/** The payload of a PES packet that starts here (private or audio stream, with its header). */
function pesPayload(payload: Uint8Array, mime: string): Uint8Array {
  if (payload.byteLength < 9 || !startsWith(payload, [0, 0, 1])) throw new DecoderNeeded(mime, 'MPEG-TS audio PES without a start code');
  const start = 9 + payload[8]!;
  if (start > payload.byteLength) throw new DecoderNeeded(mime, 'MPEG-TS PES header spanning packets');
  return payload.subarray(start);
}

function ac3Facts(stream: Uint8Array, kind: Kind, mime: string): AudioFacts {
  let first: SyncFrame | undefined;
  let samples = 0;
  for (let p = 0; p < stream.byteLength; ) {
    const frame = parseSyncFrame(stream.subarray(p), mime);
    if (!frame || p + frame.size > stream.byteLength || !isIntact(stream.subarray(p, p + frame.size))) {
      throw new DecoderNeeded(mime, `MPEG-TS AC-3 stream is not whole, intact sync frames at byte ${p}`);
    }
    first ??= frame;
    if (!sameLayout(frame, first) || frame.codec !== kind) throw new DecoderNeeded(mime, 'MPEG-TS AC-3 stream changes layout');
    samples += frame.samples;
    p += frame.size;
  }
  if (!first) throw new DecoderNeeded(mime, 'MPEG-TS AC-3 stream without frames');
  return { mime, codec: first.codec, sampleRate: first.sampleRate, channels: first.channels, bitDepth: 32, duration: samples / first.sampleRate };
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && a.every((byte, i) => byte === b[i]);
}
