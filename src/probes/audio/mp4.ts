import { LimitError, ProbeError } from '../../errors.js';
import { NeedsFfprobe } from '../containers/facts.js';
import { fragmentedTimeline } from '../containers/mp4-fragments.js';
import { FILE_LEVEL_BOXES, parseMovie, parseMp4, type Mp4Movie } from '../containers/mp4.js';
import { mayBeAudioStream, trackOpening } from '../containers/mp4-tracks.js';
import { ascii, readExactly, startsWith, u16be, u32be, u64 } from './bytes.js';
import { ALAC_HEADER_BYTES, alacConfigProblem, alacHeaderSamples, parseAlacConfig } from './alac.js';
import { hasLibfaacMarker, settledLayout, type LowRateAac } from './aac-sbr.js';
import { parseAacConfig } from './codec.js';
import { DecoderNeeded, type AudioFacts, type AudioInput } from './facts.js';
import { parseStreamInfo, STREAMINFO_SIZE } from './flac.js';
import { mp4Mime } from './mime.js';
import { opusPacketSamples } from './ogg.js';

/**
 * ISO base media (MP4, M4A, M4B) and QuickTime audio, measured as ffmpeg's mov demuxer and
 * decoders play it: every packet of the first sound track decodes to the codec's frame
 * (1024 for AAC, 1536 for AC-3, its stts duration for FLAC); packets that start after the edit
 * ends are dropped; the edit's media time (or, without an edit list, iTunSMPB's priming for
 * AAC, or libfaac's 1024) is skipped at the start. Opus, DTS and ALAC packets say in their first
 * bytes how much they decode to, so those are read. Sample data the file does not
 * hold is truncation. Codecs whose frame length needs the decoder (HE-AAC, E-AC-3, ...) go to
 * the decoder.
 */

/** Largest moov box read into memory. */
const MAX_MOOV_BYTES = 64 * 1024 * 1024;

export function isMp4(head: Uint8Array): boolean {
  return head.byteLength >= 12 && (startsWith(head, 'ftyp', 4) || ((startsWith(head, 'moov', 4) || startsWith(head, 'mdat', 4)) && u32be(head, 0) >= 8));
}

interface Box {
  type: string;
  /** Payload start and end, as offsets into the buffer the box was read from. */
  body: number;
  end: number;
}

/** The boxes in bytes[start, end); a child that overruns its parent is damage. */
function children(bytes: Uint8Array, start: number, end: number): Box[] {
  const boxes: Box[] = [];
  for (let offset = start; offset + 8 <= end; ) {
    let size = u32be(bytes, offset);
    let header = 8;
    if (size === 1) {
      if (offset + 16 > end) break;
      size = u64(bytes, offset + 8, false);
      header = 16;
    } else if (size === 0) size = end - offset;
    if (size < header || offset + size > end) throw new ProbeError('corrupt_file', `MP4 ${ascii(bytes, offset + 4)} box overruns its parent`);
    boxes.push({ type: ascii(bytes, offset + 4), body: offset + header, end: offset + size });
    offset += size;
  }
  return boxes;
}

const child = (bytes: Uint8Array, parent: Box, type: string) => children(bytes, parent.body, parent.end).find((b) => b.type === type);

function path(bytes: Uint8Array, parent: Box, ...types: string[]): Box | undefined {
  let box: Box | undefined = parent;
  for (const type of types) box = box && child(bytes, box, type);
  return box;
}

export async function readMp4(input: AudioInput): Promise<AudioFacts> {
  const mime = mp4Mime(input.head);
  const size = await input.size();
  const top = await topLevelBoxes(input, size);
  const moovBox = top.find((b) => b.type === 'moov');
  if (!moovBox) throw new ProbeError('truncated', 'MP4 file without a moov box');
  if (moovBox.end - moovBox.body > MAX_MOOV_BYTES) throw new LimitError('limit_exceeded', `MP4 moov box of ${moovBox.end - moovBox.body} bytes`);
  const moov = await readExactly(input.source, moovBox.body, moovBox.end - moovBox.body, 'MP4 moov box');
  const root: Box = { type: 'moov', body: 0, end: moov.byteLength };
  const traks = children(moov, 0, moov.byteLength).filter((b) => b.type === 'trak');
  const index = traks.findIndex((b) => handler(moov, b) === 'soun');
  requireFfprobeStreams(parseMovie(moov, 0), index < 0 ? traks.length : index, mime);
  const trak = traks[index];
  if (!trak) throw new ProbeError('no_audio_stream', 'MP4 file without a sound track');
  const hasMovieExtends = child(moov, root, 'mvex') !== undefined;
  // Fragments without an mvex (another file's, appended) meet track ids and defaults mov.c may not find: it can refuse the file.
  if (!hasMovieExtends && top.some((b) => b.type === 'moof')) throw new DecoderNeeded(mime, 'MP4 moof boxes without an mvex in the moov');
  const fragmented = hasMovieExtends && top.some((b) => b.type === 'moof');
  const track = parseTrack(moov, root, trak, mime, fragmented);
  if (fragmented) {
    checkSampleData(track, size);
    const samples = await fragmentedDecodedSamples(input, moov, root, track, index, mime);
    return { mime, ...track.format, duration: samples / track.format.sampleRate };
  }
  checkSampleData(track, size);
  await resolveSbr(track, mime, () => firstPacket(input, track));
  const perPacket = typeof track.frame === 'object' && 'packets' in track.frame ? await packetSamples(input, chunkRuns(track), track.frame.packets, mime) : undefined;
  const samples = await decodedSamples(input, moov, root, track, mime, perPacket);
  return { mime, ...track.format, duration: samples / track.format.sampleRate };
}

