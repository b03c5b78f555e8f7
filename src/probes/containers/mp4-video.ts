/**
 * What ffprobe (FFmpeg 5.1's mov demuxer plus avformat_find_stream_info) reports for the first
 * video stream of an MP4/QuickTime file, computed from the parsed boxes (fragmented files through
 * mp4-fragments.ts). Anything this cannot reproduce exactly (odd tables, codecs whose size only a
 * decoder knows, fragment layouts the replay does not model) raises NeedsFfprobe; a file whose
 * boxes or samples lie past its end is `truncated`.
 */
import { ProbeError } from '../../errors.js';
import type { ByteSource } from '../../sources/source.js';
import { av1ConfigSequenceHeader, findAv1SequenceHeader } from './codecs/av1.js';
import { avcConfigSpsList, h264DisplaySize, parseH264Sps } from './codecs/h264.js';
import { hevcConfigSpsList, parseHevcSps } from './codecs/hevc.js';
import { jpegFrameSize } from './codecs/jpeg.js';
import { h263Picture, mpeg4VolPicture, type CodedPicture } from './codecs/mpeg4.js';
import { vp8FrameSize, vp9FrameSize } from './codecs/vpx.js';
import { NeedsFfprobe, type VideoFacts } from './facts.js';
import { fragmentedTimeline, type StreamTiming } from './mp4-fragments.js';
import { requireOpensWithoutVideo } from './mp4-tracks.js';
import {
  firstSample,
  readEsds,
  readVisualSampleEntry,
  sampleDataEnd,
  type Mp4File,
  type Mp4Movie,
  type Mp4TimeToSample,
  type Mp4Track,
  type VisualSampleEntry,
} from './mp4.js';
import { avD2q, avReduce, avRescale, type Rational } from './rational.js';

/** Describes the first video stream, or throws (truncated, no_video_stream, NeedsFfprobe, corrupt_file). */
export async function mp4VideoFacts(file: Mp4File, source: ByteSource): Promise<VideoFacts> {
  const movie = requireCompleteMovie(file, source.name);
  if (movie.compressed) throw new NeedsFfprobe('compressed movie box');
  if (!movie.header && movie.trackExtends.length === 0) throw new NeedsFfprobe('no movie header');
  const track = firstVideoTrack(movie);
  if (!track) {
    // The audio probe answers next, so what matters is whether ffprobe would open the file at all.
    requireOpensWithoutVideo(movie, source.name);
    throw new ProbeError('no_video_stream', `${source.name} has no video track`);
  }
  // FFmpeg refuses the whole file for bad tables in any track, so every track must pass.
  movie.tracks.forEach(checkTables);
  requireSampleTables(track);
  const entry = onlyVisualEntry(track);
  // A trex makes FFmpeg drop the mvhd duration (mov_read_trex); moofs need one to be read at all.
  const fragmented = file.hasFragments || movie.trackExtends.length > 0;
  const timeline = fragmented ? await fragmentedTimeline(file, movie, source) : undefined;
  const timing = timeline?.streams[track.index];
  const picture = await codedPicture(track, entry, source, timing?.firstSample ?? firstSample(track));
  const matrix = track.header && composeMatrices(track.header.matrix, movie.header?.matrix ?? NO_MOVIE_MATRIX);
  const streamRatio = streamAspectRatio(track, entry, matrix);
  const rotation = matrix && displayRotation(matrix);
  const geometry = {
    width: picture.width,
    height: picture.height,
    sampleAspectRatio: streamRatio ?? picture.sampleAspectRatio,
    rotation,
  };
  if (timeline && timing) {
    return {
      mime: mp4Mime(file),
      containerDuration: timeline.formatDuration,
      stream: { ...geometry, ...fragmentedStreamTiming(timing) },
      reader: 'mp4',
    };
  }
  const timescale = mediaTimescale(track, movie);
  return {
    mime: mp4Mime(file),
    containerDuration: movieDuration(movie),
    stream: {
      ...geometry,
      avgFrameRate: averageFrameRate(track, timescale),
      frameCount: track.timeToSample.reduce((sum, entry) => sum + entry.count, 0),
      duration: streamDuration(track, movie, timescale),
      variableFrameRate: hasVariableFrameDurations(track.timeToSample),
    },
    reader: 'mp4',
  };
}

