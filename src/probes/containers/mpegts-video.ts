/**
 * MPEG transport streams (188-byte packets, or 192 with the M2TS timestamp prefix) read as
 * FFmpeg 5.1's mpegts demuxer reads them for ffprobe: one program, PES packets per elementary
 * stream from the head (find_stream_info) and from the last 250,000 bytes (the duration), see
 * mpeg-facts.ts. Lost, damaged or scrambled packets, timestamp discontinuities, changing tables,
 * streams of kinds not modelled, and a file whose last packets may be cut go to ffprobe.
 */
import { ProbeError, SourceError } from '../../errors.js';
import type { ByteSource } from '../../sources/source.js';
import { concatBytes } from './bytes.js';
import { TS_SYNC } from './mpeg-system.js';
import { NeedsFfprobe, type VideoFacts } from './facts.js';
import { h264PicturesBeforeParameterSets, inspectVideo, MAX_UNPARSED_TICKS, sameBytes, type AudioCodec, type VideoCodec } from './mpeg-es.js';
import { mpegVideoFacts, type MpegStream, type PesPacket } from './mpeg-facts.js';
import { mayProbeAsVideo, opensWithId3v2 } from './content-probe.js';
import { readPmtStreams, sectionCrcIsValid, type EsInfo } from './mpegts-streams.js';

const TS_BYTES = 188;
const PAT_PID = 0;
/** PIDs FFmpeg reads tables from (SDT, EIT) before any PMT names a stream. */
const SDT_PID = 0x11;
const EIT_PID = 0x12;
/** FFmpeg's max_probe_packets: the most packets of a stream set_codec_from_probe_data sees. */
const MAX_PROBE_PACKETS = 2500;
/** FFmpeg's probesize: probing ends once the packets held back for it reach this many bytes. */
const PROBESIZE = 5_000_000;
/** Reads while gathering those packets. */
const PROBE_CHUNK = 188 * 192 * 32;
/**
 * Stream ids mpegts_push_data sets no probe request for (program stream map, private stream 2,
 * ECM, EMM, directory, DSM-CC, H.222.1 type E), and the padding stream it skips.
 */
const NOT_PROBED_STREAM_IDS = new Set([0xbc, 0xbe, 0xbf, 0xf0, 0xf1, 0xf2, 0xf8, 0xff]);
/** ff_read_packet's window for the duration (DURATION_MAX_READ_SIZE). */
const TAIL_BYTES = 250_000;
/** Head reads: the first read, and the frames read before the video's timing is known. */
const HEAD_FIRST = 256 * 1024;
const HEAD_FRAMES = 40;
/**
 * find_stream_info's longest window (demux.c): it ends once a stream's codec_info_duration (the
 * sum of its packets' durations from the third packet on) reaches max_stream_analyze_duration,
 * 7 s for mpegts (5 s once every stream has its parameters), or once the packets it read reach
 * probesize. The head must hold every video frame of that window, so that a frame rate change,
 * a new SPS or a timestamp jump inside it is seen.
 */
const MAX_ANALYSE_TICKS = 7 * 90000;
/** Frames the loop may take beyond the window: the first two packets count no duration, and the one that ends it. */
const WINDOW_SPARE_FRAMES = 4;
/** PES payload past which FFmpeg's probesize has surely ended the loop (its packets are the parsed payload, less than 10% off). */
const PROBESIZE_COVERED = PROBESIZE * 1.1;
/** The most the head reads to hold that window; past it, ffprobe answers. */
const HEAD_LIMIT = 6 * 1024 * 1024;
/** Packets resync may mistake for packets before it finds the real packet grid. */
const MAX_FALSE_SYNCS = 64;

type Kind = { type: 'video'; codec: VideoCodec } | { type: 'audio'; codec: AudioCodec };

/** FFmpeg's codecs (see mpegts-streams.ts) that the MPEG readers time. */
const MODELLED: Record<string, Kind> = {
  mpeg2video: { type: 'video', codec: 'mpeg-video' },
  h264: { type: 'video', codec: 'h264' },
  mp3: { type: 'audio', codec: 'mpeg-audio' },
  aac: { type: 'audio', codec: 'aac' },
  ac3: { type: 'audio', codec: 'ac3' },
};