/**
 * ffprobe reads every track, not only the one measured here: damage FFmpeg refuses in any of them
 * (mp4-tracks.ts) fails the file, and damage whose effect is not modelled goes to the decoder, as
 * does a file whose first audio stream may not be the first 'soun' track (`measured`; the track
 * count when there is none), which is the one read here.
 */
function requireFfprobeStreams(movie: Mp4Movie, measured: number, mime: string): void {
  const opening = trackOpening(movie);
  if (opening && 'refused' in opening) throw new ProbeError('corrupt_file', `ffprobe cannot open MP4 ${opening.refused}`);
  if (opening) throw new DecoderNeeded(mime, `MP4 ${opening.unsure}`);
  const earlier = movie.tracks.slice(0, measured).find(mayBeAudioStream);
  if (earlier) throw new DecoderNeeded(mime, `MP4 track ${earlier.index} before the sound track may be audio to FFmpeg`);
  const track = movie.tracks[measured];
  if (track && !mayBeAudioStream(track)) throw new DecoderNeeded(mime, `MP4 sound track ${measured} has a video handler too`);
  // This reader reads a trak's first stts and elst; FFmpeg reads each copy and keeps the last.
  const repeated = track?.anomalies.find((anomaly) => anomaly.repeatedTable);
  if (repeated) throw new DecoderNeeded(mime, `MP4 sound track ${measured} holds its ${repeated.repeatedTable} twice`);
}

/**
 * AAC-LC whose config turns SBR on or off, or at 24 kHz or less leaves it to the first packet
 * (aac-sbr.ts settledLayout): with SBR the track decodes at twice the rate, 2048 samples a packet,
 * and the decoder doubles the container's skip (edit or iTunSMPB). `firstPacket`: the packet the
 * decoder meets first, if it is known.
 */
async function resolveSbr(track: Track, mime: string, firstPacket: () => Promise<Uint8Array | undefined>): Promise<void> {
  const config = typeof track.frame === 'object' && 'fixed' in track.frame ? track.frame.sbr : undefined;
  if (!config) return;
  const layout = settledLayout(config, config.sbr === 'off' ? undefined : await firstPacket());
  if ('unsure' in layout) throw new DecoderNeeded(mime, layout.unsure);
  track.format = { ...track.format, sampleRate: layout.sampleRate, channels: layout.channels };
  track.frame = layout.sbr ? { fixed: layout.frameSamples, skipMultiplier: 2 } : { fixed: layout.frameSamples };
}

/** The packet the decoder meets first: the moov's first sample, else the first fragment's. */
async function firstPacket(input: AudioInput, track: Track, firstFragmentSample?: { offset: number; size: number }): Promise<Uint8Array | undefined> {
  if (track.sampleCount > 0) return input.source.read(chunkRuns(track)[0]!.offset, track.sizes(0));
  return firstFragmentSample && input.source.read(firstFragmentSample.offset, firstFragmentSample.size);
}

/**
 * Top-level boxes; one of a file-level type that runs past the end of the file is truncation.
 * Bytes after the last box that read as a box of another type (junk, another file appended) are
 * an atom FFmpeg skips, as the video reader treats them.
 */
async function topLevelBoxes(input: AudioInput, size: number): Promise<Box[]> {
  const boxes: Box[] = [];
  for (let offset = 0; offset + 8 <= size; ) {
    const header = await readExactly(input.source, offset, Math.min(16, size - offset), 'MP4 box header');
    let boxSize = u32be(header, 0);
    let headerSize = 8;
    if (boxSize === 1) {
      if (header.byteLength < 16) {
        if (boxes.length > 0 && !FILE_LEVEL_BOXES.has(ascii(header, 4))) break;
        throw new ProbeError('truncated', `MP4 box header at byte ${offset} is cut by the end of the file`);
      }
      boxSize = u64(header, 8, false);
      headerSize = 16;
    } else if (boxSize === 0) boxSize = size - offset;
    const type = ascii(header, 4);
    if (boxSize < headerSize) {
      if (boxes.length > 0 && !FILE_LEVEL_BOXES.has(type)) break; // trailing bytes that are not a box
      throw new ProbeError('corrupt_file', `MP4 box '${type}' at byte ${offset} declares ${boxSize} bytes`);
    }
    if (offset + boxSize > size) {
      if (boxes.length > 0 && !FILE_LEVEL_BOXES.has(type)) break;
      throw new ProbeError('truncated', `MP4 ${type} box at byte ${offset} declares ${boxSize} bytes, the file holds ${size - offset}`);
    }
    boxes.push({ type, body: offset + headerSize, end: offset + boxSize });
    offset += boxSize;
  }
  return boxes;
}