/** Without an mvhd FFmpeg's movie display matrix stays all zeros, and so does every track's. */
const NO_MOVIE_MATRIX = [0, 0, 0, 0, 0, 0, 0, 0, 0];

/**
 * A fragmented file's frame rate, frame count and duration. A video track with samples must have
 * its rate from the demuxer; one with no samples anywhere (an init segment) states no rate.
 */
function fragmentedStreamTiming(timing: StreamTiming): Pick<VideoFacts['stream'], 'avgFrameRate' | 'frameCount' | 'duration' | 'variableFrameRate'> {
  if (!timing.avgFrameRate && timing.totalSamples > 0) throw new NeedsFfprobe('no frame rate from the fragments read with the header');
  return {
    avgFrameRate: timing.avgFrameRate,
    frameCount: timing.frameCount || undefined,
    duration: timing.duration > 0 ? timing.duration / timing.timescale : undefined,
    variableFrameRate: hasVariableFrameDurations(timing.durations),
  };
}

/** Boxes or sample data past the end are truncation; no moov at all is a damaged file (as ffprobe says). */
function requireCompleteMovie(file: Mp4File, name: string): Mp4Movie {
  const cut = file.boxesPastEnd[0];
  if (cut) {
    throw new ProbeError('truncated', `${name}: box '${cut.type}' at ${cut.start} declares ${cut.size} bytes, the file ends ${cut.start + cut.size - file.fileSize} bytes short`);
  }
  if (!file.movie) throw new ProbeError('corrupt_file', `${name}: moov atom not found`);
  for (const track of file.movie.tracks) {
    if (track.dataReferencesSelfContained.length > 0 && !track.dataReferencesSelfContained.some(Boolean)) continue;
    const end = sampleDataEnd(track);
    if (end > file.fileSize) {
      throw new ProbeError('truncated', `${name}: track ${track.index} places samples up to byte ${end}, the file has ${file.fileSize} bytes`);
    }
  }
  return file.movie;
}

/** Formats a non-'vide' track could carry that FFmpeg would still type as audio, subtitles or data. */
const NON_VIDEO_FORMATS = new Set([
  'mp4a', 'ac-3', 'ec-3', 'ac-4', 'Opus', 'fLaC', 'alac', 'samr', 'sawb', 'sowt', 'twos', 'lpcm', 'ipcm', 'fpcm', 'in24', 'in32',
  'fl32', 'fl64', 'raw ', 'ulaw', 'alaw', 'ima4', '.mp3', 'mp3 ', 'dtsc', 'dtsh', 'dtsl', 'dtse', 'mlpa', 'enca', 'QDM2', 'Qclp',
  'text', 'tx3g', 'wvtt', 'stpp', 'c608', 'c708', 'tmcd', 'rtp ', 'mp4s', 'mett', 'metx', 'mebx', 'gpmd', 'camm', 'fdsc', 'rtmd',
  'sbtt', 'stxt', 'dfxp', 'hint', 'urim', 'evrc', 'sevc', 'sqcp', 'ssmv',
]);

/**
 * The track FFmpeg makes the first video stream: its handler says video ('vide', the last such
 * handler wins), and it is not a QuickTime chapter track (those become cover art).
 */
function firstVideoTrack(movie: Mp4Movie): Mp4Track | undefined {
  for (const track of movie.tracks) {
    const kind = handlerKind(track);
    const format = track.sampleEntries[0]?.format;
    if (kind !== 'video' && kind !== 'audio' && format && !NON_VIDEO_FORMATS.has(format)) {
      throw new NeedsFfprobe(`track ${track.index} with handler '${track.handlers.join(',')}' holds '${format}'`);
    }
    if (kind !== 'video') continue;
    if (track.header && movie.chapterTrackIds.includes(track.header.trackId)) continue;
    return track;
  }
  return undefined;
}

function handlerKind(track: Mp4Track): 'video' | 'audio' | 'other' {
  let kind: 'video' | 'audio' | 'other' = 'other';
  for (const handler of track.handlers) {
    if (handler === 'vide') kind = 'video';
    else if (handler === 'soun') kind = 'audio';
    else if (handler === 'subp' || handler === 'clcp') kind = 'other';
  }
  return kind;
}

/**
 * Tables FFmpeg rejects (the file fails to open: mov_read_stsd, mov_read_stsc, mov_read_trak) or
 * repairs in ways not reproduced here; either way ffprobe decides.
 */