/**
 * The stream as the MPEG readers time it. Types 0x04 and 0x0f keep their table codec, as the
 * readers check their frames; any other stream whose codec the PES content may still change,
 * and codecs not modelled, go to ffprobe.
 */
function kindOf(stream: EsInfo): Kind {
  const kind = stream.codec === undefined ? undefined : MODELLED[stream.codec];
  const settled = stream.requestProbe === 0 || stream.streamType === 0x04 || stream.streamType === 0x0f;
  if (!kind || !settled) throw new NeedsFfprobe(`MPEG-TS stream type 0x${stream.streamType.toString(16)} (${stream.codec ?? 'probed'}) not modelled`);
  return kind;
}

/** The transport packet size when the file opens with four packets in a row. */
export function transportPacketSize(head: Uint8Array): 188 | 192 | undefined {
  return ([188, 192] as const).find((size) => {
    const at = size - TS_BYTES;
    return head.byteLength >= at + 3 * size + 1 && [0, 1, 2, 3].every((n) => head[at + n * size] === TS_SYNC);
  });
}

interface Packet {
  pid: number;
  start: boolean;
  /** adaptation_field_control: 0 is reserved (FFmpeg ignores the packet), bit 0 flags a payload. */
  control: number;
  continuity: number;
  /** Adaptation field flags discontinuity. */
  discontinuity: boolean;
  payload?: Uint8Array;
}

function parsePacket(b: Uint8Array): Packet {
  if (b[1]! & 0x80) throw new NeedsFfprobe('MPEG-TS packet marked in error');
  if (b[3]! & 0xc0) throw new NeedsFfprobe('scrambled MPEG-TS packet');
  const control = (b[3]! >> 4) & 3;
  const adaptation = control & 2 ? b[4]! : -1;
  const payloadStart = 4 + (adaptation >= 0 ? 1 + adaptation : 0);
  if (payloadStart > TS_BYTES) throw new NeedsFfprobe('MPEG-TS adaptation field overruns its packet');
  return {
    pid: ((b[1]! & 0x1f) << 8) | b[2]!,
    start: (b[1]! & 0x40) !== 0,
    control,
    continuity: b[3]! & 15,
    discontinuity: adaptation > 0 && (b[5]! & 0x80) !== 0,
    payload: control & 1 && payloadStart < TS_BYTES ? b.subarray(payloadStart, TS_BYTES) : undefined,
  };
}

/** A PSI section that starts and ends in this packet. */
function sectionOf(packet: Packet): Uint8Array {
  const payload = packet.payload!;
  const start = 1 + payload[0]!;
  const length = start + 3 <= payload.byteLength ? (((payload[start + 1]! & 15) << 8) | payload[start + 2]!) + 3 : Infinity;
  if (!packet.start || start + length > payload.byteLength) throw new NeedsFfprobe('MPEG-TS table section spanning packets');
  return payload.slice(start, start + length);
}

interface Program {
  pmtPid: number;
  pmt?: Uint8Array;
  /** The PMT's PCR PID: FFmpeg reads it with a filter of its own, never as a guessed stream. */
  pcrPid?: number;
  /** The PMT's elementary streams as FFmpeg sets them up. */
  es: EsInfo[];
}

/** The program once every stream is one the MPEG readers time. */
interface TimedProgram extends Program {
  streams: Map<number, Kind>;
}

function readPat(section: Uint8Array): number {
  if (!sectionCrcIsValid(section)) throw new NeedsFfprobe('MPEG-TS PAT with a bad CRC');
  const programs: number[] = [];
  for (let p = 8; p + 4 <= section.byteLength - 4; p += 4) {
    if ((section[p]! << 8 | section[p + 1]!) !== 0) programs.push(((section[p + 2]! & 0x1f) << 8) | section[p + 3]!);
  }
  if (section[0] !== 0 || programs.length !== 1) throw new NeedsFfprobe(`MPEG-TS PAT with ${programs.length} programs`);
  return programs[0]!;
}