function handler(moov: Uint8Array, trak: Box): string | undefined {
  const hdlr = path(moov, trak, 'mdia', 'hdlr');
  return hdlr && hdlr.end - hdlr.body >= 12 ? ascii(moov, hdlr.body + 8) : undefined;
}

interface Format {
  codec: string;
  sampleRate: number;
  channels: number;
  bitDepth: number;
}

/**
 * How many samples the decoder outputs per packet: a fixed frame, the packet's stts duration, or
 * what the packet's own header says.
 */
type FrameLength = AacFrame | 'stts' | { packets: PacketFrames };

/**
 * A fixed frame; for AAC-LC whose config turns SBR on or (at 24 kHz or less) leaves it to the first
 * frame (`sbr`, until resolved) and, with SBR on, the decoder's skip_samples_multiplier.
 */
interface AacFrame {
  fixed: number;
  sbr?: LowRateAac;
  skipMultiplier?: number;
}

/** Codecs whose packets state their decoded length in their first bytes. */
interface PacketFrames {
  /** Bytes needed from the start of each packet. */
  headBytes: number;
  /** Decoded samples of a packet; throws DecoderNeeded for a packet the decoder may treat otherwise. */
  samples(head: Uint8Array, size: number): number;
  /** Samples the codec header asks to skip (Opus pre-skip), which FFmpeg applies through the edit list. */
  declaredSkip: number;
}

interface Track {
  format: Format;
  frame: FrameLength;
  isAac: boolean;
  timescale: number;
  /** stts runs: [count, delta]. */
  stts: [number, number][];
  sampleCount: number;
  sizes: (index: number) => number;
  chunkOffsets: number[];
  /** stsc runs: [first chunk (1-based), samples per chunk]. */
  stsc: [number, number][];
  /** The one normal edit (media time, duration in media units; Infinity if open), if there is an edit list. */
  edit?: { mediaTime: number; duration: number };
}

/** `fragmented`: packets may live in movie fragments, whatever the moov's tables hold. */
function parseTrack(moov: Uint8Array, root: Box, trak: Box, mime: string, fragmented: boolean): Track {
  const mdhd = must(path(moov, trak, 'mdia', 'mdhd'), 'mdhd');
  const stbl = must(path(moov, trak, 'mdia', 'minf', 'stbl'), 'stbl');
  const timescale = u32be(moov, mdhd.body + (moov[mdhd.body] === 1 ? 20 : 12));
  if (timescale === 0) throw new ProbeError('corrupt_file', 'MP4 sound track with a zero timescale');
  const { sampleCount, sizes } = sampleSizes(moov, stbl, mime);
  const { format, frame } = sampleEntry(moov, must(child(moov, stbl, 'stsd'), 'stsd'), mime, sampleCount > 0 || fragmented);
  const stts = table(moov, must(child(moov, stbl, 'stts'), 'stts'), 2) as [number, number][];
  const stco = child(moov, stbl, 'stco');
  const co64 = child(moov, stbl, 'co64');
  const chunkOffsets = stco ? table(moov, stco, 1).map(([o]) => o!) : co64 ? table64(moov, co64) : [];
  const stsc = table(moov, must(child(moov, stbl, 'stsc'), 'stsc'), 3).map(([first, count]) => [first!, count!] as [number, number]);
  const sttsCount = stts.reduce((n, [count]) => n + count, 0);
  // With no samples in the stsz (and no fragments) FFmpeg indexes no packets: the declared duration holds no audio.
  if (!fragmented && sampleCount === 0 && stts.some(([count, delta]) => count > 0 && delta > 0)) {
    throw new ProbeError('truncated', `MP4 stts declares ${sttsCount} samples, the stsz none`);
  }
  if (sttsCount !== sampleCount) throw new ProbeError('corrupt_file', `MP4 stts counts ${sttsCount} samples, stsz ${sampleCount}`);
  const edit = editList(moov, root, trak, timescale, mime);
  return { format, frame, isAac: format.codec === 'aac', timescale, stts, sampleCount, sizes, chunkOffsets, stsc, ...(edit ? { edit } : {}) };
}

function must(box: Box | undefined, name: string): Box {
  if (!box) throw new ProbeError('corrupt_file', `MP4 sound track without its ${name} box`);
  return box;
}

/** A full box's table of `columns` u32 fields per entry, after version/flags and the entry count. */
function table(bytes: Uint8Array, box: Box, columns: number): number[][] {
  const count = u32be(bytes, box.body + 4);
  if (box.body + 8 + count * columns * 4 > box.end) throw new ProbeError('corrupt_file', `MP4 ${box.type} declares ${count} entries past its end`);
  const rows: number[][] = [];
  for (let i = 0, p = box.body + 8; i < count; i++) {
    const row: number[] = [];
    for (let c = 0; c < columns; c++, p += 4) row.push(u32be(bytes, p));
    rows.push(row);
  }
  return rows;
}

function table64(bytes: Uint8Array, box: Box): number[] {
  const count = u32be(bytes, box.body + 4);
  if (box.body + 8 + count * 8 > box.end) throw new ProbeError('corrupt_file', `MP4 co64 declares ${count} entries past its end`);
  return Array.from({ length: count }, (_, i) => u64(bytes, box.body + 8 + i * 8, false));
}