function checkTables(track: Mp4Track): void {
  if (track.anomalies.length > 0) throw new NeedsFfprobe(`track ${track.index}: ${track.anomalies.map((anomaly) => anomaly.message).join('; ')}`);
  const stsc = track.sampleToChunk;
  for (let i = 0; i < stsc.length; i++) {
    const entry = stsc[i]!;
    const previous = stsc[i - 1];
    if (entry.firstChunk < i + 1 || entry.samplesPerChunk < 1 || entry.descriptionIndex < 1 || (previous && entry.firstChunk <= previous.firstChunk)) {
      throw new NeedsFfprobe(`track ${track.index}: stsc entry ${i} is invalid`);
    }
  }
  if (stsc.length && stsc[stsc.length - 1]!.firstChunk > track.chunkOffsets.length) {
    throw new NeedsFfprobe(`track ${track.index}: stsc names chunks stco lacks`);
  }
  if (track.timeToSample.some((entry) => entry.delta > 0x7fffffff)) throw new NeedsFfprobe(`track ${track.index}: stts delta out of range`);
}

/** A video track FFmpeg indexes without complaint (mov_read_trak's "missing mandatory atoms"). */
function requireSampleTables(track: Mp4Track): void {
  const chunks = track.chunkOffsets.length;
  if ((chunks && (!track.timeToSample.length || !track.sampleToChunk.length)) || (!chunks && track.sampleSize.count)) {
    throw new NeedsFfprobe('missing mandatory sample tables');
  }
}

/**
 * The track's visual sample entry. Several entries are taken only when they describe the same
 * picture (a clear and an encrypted copy, say): FFmpeg keeps the first entry's configuration and
 * the last entry's size, which then agree.
 */
function onlyVisualEntry(track: Mp4Track): VisualSampleEntry {
  if (track.sampleEntries.length === 0) throw new NeedsFfprobe('no sample description');
  const entries = track.sampleEntries.map(readVisualSampleEntry);
  if (entries.some((entry) => !entry)) throw new NeedsFfprobe('short visual sample entry');
  const [first, ...others] = entries as VisualSampleEntry[];
  if (others.some((other) => entryPicture(other) !== entryPicture(first!))) {
    throw new NeedsFfprobe(`${entries.length} differing sample descriptions`);
  }
  return first!;
}

/** What decides the picture in an entry: format, size and configuration boxes (protection aside). */
function entryPicture(entry: VisualSampleEntry): string {
  const boxes = [...entry.boxes].filter(([type]) => type !== 'sinf').map(([type, payload]) => `${type}:${Buffer.from(payload).toString('hex')}`);
  return [entry.originalFormat ?? entry.format, entry.width, entry.height, entry.depth, ...boxes.sort()].join('|');
}

/** mdhd timescale; without an mdhd FFmpeg falls back to the movie's (fix_timescale). */
function mediaTimescale(track: Mp4Track, movie: Mp4Movie): number {
  if (!track.media) return movie.header!.timescale > 0 ? movie.header!.timescale : 1;
  if (track.media.timescale <= 0) throw new NeedsFfprobe('media timescale not positive');
  return track.media.timescale;
}

/** avg_frame_rate: timescale x frames / sum of sample durations, reduced to 32-bit terms. */
function averageFrameRate(track: Mp4Track, timescale: number): Rational {
  let frames = 0n;
  let duration = 0n;
  for (const entry of track.timeToSample) {
    frames += BigInt(entry.count);
    duration += BigInt(entry.count) * BigInt(entry.delta);
  }
  // With no duration FFmpeg estimates the rate from packets it reads; only ffprobe can say.
  if (frames === 0n || duration === 0n) throw new NeedsFfprobe('no sample durations');
  return avReduce(BigInt(timescale) * frames, duration);
}

/** format.duration: the mvhd duration in microseconds (av_rescale), as ffprobe prints it. */
/** mov_read_mvhd sets the format duration as stated, 0 included (ffprobe then prints 0, no estimate). */
function movieDuration(movie: Mp4Movie): number {
  const { timescale, duration } = movie.header!;
  if (timescale <= 0) throw new NeedsFfprobe('movie timescale not positive');
  return Number(avRescale(duration, 1_000_000, timescale)) / 1_000_000;
}