/** A whole PES with its stream_id (mpegts_push_data treats some ids apart). */
type TsPes = PesPacket & { streamId: number };

/** The PES being gathered for one PID. */
interface OpenPes extends PesPacket {
  streamId: number;
  declaredLength: number;
  parts: Uint8Array[];
  size: number;
}

interface PidState {
  continuity?: number;
  open?: OpenPes;
  done: TsPes[];
  /** The last packet of this PID ended with adaptation-field stuffing (the muxer closed its PES). */
  stuffedLast: boolean;
}

/** The adaptation field is longer than its flags need: the muxer padded a PES's last packet. */
function hasStuffing(raw: Uint8Array): boolean {
  if (!((raw[3]! >> 4) & 2) || raw[4] === 0) return false;
  const length = raw[4]!;
  const flags = raw[5]!;
  let needed = 1 + (flags & 0x10 ? 6 : 0) + (flags & 0x08 ? 6 : 0) + (flags & 0x04 ? 1 : 0);
  if (flags & 0x02) needed += 1 + (raw[4 + 1 + needed] ?? 0);
  if (flags & 0x01) needed += 1 + (raw[4 + 1 + needed] ?? 0);
  return length > needed;
}

function readTimestamp(b: Uint8Array, at: number): number {
  return (((b[at]! >> 1) & 7) * 2 ** 30) + ((b[at + 1]! << 22) | ((b[at + 2]! >> 1) << 15) | (b[at + 3]! << 7) | (b[at + 4]! >> 1));
}

/** mpegts_push_data: the PES header in the packet that starts it. */
function openPes(payload: Uint8Array): OpenPes {
  if (payload.byteLength < 9 || payload[0] !== 0 || payload[1] !== 0 || payload[2] !== 1) throw new NeedsFfprobe('MPEG-TS PES without a start code');
  const flags = payload[7]! >> 6;
  const headerEnd = 9 + payload[8]!;
  if (headerEnd > payload.byteLength || (payload[6]! & 0xc0) !== 0x80) throw new NeedsFfprobe('MPEG-TS PES header not modelled');
  const pts = flags & 2 ? readTimestamp(payload, 9) : undefined;
  const dts = flags === 3 ? readTimestamp(payload, 14) : undefined;
  const declared = (payload[4]! << 8) | payload[5]!;
  const body = payload.subarray(headerEnd);
  return { streamId: payload[3]!, pts, dts, payload: body, declaredLength: declared ? declared - (headerEnd - 6) : 0, parts: [body], size: body.byteLength };
}

function closePes(pes: OpenPes): TsPes {
  const payload = pes.parts.length === 1 ? pes.parts[0]! : concatBytes(pes.parts);
  return { streamId: pes.streamId, pts: pes.pts, dts: pes.dts, payload };
}

/** Gathers the PES packets of the program's streams from consecutive transport packets. */
class PesCollector {
  readonly pids = new Map<number, PidState>();

  constructor(pids: Iterable<number>) {
    for (const pid of pids) this.pids.set(pid, { done: [], stuffedLast: false });
  }

  push(packet: Packet, raw: Uint8Array): void {
    const state = this.pids.get(packet.pid);
    if (!state) return;
    if (packet.discontinuity) throw new NeedsFfprobe('MPEG-TS discontinuity indicator');
    if (packet.control === 0) return;
    checkContinuity(state, packet);
    if (!packet.payload) return;
    state.stuffedLast = hasStuffing(raw);
    if (packet.start) {
      if (state.open) state.done.push(this.finish(state.open));
      state.open = openPes(packet.payload);
    } else if (state.open) {
      state.open.parts.push(packet.payload);
      state.open.size += packet.payload.byteLength;
    }
    if (state.open && state.open.declaredLength && state.open.size >= state.open.declaredLength) {
      state.done.push(this.finish(state.open));
      state.open = undefined;
    }
  }