function sampleSizes(moov: Uint8Array, stbl: Box, mime: string): { sampleCount: number; sizes: (index: number) => number } {
  const stsz = child(moov, stbl, 'stsz');
  if (!stsz) throw new DecoderNeeded(mime, 'MP4 track without an stsz box');
  const constant = u32be(moov, stsz.body + 4);
  const sampleCount = u32be(moov, stsz.body + 8);
  if (constant !== 0) return { sampleCount, sizes: () => constant };
  if (stsz.body + 12 + sampleCount * 4 > stsz.end) throw new ProbeError('corrupt_file', `MP4 stsz declares ${sampleCount} samples past its end`);
  return { sampleCount, sizes: (i) => u32be(moov, stsz.body + 12 + i * 4) };
}

/** ffmpeg's handling of audio edit lists covers leading empty edits and one normal edit. */
function editList(moov: Uint8Array, root: Box, trak: Box, timescale: number, mime: string): Track['edit'] {
  const elst = path(moov, trak, 'edts', 'elst');
  if (!elst) return undefined;
  const version = moov[elst.body]!;
  const entry = version === 1 ? 20 : 12;
  const bodySize = elst.end - elst.body - 8;
  if (bodySize < entry) return undefined;
  // mov_read_elst trusts the box size over a count that disagrees with it.
  let count = u32be(moov, elst.body + 4);
  if (count * entry !== bodySize) count = Math.floor(bodySize / entry);
  const edits = Array.from({ length: count }, (_, i) => {
    const p = elst.body + 8 + i * entry;
    return version === 1
      ? { duration: u64(moov, p, false), mediaTime: Number(new DataView(moov.buffer, moov.byteOffset).getBigInt64(p + 8, false)), rate: u32be(moov, p + 16) }
      : { duration: u32be(moov, p), mediaTime: u32be(moov, p + 4) | 0, rate: u32be(moov, p + 8) };
  });
  const normal = edits.filter((e) => e.mediaTime !== -1);
  if (normal.length === 0) return undefined;
  if (normal.length > 1 || edits.indexOf(normal[0]!) !== edits.length - 1 || normal[0]!.rate !== 0x10000 || normal[0]!.mediaTime < 0) {
    throw new DecoderNeeded(mime, 'MP4 edit list with several edits');
  }
  const mvhd = must(child(moov, root, 'mvhd'), 'mvhd');
  const movieScale = u32be(moov, mvhd.body + (moov[mvhd.body] === 1 ? 20 : 12));
  const { duration, mediaTime } = normal[0]!;
  return { mediaTime, duration: duration === 0 || movieScale === 0 ? Infinity : Math.round((duration * timescale) / movieScale) };
}

/** Every sample's bytes must lie within the file: chunk offset plus the sizes of its samples. */
function checkSampleData(track: Track, size: number): void {
  let sample = 0;
  for (let run = 0; run < track.stsc.length && sample < track.sampleCount; run++) {
    const [firstChunk, perChunk] = track.stsc[run]!;
    const lastChunk = run + 1 < track.stsc.length ? track.stsc[run + 1]![0] - 1 : track.chunkOffsets.length;
    for (let chunk = firstChunk; chunk <= lastChunk && sample < track.sampleCount; chunk++) {
      const offset = track.chunkOffsets[chunk - 1];
      if (offset === undefined) throw new ProbeError('corrupt_file', `MP4 stsc refers to chunk ${chunk} of ${track.chunkOffsets.length}`);
      let end = offset;
      for (let i = 0; i < perChunk && sample < track.sampleCount; i++) end += track.sizes(sample++);
      if (end > size) throw new ProbeError('truncated', `MP4 sample data of chunk ${chunk} ends at byte ${end}, the file holds ${size}`);
    }
  }
  if (sample < track.sampleCount) throw new ProbeError('corrupt_file', `MP4 chunks hold ${sample} of ${track.sampleCount} samples`);
}

/**
 * A fragmented file (samples in moof/trun, and maybe in the moov): with advanced_editlist on,
 * FFmpeg 5.1 applies no edit to fragment samples, so every packet decodes, less libfaac's first
 * frame or Opus's pre-skip (which ffmpeg applies by itself there). iTunSMPB priming, an edit list
 * over moov samples or beside packet-coded codecs, overlapping fragments and whatever the fragment
 * replay does not model go to the decoder.
 */
