/**
 * The timing FFmpeg 5.1's mov demuxer gives the streams of a fragmented MP4 (a moov with mvex,
 * samples in moof/traf/trun fragments), replayed from the parsed boxes:
 *
 * - mov_read_header reads the top-level boxes in order until it has a moov and an mdat and, when
 *   a sidx indexes the whole file ("complete"), stops there; otherwise it reads every fragment.
 * - each trun appends samples from a dts taken from the traf's tfdt (use_tfdt is on by default),
 *   else the sidx time of that fragment, else where the track ended; the stream duration grows to
 *   the end of the last trun (mov_read_trun), and a sidx sets it to the indexed total.
 * - avg_frame_rate is samples over their durations, counted over the stts and the truns read in
 *   the header (mov_read_header), and a trex makes FFmpeg drop the mvhd duration, so the format
 *   duration is avformat's update_stream_timings over the streams' start times and durations.
 *
 * Whatever this does not model exactly (text or data tracks, several edits, negative offsets in
 * the moov, fragments the probe may or may not reach) raises NeedsFfprobe.
 */
import { ProbeError, SourceError } from '../../errors.js';
import type { ByteSource } from '../../sources/source.js';
import { NeedsFfprobe } from './facts.js';
import type { Mp4File, Mp4Movie, Mp4MovieFragment, Mp4SegmentIndex, Mp4TimeToSample, Mp4Track, Mp4TrackExtends, Mp4TrackFragment, Mp4TrackRun } from './mp4.js';
import { avReduce, avRescale, type Rational } from './rational.js';

/** One stream's timing as FFmpeg leaves it after reading the header and probing. */
export interface StreamTiming {
  track: Mp4Track;
  timescale: number;
  /** st->duration in media units. */
  duration: number;
  /** avg_frame_rate as mov_read_header sets it; undefined when it sets none. */
  avgFrameRate?: Rational;
  /** st->nb_frames: the moov's stts samples (fragments do not count). */
  frameCount: number;
  /** Samples in the moov and every fragment. */
  totalSamples: number;
  /** Sample durations in decode order, run-length coded (for the frame-rate mode). */
  durations: Mp4TimeToSample[];
  /** The first sample's place in the file. */
  firstSample?: { offset: number; size: number };
  /** Some run starts at or before the previous run's last dts: FFmpeg discards those frames after decoding. */
  overlapping: boolean;
  /** The fragments' runs in file order: where each starts and its sample sizes. */
  runs: { offset: number; sizes: number[] }[];
}

export interface FragmentedTimeline {
  streams: StreamTiming[];
  /** A complete sidx ended the header early: later fragments are read only as packets are. */
  indexedLazily: boolean;
  /** format.duration in seconds; undefined when ffprobe prints none. */
  formatDuration?: number;
}

/** Top-level boxes mov_read_default has a parser for, after which it checks whether to stop. */
const PARSED_TOP_LEVEL = new Set(['ftyp', 'moov', 'moof', 'mdat', 'sidx', 'free', 'uuid', 'udta', 'meta', 'pssh', 'wide']);
const INT_MAX = 2 ** 31 - 1;
const MOV_TFHD_DEFAULT_BASE_IS_MOOF = 0x20000;

/** A stream while the boxes are replayed (MOVStreamContext fields). */
interface StreamState extends StreamTiming {
  trackEnd: number;
  timeOffset: number;
  framesForFps: number;
  durationForFps: number;
  hasSegmentIndex: boolean;
  /** sc->dts_shift: the largest negative composition offset met, added to every pts. */
  dtsShift: number;
  /** The first sample's dts and composition offset; its pts is taken when the probe reads it. */
  firstDecode?: { dts: number; compositionOffset: number };
  /** The first sample was met only in a fragment read after the header. */
  firstSampleLate: boolean;
  lastDts?: number;
}

export async function fragmentedTimeline(file: Mp4File, movie: Mp4Movie, source: ByteSource): Promise<FragmentedTimeline> {
  if (movie.trackExtends.length === 0) throw new NeedsFfprobe('movie fragments without track extends defaults');
  if (file.fragmentsUnread) throw new NeedsFfprobe('more or larger movie fragments than read in-process');
  // iTunSMPB gives AAC a start padding that moves its start time (mov_read_custom).
  if (movie.hasGaplessInfo && movie.tracks.some(isAacTrack)) throw new NeedsFfprobe('AAC with iTunSMPB gapless info in a fragmented file');
  const movieTimescale = movie.header ? Math.max(movie.header.timescale, 1) : 0;
  const streams = movie.tracks.map((track) => initialState(track, movieTimescale));
  const replay = new Replay(file, movie, streams, source);
  await replay.run();
  for (const stream of streams) {
    if (stream.firstSampleLate) throw new NeedsFfprobe(`track ${stream.track.index}: its first sample lies past the fragments read with the header`);
    if (stream.framesForFps > 0 && stream.durationForFps > 0) {
      stream.avgFrameRate = avReduce(BigInt(stream.timescale) * BigInt(stream.framesForFps), stream.durationForFps);
    }
  }
  return { streams, indexedLazily: replay.headerEndedEarly, formatDuration: formatDuration(streams) };
}