  private finish(pes: OpenPes): TsPes {
    if (pes.declaredLength && pes.size !== pes.declaredLength) throw new NeedsFfprobe('MPEG-TS PES shorter or longer than it declares');
    return closePes(pes);
  }
}

/**
 * handle_packet's continuity check: the counter steps on every packet flagged as carrying a
 * payload, even one whose adaptation field fills it (muxers pad with such packets), and stays on
 * one without. FFmpeg marks the PES after a break corrupt and joins what it has: not modelled.
 */
function checkContinuity(state: PidState, packet: Packet): void {
  const expected = state.continuity === undefined ? packet.continuity : (state.continuity + (packet.control & 1)) & 15;
  if (packet.continuity !== expected) throw new NeedsFfprobe('MPEG-TS continuity break');
  state.continuity = packet.continuity;
}

interface Layout {
  packetSize: number;
  /** Offset of the sync byte within a packet slot (4 for M2TS). */
  syncAt: number;
}

function* packetsIn(bytes: Uint8Array, layout: Layout, from = 0): Generator<{ offset: number; raw: Uint8Array }> {
  for (let offset = from; offset + layout.packetSize <= bytes.byteLength; offset += layout.packetSize) {
    const raw = bytes.subarray(offset + layout.syncAt, offset + layout.syncAt + TS_BYTES);
    if (raw[0] !== TS_SYNC) throw new NeedsFfprobe(`MPEG-TS lost sync at byte ${offset}`);
    yield { offset, raw };
  }
}

/** PAT and PMT from the head: one program whose table never changes. */
function findProgram(bytes: Uint8Array, layout: Layout): Program {
  let program: Program | undefined;
  for (const { raw } of packetsIn(bytes, layout)) {
    const packet = parsePacket(raw);
    if (!packet.payload) continue;
    if (packet.pid === PAT_PID) {
      const pmtPid = readPat(sectionOf(packet));
      if (program && program.pmtPid !== pmtPid) throw new NeedsFfprobe('MPEG-TS PAT changes');
      program ??= { pmtPid, es: [] };
    } else if (program && packet.pid === program.pmtPid) {
      const section = sectionOf(packet);
      if (program.pmt && !sameBytes(program.pmt, section)) throw new NeedsFfprobe('MPEG-TS PMT changes');
      program.pmt ??= section;
      if (program.es.length === 0) program.es = readPmtStreams(section, program.pmtPid);
      program.pcrPid ??= ((section[8]! & 0x1f) << 8) | section[9]!;
    }
  }
  if (!program?.pmt) throw new NeedsFfprobe('MPEG-TS without PAT and PMT in the head');
  return program;
}

export async function mpegTsVideoFacts(source: ByteSource, head: Uint8Array, mime: string): Promise<VideoFacts> {
  const packetSize = transportPacketSize(head);
  if (!packetSize) throw new NeedsFfprobe('MPEG-TS packets of a size not modelled');
  const layout = { packetSize, syncAt: packetSize - TS_BYTES };
  const size = await source.size();
  if (size % packetSize !== 0) throw new NeedsFfprobe('MPEG-TS file that is not whole packets');
  await refuseWithoutVideo(source, size, layout);
  const analysed = await readHead(source, size, layout);
  const { bytes: headBytes, program, collector } = analysed;
  const tailStart = Math.max(0, size - TAIL_BYTES);
  const tail = headBytes.byteLength === size ? headBytes.subarray(tailStart) : await readTailBytes(source, tailStart, size);
  // FFmpeg analysed the whole file only when probesize cannot have ended its analysis first.
  const wholeFile = analysed.wholeFile && size <= PROBESIZE;
  const tailPes = readTail(tail, tailStart, layout, program, source.name);
  const streams: MpegStream[] = [...program.streams].map(([pid, kind]) => ({
    ...kind,
    head: collector.pids.get(pid)!.done,
    tailPts: tailPes.get(pid)!.map((pes) => pes.pts).filter((pts): pts is number => pts !== undefined),
    tailLast: tailPes.get(pid)!.at(-1)?.payload,
  }));
  checkUnparsedSpan(streams);
  return mpegVideoFacts({ mime, reader: 'mpegts', streams, wholeFile });
}