async function fragmentedDecodedSamples(input: AudioInput, moov: Uint8Array, root: Box, track: Track, trackIndex: number, mime: string): Promise<number> {
  if (track.sampleCount > 0 && track.edit) throw new DecoderNeeded(mime, 'fragmented MP4 with an edit over samples in the moov');
  if (track.frame === 'stts') throw new DecoderNeeded(mime, 'fragmented MP4 of a codec whose packets decode to their durations');
  if (track.isAac && iTunesPriming(moov, root) > 0) throw new DecoderNeeded(mime, 'fragmented MP4 with iTunSMPB priming');
  const stream = await fragmentStream(input, trackIndex, mime);
  await resolveSbr(track, mime, () => firstPacket(input, track, stream.firstSample));
  if (stream.overlapping) throw new DecoderNeeded(mime, 'MP4 fragments that overlap in time');
  if ('packets' in track.frame) {
    if (track.edit) throw new DecoderNeeded(mime, 'fragmented MP4 with an edit list beside packet-coded audio');
    const perPacket = await packetSamples(input, [...chunkRuns(track), ...stream.runs], track.frame.packets, mime);
    return Math.max(0, perPacket.reduce((sum, samples) => sum + samples, 0) - track.frame.packets.declaredSkip);
  }
  const output = stream.totalSamples * track.frame.fixed;
  const first = track.isAac && stream.firstSample && (await input.source.read(stream.firstSample.offset, stream.firstSample.size));
  return Math.max(0, output - (first && hasLibfaacMarker(first) ? 1024 : 0));
}

async function fragmentStream(input: AudioInput, trackIndex: number, mime: string) {
  try {
    const file = await parseMp4(input.source);
    if (!file.movie || file.boxesPastEnd.length) throw new ProbeError('truncated', 'MP4 boxes run past the end of the file');
    const timeline = await fragmentedTimeline(file, file.movie, input.source);
    // With several tracks ffmpeg 5.1 decodes such files erratically (few or no frames past the
    // first fragment); a lone track's later fragments are all read and decoded.
    if (timeline.indexedLazily && file.movie.tracks.length > 1) throw new DecoderNeeded(mime, 'MP4 fragments of several tracks read past a complete segment index');
    return timeline.streams[trackIndex]!;
  } catch (error) {
    if (error instanceof NeedsFfprobe) throw new DecoderNeeded(mime, error.message);
    throw error;
  }
}

/** Samples the decoder outputs: packets before the edit's end, less the skip at the start. */
async function decodedSamples(input: AudioInput, moov: Uint8Array, root: Box, track: Track, mime: string, perPacket?: number[]): Promise<number> {
  if (track.sampleCount === 0) return 0;
  if (track.frame === 'stts' && track.timescale !== track.format.sampleRate) {
    throw new DecoderNeeded(mime, `MP4 timescale ${track.timescale} differs from the ${track.format.sampleRate} Hz sample rate`);
  }
  if (perPacket) checkPacketSkip(track, mime);
  // An edit of no stated duration over packets of none: mov.c may flag them for discard (then nothing of them plays).
  if (perPacket && track.edit?.duration === Infinity && track.stts.some(([count, delta]) => count > 0 && delta === 0)) {
    throw new DecoderNeeded(mime, 'MP4 edit and packets of no duration');
  }
  const editEnd = track.edit ? track.edit.mediaTime + track.edit.duration : Infinity;
  let output = 0;
  let start = 0;
  let packet = 0;
  for (const [count, delta] of track.stts) {
    for (let i = 0; i < count && start < editEnd; i++, start += delta, packet++) {
      output += perPacket ? perPacket[packet]! : track.frame === 'stts' ? delta : (track.frame as { fixed: number }).fixed;
    }
  }
  const skip = perPacket && !track.edit ? (track.frame as { packets: PacketFrames }).packets.declaredSkip : (await startSkip(input, moov, root, track)) * ((track.frame as AacFrame).skipMultiplier ?? 1);
  return Math.max(0, output - skip);
}

/**
 * The edit's media time is skipped in decoder samples only when the timescale is the decoder's
 * rate and the skip ends inside the first packet (FFmpeg drops whole packets before that). Opus's
 * pre-skip is applied once: without an edit by itself, with one only when the edit says the same
 * (another edit goes to ffprobe).
 */
function checkPacketSkip(track: Track, mime: string): void {
  if (!track.edit) return;
  const skip = track.edit.mediaTime;
  const { declaredSkip } = (track.frame as { packets: PacketFrames }).packets;
  if (declaredSkip !== skip) throw new DecoderNeeded(mime, `MP4 codec pre-skip ${declaredSkip} and edit media time ${skip} differ`);
  if (skip > 0 && (track.timescale !== track.format.sampleRate || skip >= track.stts[0]![1])) {
    throw new DecoderNeeded(mime, `MP4 edit media time ${skip} beyond the first packet or in another timescale`);
  }
}

/** Bytes past which one read per run of samples gives way to one read per packet. */
const MAX_CHUNK_READ = 4 * 1024 * 1024;
/** Packets read at most; longer tracks go to the decoder. */
const MAX_PACKETS = 200_000;

/** Samples stored back to back: where the first starts and each one's size. */
interface SampleRun {
  offset: number;
  sizes: number[];
}

/** The moov's chunks as runs of samples (stsc over stco). */
function chunkRuns(track: Track): SampleRun[] {
  const runs: SampleRun[] = [];
  let sample = 0;
  for (let run = 0; run < track.stsc.length && sample < track.sampleCount; run++) {
    const [firstChunk, perChunk] = track.stsc[run]!;
    const lastChunk = run + 1 < track.stsc.length ? track.stsc[run + 1]![0] - 1 : track.chunkOffsets.length;
    for (let chunk = firstChunk; chunk <= lastChunk && sample < track.sampleCount; chunk++) {
      const sizes = Array.from({ length: Math.min(perChunk, track.sampleCount - sample) }, (_, i) => track.sizes(sample + i));
      runs.push({ offset: track.chunkOffsets[chunk - 1]!, sizes });
      sample += sizes.length;
    }
  }
  return runs;
}