/** The stream as the moov leaves it: mdhd duration, stts samples, and the edit list's offset (mov_build_index). */
function initialState(track: Mp4Track, movieTimescale: number): StreamState {
  const kind = track.handlers.includes('vide') ? 'video' : track.handlers.includes('soun') ? 'audio' : 'other';
  if (kind === 'other') throw new NeedsFfprobe(`track ${track.index} is neither audio nor video`);
  if (!track.media || track.media.timescale <= 0) throw new NeedsFfprobe(`track ${track.index}: no usable media timescale`);
  const timescale = track.media.timescale;
  let samples = 0;
  let sampleDuration = 0;
  for (const entry of track.timeToSample) {
    samples += entry.count;
    sampleDuration += entry.count * entry.delta;
  }
  const timeOffset = editOffset(track, movieTimescale);
  if (samples > 0 && track.editList?.length) throw new NeedsFfprobe(`track ${track.index}: an edit list over moov samples and fragments`);
  if (track.compositionOffsets?.anyNegative) throw new NeedsFfprobe(`track ${track.index}: negative composition offsets`);
  const chunk = track.chunkOffsets[0];
  const firstSize = track.sampleSize.constant || track.sampleSize.sizes?.[0];
  return {
    track,
    timescale,
    duration: sampleDuration ? Math.min(track.media.duration, sampleDuration) : track.media.duration,
    frameCount: samples,
    totalSamples: samples,
    durations: track.timeToSample.filter((entry) => entry.count > 0).map((entry) => ({ ...entry })),
    firstSample: samples > 0 && chunk !== undefined && firstSize !== undefined ? { offset: chunk, size: firstSize } : undefined,
    trackEnd: sampleDuration,
    timeOffset,
    framesForFps: sampleDuration > 0 ? samples : 0,
    durationForFps: sampleDuration > 0 ? sampleDuration : 0,
    hasSegmentIndex: false,
    dtsShift: 0,
    overlapping: false,
    runs: [],
    firstDecode: samples > 0 ? { dts: 0, compositionOffset: track.compositionOffsets?.first ?? 0 } : undefined,
    firstSampleLate: false,
  };
}

/**
 * mov_build_index: a leading empty edit and the first edit's media time offset the track's
 * timestamps (only when the movie has a timescale). With advanced_editlist on (the default) the
 * media time sets no AAC start padding, so an audio stream then starts before zero.
 */
function editOffset(track: Mp4Track, movieTimescale: number): number {
  const edits = track.editList ?? [];
  let emptyDuration = 0;
  let startTime = 0;
  let editStart = 0;
  edits.forEach((edit, i) => {
    if (i === 0 && edit.mediaTime === -1) {
      emptyDuration = edit.duration;
      editStart = 1;
    } else if (i === editStart && edit.mediaTime >= 0) startTime = edit.mediaTime;
    else throw new NeedsFfprobe(`track ${track.index}: several edits`);
  });
  if ((!emptyDuration && !startTime) || movieTimescale <= 0) return 0;
  const empty = emptyDuration ? Number(avRescale(emptyDuration, track.media!.timescale, movieTimescale)) : 0;
  return startTime - empty;
}

function isAacTrack(track: Mp4Track): boolean {
  const format = track.sampleEntries[0]?.format;
  return format === 'mp4a' || format === 'enca';
}

/** Replays mov_read_default over the top-level boxes, then the fragments read while probing. */
class Replay {
  private foundMoov = false;
  private foundMdat = false;
  private complete = false;
  private headerDone = false;
  /** Set once the header stopped before the last box. */
  headerEndedEarly = false;
  /** sidx times by fragment offset and track index (MOVFragmentStreamInfo.sidx_pts). */
  private readonly segmentTimes = new Map<number, Map<number, number>>();
  private mfraSize?: number;

  constructor(
    private readonly file: Mp4File,
    private readonly movie: Mp4Movie,
    private readonly streams: StreamState[],
    private readonly source: ByteSource,
  ) {}

  async run(): Promise<void> {
    for (const box of this.file.boxes) {
      if (box.type === 'moov') this.foundMoov = true;
      else if (box.type === 'mdat' && box.size > box.headerSize) this.foundMdat = true;
      else if (box.type === 'sidx') await this.segmentIndex(box.segmentIndex, box.start + box.size);
      else if (box.type === 'moof') this.movieFragment(box.fragment!);
      if (!this.headerDone && PARSED_TOP_LEVEL.has(box.type) && this.foundMoov && this.foundMdat && this.complete) this.headerDone = true;
      else if (this.headerDone) this.headerEndedEarly = true;
    }
  }