/**
 * FFmpeg's streams are the PMT's: when none of them is video by its tables, and no stream whose
 * codec comes from its content can probe as video, ffprobe finds no video stream either, and the
 * audio probe takes the file. An empty PMT is not that: FFmpeg then makes streams of the PES it
 * meets on other PIDs.
 */
async function refuseWithoutVideo(source: ByteSource, size: number, layout: Layout): Promise<void> {
  const head = wholePackets(await source.read(0, Math.min(size, HEAD_FIRST)), layout);
  const program = findProgram(head, layout);
  checkNoStrayPes(head, layout, program);
  if (program.es.length === 0) throw new NeedsFfprobe('MPEG-TS PMT without streams');
  if (program.es.some((stream) => stream.media === 'video')) return;
  await checkProbedStreamsAreNotVideo(source, size, layout, program, head);
  throw new ProbeError('no_video_stream', `${source.name} has no video stream (the MPEG-TS PMT lists only audio)`);
}

function wholePackets(bytes: Uint8Array, layout: Layout): Uint8Array {
  return bytes.subarray(0, bytes.byteLength - (bytes.byteLength % layout.packetSize));
}

function timedProgram(program: Program): TimedProgram {
  return { ...program, streams: new Map(program.es.map((stream) => [stream.pid, kindOf(stream)])) };
}

/**
 * After its header scan FFmpeg guesses (auto_guess): a packet that opens a PES on a PID no table
 * named becomes a stream of its own, whose codec the content decides. Not modelled.
 */
function checkNoStrayPes(bytes: Uint8Array, layout: Layout, program: Program): void {
  const known = new Set([PAT_PID, SDT_PID, EIT_PID, program.pmtPid, program.pcrPid, ...program.es.map((stream) => stream.pid)]);
  for (const { raw } of packetsIn(bytes, layout)) {
    const packet = parsePacket(raw);
    if (!packet.start || known.has(packet.pid) || !packet.payload) continue;
    if (packet.payload[0] === 0 && packet.payload[1] === 0 && packet.payload[2] === 1) throw new NeedsFfprobe(`MPEG-TS PES on PID ${packet.pid}, which no PMT lists`);
  }
}

/**
 * A stream left without a codec by the tables (request_probe set at its first PES) or with one
 * the content may replace (request_probe > 0) is probed on its payloads, packet after packet,
 * until a probe names a codec with a score over AVPROBE_SCORE_STREAM_RETRY, max_probe_packets
 * (2500) packets of it were probed, the packets held back while probing reach probesize, or the
 * file ends. Every probe buffer is then one of those content-probe.ts checks, as long as the
 * packets held back (at most all the PES payload read) stay under probesize.
 */