/** Each packet's decoded length, from its first bytes (read a run at a time where runs are small). */
async function packetSamples(input: AudioInput, runs: SampleRun[], frames: PacketFrames, mime: string): Promise<number[]> {
  const count = runs.reduce((sum, run) => sum + run.sizes.length, 0);
  if (count > MAX_PACKETS) throw new DecoderNeeded(mime, `MP4 track of ${count} packets`);
  const out: number[] = [];
  for (const { offset, sizes } of runs) {
    const span = sizes.reduce((sum, size) => sum + size, 0);
    const whole = span <= MAX_CHUNK_READ ? await input.source.read(offset, span) : undefined;
    let at = 0;
    for (const size of sizes) {
      const head = whole ? whole.subarray(at, at + Math.min(size, frames.headBytes)) : await input.source.read(offset + at, Math.min(size, frames.headBytes));
      out.push(frames.samples(head, size));
      at += size;
    }
  }
  return out;
}

/** mov.c: the edit's media time; without an edit, iTunSMPB's priming for AAC; else libfaac's first frame. */
async function startSkip(input: AudioInput, moov: Uint8Array, root: Box, track: Track): Promise<number> {
  if (track.edit && track.edit.mediaTime > 0) return track.edit.mediaTime;
  if (!track.isAac) return 0;
  const priming = track.edit ? 0 : iTunesPriming(moov, root);
  if (priming > 0) return priming;
  const first = await input.source.read(track.chunkOffsets[0]!, track.sizes(0));
  return hasLibfaacMarker(first) ? 1024 : 0;
}

/** The priming field of an iTunSMPB tag (moov/udta/meta/ilst/----), as mov.c reads it. */
function iTunesPriming(moov: Uint8Array, root: Box): number {
  const meta = path(moov, root, 'udta', 'meta');
  if (!meta) return 0;
  const fullBox = !startsWith(moov, 'hdlr', meta.body + 4);
  const ilst = children(moov, meta.body + (fullBox ? 4 : 0), meta.end).find((b) => b.type === 'ilst');
  for (const item of ilst ? children(moov, ilst.body, ilst.end) : []) {
    if (item.type !== '----') continue;
    const parts = children(moov, item.body, item.end);
    const name = parts.find((b) => b.type === 'name');
    const data = parts.find((b) => b.type === 'data');
    if (!name || !data || ascii(moov, name.body + 4, name.end - name.body - 4) !== 'iTunSMPB') continue;
    const fields = ascii(moov, data.body + 8, data.end - data.body - 8).trim().split(/\s+/);
    const priming = parseInt(fields[1] ?? '', 16);
    return priming > 0 && priming < 16384 && fields.length >= 4 ? priming : 0;
  }
  return 0;
}

/**
 * The first sample entry: the codec, its parameters and how much each packet decodes to.
 * `decoded`: whether there are packets, which the decoder may reconfigure the stream from.
 */
function sampleEntry(moov: Uint8Array, stsd: Box, mime: string, decoded: boolean): { format: Format; frame: FrameLength } {
  if (u32be(moov, stsd.body + 4) !== 1 && decoded) throw new DecoderNeeded(mime, 'MP4 sound track with several sample descriptions');
  const [entry] = children(moov, stsd.body + 8, stsd.end);
  if (!entry || entry.end - entry.body < 28) throw new ProbeError('corrupt_file', 'MP4 sound track without a sample description');
  const version = u16be(moov, entry.body + 8);
  const boxesStart = entry.body + (version === 1 ? 44 : version === 2 ? 64 : 28);
  const boxes = children(moov, Math.min(boxesStart, entry.end), entry.end);
  const type = entry.type === 'enca' ? originalFormat(moov, boxes) : entry.type;
  const find = (name: string) => boxes.find((b) => b.type === name) ?? nestedInWave(moov, boxes, name);
  switch (type) {
    case 'mp4a':
      return aacFormat(moov, find('esds'), mime, decoded);
    case 'ac-3':
      return ac3Format(moov, find('dac3'), mime);
    case 'alac':
      return alacFormat(moov, find('alac'), mime);
    case 'fLaC':
      return flacFormat(moov, find('dfLa'), mime);
    case 'Opus':
      return opusFormat(moov, find('dOps'), mime);
    case 'dtsc':
      return dtsFormat(mime);
    default:
      throw new DecoderNeeded(mime, `MP4 audio sample entry '${type}'`);
  }
}

function originalFormat(moov: Uint8Array, boxes: Box[]): string {
  const sinf = boxes.find((b) => b.type === 'sinf');
  const frma = sinf && child(moov, sinf, 'frma');
  return frma ? ascii(moov, frma.body) : 'enca';
}