  /** mov_read_sidx. */
  private async segmentIndex(index: Mp4SegmentIndex | undefined, end: number): Promise<void> {
    if (!this.foundMoov) return;
    if (this.headerDone) throw new NeedsFfprobe('a segment index read while probing packets');
    if (!index) throw new NeedsFfprobe('unreadable or oversized segment index');
    if (index.version > 1) return;
    const stream = this.streamOf(index.referenceId);
    if (!stream) return;
    if (index.timescale <= 0 || index.timescale > INT_MAX || index.references.length === 0 || index.references.some((ref) => ref.type === 1)) {
      throw new NeedsFfprobe('a segment index FFmpeg refuses');
    }
    let offset = end + index.firstOffset;
    let pts = index.earliestPresentationTime;
    for (const reference of index.references) {
      const times = this.segmentTimes.get(offset) ?? new Map<number, number>();
      times.set(stream.track.index, Number(avRescale(pts, stream.timescale, index.timescale)));
      this.segmentTimes.set(offset, times);
      offset += reference.size;
      pts += reference.duration;
    }
    // An index of bytes the file does not hold describes a longer file than this one.
    if (offset > this.file.fileSize) {
      throw new ProbeError('truncated', `a segment index covers bytes up to ${offset}, the file holds ${this.file.fileSize}`);
    }
    // FFmpeg stores the indexed end in the sidx timescale as the stream duration, as is.
    stream.duration = stream.trackEnd = pts;
    stream.hasSegmentIndex = true;
    if (offset === this.file.fileSize || offset === this.file.fileSize - (await this.trailingMfraSize())) this.markComplete();
  }

  /** A complete index: streams it does not cover take the first indexed stream's duration. */
  private markComplete(): void {
    const firstOffset = Math.min(...this.segmentTimes.keys());
    const reference = this.streams.find((stream) => this.segmentTimes.get(firstOffset)!.has(stream.track.index))!;
    for (const stream of this.streams) {
      if (stream.hasSegmentIndex) continue;
      stream.duration = stream.trackEnd = Number(avRescale(reference.duration, stream.timescale, reference.timescale));
    }
    this.complete = true;
  }

  /** The last 32-bit word of the file, which FFmpeg takes as an mfra size (mfro). */
  private async trailingMfraSize(): Promise<number> {
    if (this.mfraSize === undefined) {
      // A forward-only stream may no longer hold its tail.
      const tail = await this.source.read(this.file.fileSize - 4, 4).catch((error: unknown) => {
        if (error instanceof SourceError) return new Uint8Array();
        throw error;
      });
      if (tail.byteLength !== 4) throw new NeedsFfprobe('the last bytes of the file cannot be read again');
      this.mfraSize = new DataView(tail.buffer, tail.byteOffset, 4).getUint32(0);
    }
    return this.mfraSize;
  }

  /** mov_read_moof and its trafs. */
  private movieFragment(fragment: Mp4MovieFragment): void {
    if (!this.foundMoov) throw new NeedsFfprobe('a movie fragment before the movie box');
    if (fragment.anomalies.length) throw new NeedsFfprobe(`movie fragment at ${fragment.offset}: ${fragment.anomalies.join('; ')}`);
    let implicitOffset = fragment.offset;
    const decodeTimes = new Map<StreamState, number>();
    for (const traf of fragment.trafs) {
      const { stream, defaults } = this.trackFragmentTarget(traf);
      let nextDts: number | undefined;
      if (traf.decodeTime !== undefined) {
        decodeTimes.set(stream, traf.decodeTime);
        stream.trackEnd = traf.decodeTime;
        if (traf.runs.length === 0) throw new NeedsFfprobe('a track fragment with a decode time and no samples');
      }
      // FFmpeg starts every run at the traf's base plus its own data offset (0 when absent).
      const base = traf.baseDataOffset ?? (traf.flags & MOV_TFHD_DEFAULT_BASE_IS_MOOF ? fragment.offset : implicitOffset);
      for (const run of traf.runs) {
        if (run.sampleCount === 0) continue;
        const runBase = nextDts ?? decodeTimes.get(stream) ?? this.segmentTimes.get(fragment.offset)?.get(stream.track.index) ?? stream.trackEnd;
        const end = this.trackRun(stream, run, runBase - stream.timeOffset, base + (run.dataOffset ?? 0), defaults);
        nextDts = end.dts + stream.timeOffset;
        implicitOffset = end.offset;
      }
    }
  }