async function checkProbedStreamsAreNotVideo(source: ByteSource, size: number, layout: Layout, program: Program, head: Uint8Array): Promise<void> {
  const probed = new Set(program.es.filter((stream) => !stream.codec || stream.requestProbe > 0).map((stream) => stream.pid));
  if (probed.size === 0) return;
  const collector = new PesCollector(probed);
  const windows = new Map<number, ProbeWindow>([...probed].map((pid) => [pid, { payloads: [], seen: 0 }]));
  let payloadRead = 0;
  const open = () => [...windows.values()].some((window) => window.payloads.length < MAX_PROBE_PACKETS);
  // Past probesize a window still open is ffprobe's business (below), so reading stops there: a
  // listed stream that never carries a PES would otherwise keep the loop reading to the end.
  for (let offset = 0, bytes = head; bytes.byteLength > 0 && open() && payloadRead < PROBESIZE; ) {
    if (offset > 0) checkNoStrayPes(bytes, layout, program);
    for (const { raw } of packetsIn(bytes, layout)) {
      const packet = parsePacket(raw);
      // Every packet FFmpeg returns meanwhile is held back (sections too): all payload bounds them.
      payloadRead += packet.payload?.byteLength ?? 0;
      if (!probed.has(packet.pid)) continue;
      collector.push(packet, raw);
      takeNewPackets(windows.get(packet.pid)!, collector.pids.get(packet.pid)!.done, payloadRead);
    }
    offset += bytes.byteLength;
    bytes = offset < size ? wholePackets(await source.read(offset, Math.min(size - offset, PROBE_CHUNK)), layout) : new Uint8Array(0);
  }
  for (const [pid, window] of windows) {
    const state = collector.pids.get(pid)!;
    // At the end of the file FFmpeg hands over the unfinished PES too.
    if (state.open) takeNewPackets(window, [...state.done, closePes(state.open)], payloadRead);
    if (payloadRead >= PROBESIZE && window.payloads.length < MAX_PROBE_PACKETS) throw new NeedsFfprobe(`MPEG-TS PID ${pid}: probing may end at probesize`);
    if (opensWithId3v2(window.payloads)) throw new NeedsFfprobe(`MPEG-TS PID ${pid}: ID3v2 before the payload (av_probe_input_format3 skips it)`);
    if (mayProbeAsVideo(window.payloads)) throw new NeedsFfprobe(`MPEG-TS PID ${pid}: its content may probe as video`);
  }
}

interface ProbeWindow {
  /** The payloads FFmpeg probes, in order (empty PES are no packets). */
  payloads: Uint8Array[];
  /** How many of the PID's finished PES were looked at. */
  seen: number;
  /** All PES payload read when the window filled: the packets held back while probing are fewer. */
  heldBack?: number;
}

function takeNewPackets(window: ProbeWindow, done: TsPes[], payloadRead: number): void {
  for (; window.seen < done.length && window.payloads.length < MAX_PROBE_PACKETS; window.seen++) {
    const pes = done[window.seen]!;
    if (NOT_PROBED_STREAM_IDS.has(pes.streamId)) throw new NeedsFfprobe(`MPEG-TS stream id 0x${pes.streamId.toString(16)}, which FFmpeg does not probe`);
    if (pes.payload.byteLength > 0) window.payloads.push(pes.payload);
    if (window.payloads.length === MAX_PROBE_PACKETS) window.heldBack = payloadRead;
  }
  if (window.heldBack !== undefined && window.heldBack >= PROBESIZE) throw new NeedsFfprobe('MPEG-TS: probing may end at probesize');
}

/** A forward-only stream keeps only its first bytes once drained for its size: then ffprobe reads it. */
async function readTailBytes(source: ByteSource, start: number, size: number): Promise<Uint8Array> {
  try {
    return await source.read(start, size - start);
  } catch (error) {
    if (error instanceof SourceError) throw new NeedsFfprobe(`MPEG-TS tail unreadable: ${error.message}`);
    throw error;
  }
}

/**
 * Pictures before the first SPS/PPS (which FFmpeg's parser cannot time) must leave
 * find_stream_info well short of its 7 s per stream when it meets the first parsed one (which the
 * parser hands over two PES later): from the earliest timestamp of any stream to that picture's
 * decode time, under 4 s, so that the audio muxed alongside cannot end the analysis either.
 */
function checkUnparsedSpan(streams: MpegStream[]): void {
  const video = streams.find((stream) => stream.type === 'video');
  if (video?.codec !== 'h264') return;
  const unparsed = h264PicturesBeforeParameterSets(video.head.map((pes) => pes.payload));
  if (!unparsed) return;
  const handedOver = video.head[Math.min(unparsed + 2, video.head.length - 1)]!;
  const starts = streams.map((stream) => stream.head[0]).map((pes) => pes && Math.min(pes.pts ?? Infinity, pes.dts ?? Infinity));
  const span = (handedOver.dts ?? handedOver.pts ?? Infinity) - Math.min(...starts.map((start) => start ?? -Infinity));
  if (!(span <= MAX_UNPARSED_TICKS)) throw new NeedsFfprobe('MPEG-TS: the first parsed H.264 picture comes over 4 s into the streams');
}