/** QuickTime sound descriptions (v1) keep codec boxes inside a 'wave' box. */
function nestedInWave(moov: Uint8Array, boxes: Box[], name: string): Box | undefined {
  const wave = boxes.find((b) => b.type === 'wave');
  return wave && child(moov, wave, name);
}

function aacFormat(moov: Uint8Array, esds: Box | undefined, mime: string, decoded: boolean): { format: Format; frame: FrameLength } {
  const config = esds && decoderConfig(moov.subarray(esds.body + 4, esds.end));
  if (config?.objectType === DTS_OBJECT_TYPE) return dtsFormat(mime);
  if (!config?.specific || config.objectType !== 0x40 && !(config.objectType >= 0x66 && config.objectType <= 0x68)) {
    throw new DecoderNeeded(mime, `MP4 mp4a with object type 0x${config?.objectType.toString(16) ?? '?'}`);
  }
  const asc = parseAudioSpecificConfig(config.specific, mime, decoded);
  const frame = asc.sbr ? { fixed: 1024, sbr: asc.sbr } : { fixed: 1024 };
  return { format: { codec: 'aac', sampleRate: asc.sampleRate, channels: asc.channels, bitDepth: 32 }, frame };
}

/** The DecoderConfigDescriptor in an ES_Descriptor: object type and DecoderSpecificInfo. */
function decoderConfig(es: Uint8Array): { objectType: number; specific?: Uint8Array } | undefined {
  let p = 0;
  const descriptor = (tag: number): number | undefined => {
    if (es[p] !== tag) return undefined;
    p++;
    let length = 0;
    for (let i = 0; i < 4; i++) {
      const b = es[p++];
      if (b === undefined) return undefined;
      length = (length << 7) | (b & 0x7f);
      if (!(b & 0x80)) break;
    }
    return length;
  };
  if (descriptor(3) === undefined) return undefined;
  const flags = es[p + 2] ?? 0; // after ES_ID: stream dependence, URL and OCR stream flags
  p += 3 + (flags & 0x80 ? 2 : 0);
  if (flags & 0x40) p += 1 + (es[p] ?? 0);
  if (flags & 0x20) p += 2;
  if (descriptor(4) === undefined) return undefined;
  const objectType = es[p]!;
  p += 13;
  const length = descriptor(5);
  if (length === undefined || p + length > es.byteLength) return { objectType };
  return { objectType, specific: es.subarray(p, p + length) };
}

/** The AudioSpecificConfig as codec.ts reads it; what it cannot measure goes to the decoder. */
function parseAudioSpecificConfig(asc: Uint8Array, mime: string, decoded: boolean): { sampleRate: number; channels: number; sbr?: LowRateAac } {
  const config = parseAacConfig(asc, decoded);
  if ('corrupt' in config) throw new ProbeError('corrupt_file', config.corrupt);
  if ('decoderNeeded' in config) {
    if (config.sbr) return { sampleRate: config.sbr.sampleRate, channels: config.sbr.channelConfig, sbr: config.sbr };
    throw new DecoderNeeded(mime, config.decoderNeeded);
  }
  return config;
}

const AC3_RATES = [48000, 44100, 32000];
const AC3_CHANNELS = [2, 1, 2, 3, 3, 4, 4, 5];

function ac3Format(moov: Uint8Array, dac3: Box | undefined, mime: string): { format: Format; frame: FrameLength } {
  if (!dac3 || dac3.end - dac3.body < 3) throw new DecoderNeeded(mime, 'AC-3 without a dac3 box');
  const bits = (moov[dac3.body]! << 16) | (moov[dac3.body + 1]! << 8) | moov[dac3.body + 2]!;
  const sampleRate = AC3_RATES[bits >> 22];
  if (!sampleRate) throw new ProbeError('corrupt_file', 'AC-3 dac3 with a reserved sample rate code');
  const channels = AC3_CHANNELS[(bits >> 11) & 7]! + ((bits >> 10) & 1);
  return { format: { codec: 'ac3', sampleRate, channels, bitDepth: 32 }, frame: { fixed: 1536 } };
}

/** ALACSpecificConfig (after the alac box's version and flags): bit depth, channels, sample rate. */
function alacFormat(moov: Uint8Array, alac: Box | undefined, mime: string): { format: Format; frame: FrameLength } {
  const config = alac && parseAlacConfig(moov.subarray(alac.body + 4, alac.end));
  if (!config) throw new DecoderNeeded(mime, 'ALAC without its configuration');
  if (!config.bitDepth || !config.channels || !config.sampleRate) throw new ProbeError('corrupt_file', 'invalid ALAC configuration');
  const problem = alacConfigProblem(config);
  if (problem) throw new DecoderNeeded(mime, problem);
  // The decoder plays what each frame states, whatever the stts says (remuxed files' stts follow their source's timestamps).
  const packets: PacketFrames = {
    headBytes: ALAC_HEADER_BYTES,
    samples: (head) => {
      const samples = alacHeaderSamples(head, config);
      if (samples === undefined) throw new DecoderNeeded(mime, 'an ALAC packet the decoder may reject');
      return samples;
    },
    declaredSkip: 0,
  };
  return { format: { codec: 'alac', bitDepth: config.bitDepth, channels: config.channels, sampleRate: config.sampleRate }, frame: { packets } };
}