/** The stream duration: mdhd, shortened to the samples' total and to the edit list (mov_fix_index). */
function streamDuration(track: Mp4Track, movie: Mp4Movie, timescale: number): number | undefined {
  let duration = track.media?.duration ?? 0;
  const samplesDuration = track.timeToSample.reduce((sum, entry) => sum + entry.count * entry.delta, 0);
  if (samplesDuration) duration = Math.min(duration, samplesDuration);
  if (track.editList?.length && track.sampleSize.count > 0) {
    const edits = track.editList.reduce((sum, edit) => sum + Number(avRescale(edit.duration, timescale, movie.header!.timescale)), 0);
    duration = Math.min(duration, edits);
  }
  return duration > 0 ? duration / timescale : undefined;
}

const H264_FORMATS = new Set(['avc1', 'avc2', 'avc3', 'avc4']);
const HEVC_FORMATS = new Set(['hvc1', 'hev1', 'dvh1', 'dvhe']);
const H263_FORMATS = new Set(['s263', 'h263', 'H263']);
const JPEG_FORMATS = new Set(['jpeg', 'mjpa', 'AVDJ', 'dmb1']);

/**
 * The picture size ffprobe reports (the decoder's) and the codec's own pixel aspect ratio. The
 * sample entry's size is taken only when the codec's headers confirm it (for H.264 after FFmpeg's
 * container-cropping rule); any disagreement, or headers that do not parse, goes to ffprobe,
 * because then the decoder's view of the stream decides.
 */
async function codedPicture(track: Mp4Track, entry: VisualSampleEntry, source: ByteSource, sample: SamplePlace | undefined): Promise<CodedPicture> {
  const format = entry.originalFormat ?? entry.format;
  const container = { width: entry.width, height: entry.height };
  const declared = await declaredPicture(format, entry, () => readSample(sample, source), container);
  if (!declared || declared.width !== container.width || declared.height !== container.height || !container.width || !container.height) {
    throw new NeedsFfprobe(`'${format}' picture size not confirmed by its headers`);
  }
  return declared;
}

/** The size the codec's own headers declare, for codecs whose decoders take it from there. */
async function declaredPicture(
  format: string,
  entry: VisualSampleEntry,
  readFirstSample: () => Promise<Uint8Array>,
  container: { width: number; height: number },
): Promise<CodedPicture | undefined> {
  if (H264_FORMATS.has(format)) {
    const sps = onlySps(avcConfigSpsList(entry.boxes.get('avcC') ?? new Uint8Array()).map(parseH264Sps));
    return sps && { ...h264DisplaySize(sps, container), sampleAspectRatio: sps.sampleAspectRatio };
  }
  if (HEVC_FORMATS.has(format)) return onlySps(hevcConfigSpsList(entry.boxes.get('hvcC') ?? new Uint8Array()).map(parseHevcSps));
  if (format === 'av01') {
    const header = av1ConfigSequenceHeader(entry.boxes.get('av1C') ?? new Uint8Array()) ?? findAv1SequenceHeader(await readFirstSample());
    return header && { width: header.maxWidth, height: header.maxHeight };
  }
  if (format === 'mp4v') {
    const esds = entry.boxes.get('esds');
    const info = esds && readEsds(esds)?.decoderSpecificInfo;
    return (info && mpeg4VolPicture(info)) ?? mpeg4VolPicture(await readFirstSample());
  }
  if (format === 'vp09') return vp9FrameSize(await readFirstSample());
  if (format === 'vp08') return vp8FrameSize(await readFirstSample());
  if (H263_FORMATS.has(format)) return h263Picture(await readFirstSample());
  if (JPEG_FORMATS.has(format)) return jpegFrameSize(await readFirstSample());
  return undefined;
}

const FIRST_SAMPLE_PEEK = 64 * 1024;

type SamplePlace = { offset: number; size: number };

async function readSample(sample: SamplePlace | undefined, source: ByteSource): Promise<Uint8Array> {
  if (!sample) return new Uint8Array();
  return source.read(sample.offset, Math.min(sample.size, FIRST_SAMPLE_PEEK));
}

/** The parameter set when the configuration holds exactly one kind (several differing sets: the decoder picks). */
function onlySps<T>(list: T[]): T | undefined {
  const first = list[0];
  return first && list.every((sps) => JSON.stringify(sps) === JSON.stringify(first)) ? first : undefined;
}

/**
 * The stream's sample aspect ratio as FFmpeg sets it: from a non-square display matrix scale, then
 * the 'pasp' box, then (when neither) the track header size against the sample entry size.
 * undefined when none applies, and the codec's ratio is used.
 */