  /** The stream a traf belongs to and the sample defaults it carries (mov_read_tfhd). */
  private trackFragmentTarget(traf: Mp4TrackFragment): { stream: StreamState; defaults: { duration: number; size: number } } {
    const trex: Mp4TrackExtends | undefined = this.movie.trackExtends.find((entry) => entry.trackId === traf.trackId);
    const stream = this.streamOf(traf.trackId);
    if (!traf.trackId || !trex || !stream) throw new NeedsFfprobe(`a track fragment for track id ${traf.trackId}, which the movie does not extend`);
    const descriptionIndex = traf.sampleDescriptionIndex ?? trex.sampleDescriptionIndex;
    // FFmpeg keeps only samples of the last sample description (its pseudo_stream_id).
    if (descriptionIndex !== stream.track.sampleEntries.length) throw new NeedsFfprobe(`track ${stream.track.index}: fragments use sample description ${descriptionIndex}`);
    return { stream, defaults: { duration: traf.defaultDuration ?? trex.duration, size: traf.defaultSize ?? trex.size } };
  }

  /** mov_read_trun: appends the run's samples; returns where its time and data end. */
  private trackRun(stream: StreamState, run: Mp4TrackRun, firstDts: number, firstOffset: number, defaults: { duration: number; size: number }): { dts: number; offset: number } {
    // Samples at or before the previous run's last dts only get discarded after decoding
    // (AVINDEX_DISCARD_FRAME): they still count for the rate and the duration takes the maximum.
    if (stream.lastDts !== undefined && stream.lastDts >= firstDts) stream.overlapping = true;
    let dts = firstDts;
    let offset = firstOffset;
    let runDuration = 0;
    const sizes: number[] = [];
    for (let i = 0; i < run.sampleCount; i++) {
      const duration = run.durations?.[i] ?? defaults.duration;
      const size = run.sizes?.[i] ?? defaults.size;
      const compositionOffset = run.compositionOffsets?.[i] ?? 0;
      if (size === 0) throw new NeedsFfprobe('a fragment sample of zero bytes');
      if (compositionOffset === -(2 ** 31)) throw new NeedsFfprobe('a composition offset of INT_MIN');
      // mov_update_dts_shift; fragments read while probing come after the first packet's pts is taken.
      if (!this.headerDone) stream.dtsShift = Math.max(stream.dtsShift, -compositionOffset);
      if (stream.totalSamples === 0) {
        stream.firstDecode = { dts, compositionOffset };
        stream.firstSample = { offset, size };
        stream.firstSampleLate = this.headerDone;
      }
      stream.totalSamples++;
      appendDuration(stream.durations, duration);
      stream.lastDts = dts;
      sizes.push(size);
      dts += duration;
      offset += size;
      runDuration += duration;
    }
    stream.runs.push({ offset: firstOffset, sizes });
    if (offset > this.file.fileSize) {
      throw new ProbeError('truncated', `track ${stream.track.index}: a fragment places samples up to byte ${offset}, the file has ${this.file.fileSize} bytes`);
    }
    if (!this.headerDone) {
      stream.framesForFps += run.sampleCount;
      stream.durationForFps += runDuration;
    }
    stream.trackEnd = dts + stream.timeOffset;
    if (stream.trackEnd > stream.duration) {
      // Read while probing packets, a later fragment would lengthen the stream only if the probe got that far.
      if (this.headerDone) throw new NeedsFfprobe(`track ${stream.track.index}: fragments past the indexed duration`);
      stream.duration = stream.trackEnd;
    }
    return { dts, offset };
  }

  private streamOf(trackId: number): StreamState | undefined {
    return this.streams.find((stream) => stream.track.header?.trackId === trackId);
  }
}

function appendDuration(runs: Mp4TimeToSample[], delta: number): void {
  const last = runs[runs.length - 1];
  if (last && last.delta === delta) last.count++;
  else runs.push({ count: 1, delta });
}

/**
 * update_stream_timings: the longest stream, or the span from the earliest start to the latest
 * end, in microseconds; the start is the first packet's pts (find_stream_info).
 */
function formatDuration(streams: StreamState[]): number | undefined {
  let longest = -Infinity;
  let start = Infinity;
  let end = -Infinity;
  for (const stream of streams) {
    const duration = Number(avRescale(stream.duration, 1_000_000, stream.timescale));
    longest = Math.max(longest, duration);
    if (!stream.firstDecode) continue;
    const firstPts = stream.firstDecode.dts + stream.dtsShift + stream.firstDecode.compositionOffset;
    const streamStart = Number(avRescale(firstPts, 1_000_000, stream.timescale));
    start = Math.min(start, streamStart);
    end = Math.max(end, streamStart + duration);
  }
  const microseconds = start === Infinity ? longest : Math.max(longest, end - start);
  return microseconds > 0 ? microseconds / 1_000_000 : undefined;
}