/** dfLa: FLAC metadata blocks, STREAMINFO first. */
function flacFormat(moov: Uint8Array, dfLa: Box | undefined, mime: string): { format: Format; frame: FrameLength } {
  if (!dfLa || dfLa.end - dfLa.body < 8 + STREAMINFO_SIZE || (moov[dfLa.body + 4]! & 0x7f) !== 0) {
    throw new DecoderNeeded(mime, 'FLAC in MP4 without its STREAMINFO');
  }
  const info = parseStreamInfo(moov.subarray(dfLa.body + 8, dfLa.body + 8 + STREAMINFO_SIZE));
  return { format: { codec: 'flac', sampleRate: info.sampleRate, channels: info.channels, bitDepth: info.bitsPerSample }, frame: 'stts' };
}

/** dOps (OpusSpecificBox): channels and pre-skip; the decoder always plays 48 kHz. Mapping family 0 only. */
function opusFormat(moov: Uint8Array, dOps: Box | undefined, mime: string): { format: Format; frame: FrameLength } {
  if (!dOps || dOps.end - dOps.body < 11 || moov[dOps.body] !== 0) throw new DecoderNeeded(mime, 'Opus in MP4 without a version 0 dOps box');
  const channels = moov[dOps.body + 1]!;
  if (moov[dOps.body + 10] !== 0 || channels < 1 || channels > 2) throw new DecoderNeeded(mime, `Opus with ${channels} channels or a channel mapping`);
  const packets: PacketFrames = {
    headBytes: 2,
    samples: (head) => {
      if (head.byteLength === 0) throw new DecoderNeeded(mime, 'an empty Opus packet');
      return opusPacketSamples(head);
    },
    declaredSkip: u16be(moov, dOps.body + 2),
  };
  return { format: { codec: 'opus', sampleRate: 48000, channels, bitDepth: 32 }, frame: { packets } };
}

/** MPEG-4 objectTypeIndication FFmpeg maps to DTS (ff_mp4_obj_type). */
const DTS_OBJECT_TYPE = 0xa9;
const DTS_CORE_SYNC = 0x7ffe8001;
const DTS_RATES = [0, 8000, 16000, 32000, 0, 0, 11025, 22050, 44100, 0, 0, 12000, 24000, 48000, 0, 0];
/** Audio modes taken here: mono and stereo (others map to layouts the decoder decides). */
const DTS_CHANNELS: Record<number, number> = { 0: 1, 2: 2 };

/**
 * DTS core audio: every packet must be one plain core frame (16-bit big-endian sync, no
 * extension substream, no core extension, a header FFmpeg's ff_dca_parse_core_frame_header
 * accepts), decoding to its PCM blocks x 32 samples. Rate and channels come from the frames,
 * which must all agree.
 */
function dtsFormat(mime: string): { format: Format; frame: FrameLength } {
  const format: Format = { codec: 'dts', sampleRate: 0, channels: 0, bitDepth: 32 };
  const packets: PacketFrames = {
    headBytes: 12,
    samples: (head, size) => {
      const frame = dtsCoreHeader(head, mime);
      if (frame.size !== size) throw new DecoderNeeded(mime, `DTS packet of ${size} bytes holds a ${frame.size}-byte core frame`);
      if (format.sampleRate === 0) Object.assign(format, { sampleRate: frame.sampleRate, channels: frame.channels });
      if (frame.sampleRate !== format.sampleRate || frame.channels !== format.channels) throw new DecoderNeeded(mime, 'DTS frames change rate or channels');
      return frame.samples;
    },
    declaredSkip: 0,
  };
  return { format, frame: { packets } };
}

function dtsCoreHeader(head: Uint8Array, mime: string): { samples: number; size: number; sampleRate: number; channels: number } {
  if (head.byteLength < 12 || u32be(head, 0) !== DTS_CORE_SYNC) throw new DecoderNeeded(mime, 'DTS packet without a big-endian core sync word');
  let bit = 32;
  const read = (n: number) => {
    let value = 0;
    for (let i = 0; i < n; i++, bit++) value = value * 2 + ((head[bit >> 3]! >> (7 - (bit & 7))) & 1);
    return value;
  };
  read(1); // frame type
  const deficit = read(5) + 1;
  read(1); // CRC present
  const blocks = read(7) + 1;
  const size = read(14) + 1;
  const mode = read(6);
  const sampleRate = DTS_RATES[read(4)]!;
  read(5); // bit rate
  const reserved = read(1);
  read(4); // dynamic range, time stamp, auxiliary data, HDCD
  read(3); // extension audio type
  const extension = read(1);
  read(1); // audio sync word insertion
  const lfe = read(2);
  const channels = DTS_CHANNELS[mode];
  if (deficit !== 32 || blocks % 8 !== 0 || size < 96 || !sampleRate || reserved || lfe === 3) throw new DecoderNeeded(mime, 'a DTS core header FFmpeg refuses');
  if (extension || channels === undefined) throw new DecoderNeeded(mime, `DTS core with audio mode ${mode} or an extension`);
  return { samples: blocks * 32, size, sampleRate, channels: channels + (lfe ? 1 : 0) };
}