/**
 * Frames the head must hold: HEAD_FRAMES until the video's timing can be read, then every frame
 * find_stream_info's longest window may analyse (H.264 pictures before the first SPS/PPS have no
 * duration, so they add to it).
 */
function framesWanted(kind: Kind | undefined, done: PesPacket[]): number {
  if (kind?.type !== 'video' || done.length < HEAD_FRAMES) return HEAD_FRAMES;
  const payloads = done.map((pes) => pes.payload);
  const unparsed = kind.codec === 'h264' ? h264PicturesBeforeParameterSets(payloads) : 0;
  if (unparsed === undefined || done.length < unparsed + 3) return Math.max(HEAD_FRAMES, (unparsed ?? done.length) + 3);
  // The frames' duration from the first ones: the window's frames are checked alike later (mpeg-facts.ts).
  const { packetTicks } = inspectVideo(kind.codec, payloads.slice(0, Math.max(HEAD_FRAMES, unparsed + 3)));
  if (!(packetTicks > 0)) throw new NeedsFfprobe('MPEG stream: video packets without a duration');
  return unparsed + Math.ceil(MAX_ANALYSE_TICKS / packetTicks) + WINDOW_SPARE_FRAMES;
}

function payloadBytes(collector: PesCollector): number {
  let bytes = 0;
  for (const state of collector.pids.values()) for (const pes of state.done) bytes += pes.payload.byteLength;
  return bytes;
}

interface Head {
  bytes: Uint8Array;
  program: TimedProgram;
  collector: PesCollector;
  /** Every packet of the file was collected, and every video frame is kept. */
  wholeFile: boolean;
}

/**
 * Head reads grow until the video stream holds find_stream_info's whole window (or the packets
 * read pass probesize, or the file ends); a window longer than HEAD_LIMIT goes to ffprobe. Video
 * frames past the window, and damage past them, are none of FFmpeg's business: they are dropped.
 */
async function readHead(source: ByteSource, size: number, layout: Layout): Promise<Head> {
  let length = Math.min(size, HEAD_FIRST);
  for (;;) {
    const bytes = await source.read(0, length);
    const whole = bytes.byteLength - (bytes.byteLength % layout.packetSize);
    const usable = bytes.subarray(0, whole);
    const program = timedProgram(findProgram(usable, layout));
    checkNoStrayPes(usable, layout, program);
    const collector = new PesCollector(program.streams.keys());
    const [videoPid, videoKind] = [...program.streams].find(([, kind]) => kind.type === 'video') ?? [];
    const done = videoPid === undefined ? [] : collector.pids.get(videoPid)!.done;
    const stoppedEarly = collectHead(usable, layout, collector, () => done.length >= framesWanted(videoKind, done));
    const atEnd = whole === size && !stoppedEarly;
    if (atEnd) closeLastPes(collector, program, source.name);
    const wanted = framesWanted(videoKind, done);
    const trimmed = done.length > wanted;
    if (trimmed) done.length = wanted;
    if (atEnd || done.length >= wanted || payloadBytes(collector) >= PROBESIZE_COVERED) return { bytes: usable, program, collector, wholeFile: atEnd && !trimmed };
    if (length >= HEAD_LIMIT) throw new NeedsFfprobe(`MPEG-TS: find_stream_info's window (${wanted} video frames) runs past the first ${HEAD_LIMIT} bytes`);
    // Enough for the frames still missing at the rate seen so far, with a margin.
    length = Math.min(size, HEAD_LIMIT, Math.ceil((length * wanted * 1.25) / Math.max(done.length, 1)));
  }
}

/**
 * Collects the head's packets. Damage met once the video holds the window ends the head there
 * (true); before that it goes to ffprobe.
 */