function streamAspectRatio(track: Mp4Track, entry: VisualSampleEntry, matrix: number[] | undefined): Rational | undefined {
  let ratio: Rational | undefined;
  const header = track.header;
  if (header && matrix && header.width && header.height && !isIdentity(matrix)) {
    const scaleX = Math.hypot(matrix[0]!, matrix[3]!);
    const scaleY = Math.hypot(matrix[1]!, matrix[4]!);
    if (scaleX > 1 && scaleY > 1 && scaleX < 2 ** 24 && scaleY < 2 ** 24 && Math.abs(scaleX / scaleY - 1) > 0.01) {
      ratio = avD2q(scaleX / scaleY);
    }
  }
  const pasp = entry.boxes.get('pasp');
  if (pasp && pasp.byteLength >= 8) {
    const view = new DataView(pasp.buffer, pasp.byteOffset, 8);
    const [num, den] = [view.getInt32(0), view.getInt32(4)];
    if (den !== 0) ratio = avReduce(num, den, 32767);
  }
  const trackWidth = header ? header.width >> 16 : 0;
  const trackHeight = header ? header.height >> 16 : 0;
  if (!ratio?.num && entry.width && entry.height && trackWidth && trackHeight && (entry.width !== trackWidth || entry.height !== trackHeight)) {
    ratio = avD2q((entry.height * trackWidth) / (entry.width * trackHeight));
  }
  return ratio && ratio.num > 0 && ratio.den > 0 ? avReduce(ratio.num, ratio.den) : undefined;
}

function isIdentity(matrix: number[]): boolean {
  return matrix.every((value, i) => value === (i === 0 || i === 4 ? 0x10000 : i === 8 ? 0x40000000 : 0));
}

/**
 * The rotation av_display_rotation_get derives from the display matrix (the track's composed with
 * the movie's; FFmpeg keeps it when not the identity), truncated to an integer as ffprobe prints it.
 */
function displayRotation(composite: number[]): number | undefined {
  if (isIdentity(composite)) return undefined;
  const fixed = (value: number) => value / 65536;
  const scaleX = Math.hypot(fixed(composite[0]!), fixed(composite[3]!));
  const scaleY = Math.hypot(fixed(composite[1]!), fixed(composite[4]!));
  if (scaleX === 0 || scaleY === 0) return undefined;
  const degrees = -(Math.atan2(fixed(composite[1]!) / scaleY, fixed(composite[0]!) / scaleX) * 180) / Math.PI;
  return Math.trunc(degrees) || 0;
}

/** res[i][j] = sum_e track[i][e] * movie[e][j] >> shift[e], accumulated in 32-bit ints as in mov_read_tkhd. */
function composeMatrices(track: number[], movie: number[]): number[] {
  const shifts = [16n, 16n, 30n];
  const out: number[] = [];
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j < 3; j++) {
      let sum = 0n;
      for (let e = 0; e < 3; e++) {
        sum = BigInt.asIntN(32, sum + ((BigInt(track[i * 3 + e]!) * BigInt(movie[e * 3 + j]!)) >> shifts[e]!));
      }
      out.push(Number(sum));
    }
  }
  return out;
}

/**
 * MediaInfo's FrameRate_Mode for MP4: VFR when the sample durations differ, not counting a lone
 * first or last sample whose duration differs (edit rounding, a shortened final frame).
 */
function hasVariableFrameDurations(entries: Mp4TimeToSample[]): boolean {
  const counted = entries.filter((entry, i) => {
    const lone = entry.count === 1 && entries.length > 1;
    return !(lone && (i === 0 || i === entries.length - 1));
  });
  return new Set(counted.map((entry) => entry.delta)).size > 1;
}

const THIRD_GENERATION = /^3g[pgsre]/;

/** SPEC.md: QuickTime ('qt  ' brand or no ftyp), 3GPP, 3GPP2, Motion JPEG 2000 (ExifTool's), else the MP4 family. */
export function mp4Mime(file: Mp4File): string {
  const brand = file.brands?.major;
  if (!brand || brand === 'qt  ') return 'video/quicktime';
  if (brand === 'mjp2' || brand === 'mj2s') return 'video/mj2';
  if (brand.startsWith('3g2')) return 'video/3gpp2';
  if (THIRD_GENERATION.test(brand)) return 'video/3gpp';
  return 'video/mp4';
}