function collectHead(usable: Uint8Array, layout: Layout, collector: PesCollector, windowHeld: () => boolean): boolean {
  try {
    for (const { raw } of packetsIn(usable, layout)) collector.push(parsePacket(raw), raw);
    return false;
  } catch (error) {
    if (error instanceof NeedsFfprobe && windowHeld()) return true;
    throw error;
  }
}

/**
 * At the end of the file FFmpeg hands over each stream's unfinished PES. It is whole only when
 * its declared length is met or, for unbounded video PES, the muxer padded its last packet.
 */
function closeLastPes(collector: PesCollector, program: TimedProgram, name: string): void {
  const open = [...collector.pids].filter(([, state]) => state.open).map(([pid, state]) => ({ pid, state, pes: state.open!, kind: program.streams.get(pid)! }));
  // A cut video picture or AC-3 frame makes the decoder fail; other audio may end quietly.
  const cut = open.find(({ pes, kind }) => pes.declaredLength > 0 && (kind.type === 'video' || kind.codec === 'ac3'));
  if (cut) {
    throw new ProbeError('truncated', `${name}: the file ends ${cut.pes.declaredLength - cut.pes.size} bytes short of a ${cut.pes.declaredLength}-byte PES packet (PID ${cut.pid})`);
  }
  for (const { state, pes, kind } of open) {
    if (pes.declaredLength > 0 || kind.type !== 'video' || !state.stuffedLast) throw new NeedsFfprobe('MPEG-TS file may end inside a PES packet');
    state.done.push(closePes(pes));
    state.open = undefined;
  }
}

/**
 * estimate_timings_from_pts: FFmpeg seeks to `tailStart` (not a packet boundary), resyncs on the
 * next 0x47 byte, and reads every packet to the end. Each PES that starts there, per PID; the
 * last PES of each stream must be whole.
 */
function readTail(tail: Uint8Array, tailStart: number, layout: Layout, program: TimedProgram, name: string): Map<number, TsPes[]> {
  const gridOffset = alignToGrid(tail, tailStart, layout, program);
  const collector = new PesCollector(program.streams.keys());
  for (const { raw } of packetsIn(tail, layout, gridOffset)) {
    const packet = parsePacket(raw);
    if (packet.pid === program.pmtPid && packet.payload && !sameBytes(sectionOf(packet), program.pmt!)) throw new NeedsFfprobe('MPEG-TS PMT changes');
    collector.push(packet, raw);
  }
  closeLastPes(collector, program, name);
  return new Map([...collector.pids].map(([pid, state]) => [pid, state.done]));
}

/**
 * The offset in `tail` of the first packet slot FFmpeg reads on the real grid. read_packet takes
 * 188 bytes wherever it stands; when they do not open with 0x47 it scans on from 188 bytes before
 * its position for the next 0x47. Packets it takes off the grid must not belong to a PID it
 * listens to.
 */
function alignToGrid(tail: Uint8Array, tailStart: number, layout: Layout, program: TimedProgram): number {
  const listened = new Set([PAT_PID, program.pmtPid, ...program.streams.keys()]);
  const onGrid = (at: number) => (tailStart + at - layout.syncAt) % layout.packetSize === 0;
  let at = tail[0] === TS_SYNC ? 0 : tail.indexOf(TS_SYNC);
  for (let falseSyncs = 0; falseSyncs <= MAX_FALSE_SYNCS; falseSyncs++) {
    if (at < 0 || at + TS_BYTES > tail.byteLength) throw new NeedsFfprobe('MPEG-TS tail without sync');
    if (onGrid(at)) {
      if (at < layout.syncAt) throw new NeedsFfprobe('MPEG-TS tail starts inside a packet prefix');
      return at - layout.syncAt;
    }
    if (listened.has(((tail[at + 1]! & 0x1f) << 8) | tail[at + 2]!)) throw new NeedsFfprobe('MPEG-TS tail resync lands on a packet-like byte run');
    const next = at + layout.packetSize;
    at = tail[next] === TS_SYNC ? next : tail.indexOf(TS_SYNC, at + TS_BYTES);
  }
  throw new NeedsFfprobe('MPEG-TS tail resync takes too long');
}
