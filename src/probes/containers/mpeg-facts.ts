/**
 * ffprobe's answer for an MPEG program or transport stream, from the PES packets the container
 * readers collect: what avformat_find_stream_info reads at the head (start times, frame rates,
 * picture size) and what estimate_timings_from_pts reads in the last 250,000 bytes (the last
 * timestamps plus one packet's duration), as FFmpeg 5.1 does it for the "mpeg" and "mpegts"
 * demuxers. Whatever this does not model exactly is a {@link NeedsFfprobe}.
 */
import { timestampsVaryForAnyWindow } from './frame-rate-mode.js';
import { avRescale, type Rational } from './rational.js';
import { NeedsFfprobe, type VideoFacts } from './facts.js';
import { FrameRateGuess } from './frame-rate-guess.js';
import { averageFrameRate, MPEG_CLOCK } from './mpeg-rates.js';
import { inspectAudio, inspectVideo, type AudioCodec, type VideoCodec, type VideoPictures } from './mpeg-es.js';

export interface PesPacket {
  pts?: number;
  dts?: number;
  payload: Uint8Array;
}

interface StreamBase {
  /** Whole PES packets from the start of the file, in file order. */
  head: PesPacket[];
  /** PTS of the PES packets the tail read returns, in file order. */
  tailPts: number[];
  /** The payload of the last PES the tail read returns, when the reader keeps it. */
  tailLast?: Uint8Array;
}

export type MpegStream = StreamBase & ({ type: 'video'; codec: VideoCodec } | { type: 'audio'; codec: AudioCodec });

export interface MpegFile {
  mime: string;
  reader: VideoFacts['reader'];
  streams: MpegStream[];
  /** The head read holds every packet of the file (FFmpeg analyses no more than there is). */
  wholeFile: boolean;
}

/** find_stream_info analyses about 5 s; r_frame_rate must be the same from this many frames on. */
const MIN_RATE_FRAMES = 20;
const SIXTY_SECONDS = 60 * MPEG_CLOCK;
/** Timestamps in the last eighth before the 33-bit wrap make FFmpeg correct them. */
const WRAP_GUARD = 2 ** 33 - 2 ** 30;
/** MediaInfo's frame rate mode looks at the first 41 frames (see frame-rate-mode.ts). */
const VFR_FRAMES = 41;
/** Fewest video packets the first 164 packets ffprobe lists hold once a file has that many frames. */
const VFR_MIN_FRAMES = 8;
/** Less than find_stream_info's 5 s analysis, with room for audio running ahead of video. */
const ANALYSED_SECONDS = 4;
/**
 * A DTS step this many times the mean step before it: find_stream_info resets its fps_first_dts
 * at 1000 times (a "DTS discontinuity"), and a jump that large changes what it measures; not
 * modelled, nor smaller jumps of the kind.
 */
const DTS_JUMP = 10;

interface Timed {
  start: number;
  /** st->duration in 90 kHz ticks. */
  duration: number;
  endsOnFirstTailPacket: boolean;
}

export function mpegVideoFacts(file: MpegFile): VideoFacts {
  const videos = file.streams.filter(isVideo);
  if (videos.length !== 1) throw new NeedsFfprobe(`MPEG stream with ${videos.length} video streams`);
  const video = videos[0]!;
  const pictures = inspectVideo(video.codec, video.head.map((pes) => pes.payload));
  const dts = decodeTimestamps(video.head, pictures);
  checkNoDtsJump(dts);
  // Under three frames nothing is timed: avg_frame_rate stays 0/0 and the probe counts the frames.
  const fewFrames = dts.length < 3;
  if (fewFrames && !(file.wholeFile && pictures.packetFields === 2)) throw new NeedsFfprobe('MPEG stream: fewer than three video frames to time');
  const realRate = fewFrames ? pictures.frameRate : realFrameRate(pictures, dts, file.wholeFile);
  const videoTiming = timing(video, Math.floor((MPEG_CLOCK * realRate.den) / realRate.num));
  const timings = [videoTiming, ...file.streams.filter((stream) => stream.type === 'audio').map((stream) => audioTiming(stream))];
  const containerDuration = formatDuration(timings);
  checkNoStalePacket(file, timings, containerDuration);
  return {
    mime: file.mime,
    containerDuration,
    stream: {
      width: pictures.width,
      height: pictures.height,
      ...(fewFrames ? { frameCount: dts.length } : { avgFrameRate: averageFrameRate(pictures.packetTicks, pictures.packetFields) }),
      duration: videoTiming.duration / MPEG_CLOCK,
      sampleAspectRatio: pictures.sampleAspectRatio,
      variableFrameRate: variableFrameRate(video.head),
    },
    reader: file.reader,
  };
}

function isVideo(stream: MpegStream): stream is MpegStream & { type: 'video' } {
  return stream.type === 'video';
}

/**
 * DTS as the demuxer gives them (a PES without DTS has DTS = PTS), which FFmpeg keeps only when
 * they increase and no non-B picture of a reordered stream has DTS = PTS (that DTS is dropped
 * and guessed).
 */
function decodeTimestamps(head: PesPacket[], pictures: VideoPictures): number[] {
  const reordered = pictures.announcesReorder || head.some((pes) => pes.dts !== undefined && pes.dts !== pes.pts);
  return head.map((pes, i) => {
    if (pes.pts === undefined) throw new NeedsFfprobe('MPEG stream: video PES without PTS');
    const dts = pes.dts ?? pes.pts;
    if (reordered && dts === pes.pts && !pictures.bPictures[i]) throw new NeedsFfprobe('MPEG stream: reordered video whose reference picture has DTS = PTS');
    const previous = i > 0 ? (head[i - 1]!.dts ?? head[i - 1]!.pts!) : -Infinity;
    if (dts <= previous) throw new NeedsFfprobe('MPEG stream: video DTS do not increase');
    return dts;
  });
}

/** Every DTS step within DTS_JUMP times the mean step before it. */
function checkNoDtsJump(dts: number[]): void {
  for (let i = 2; i < dts.length; i++) {
    if (dts[i]! - dts[i - 1]! > DTS_JUMP * ((dts[i - 1]! - dts[0]!) / (i - 1))) throw new NeedsFfprobe('MPEG stream: the video DTS jump');
  }
}

/**
 * The probe's variable_frame_rate warning (MediaInfo's rule on the first video packets ffprobe
 * lists): the same verdict for every number of leading frames that window may hold, so that it
 * does not depend on how audio interleaves.
 */
function variableFrameRate(head: PesPacket[]): boolean {
  const verdict = timestampsVaryForAnyWindow(head.slice(0, VFR_FRAMES).map((pes) => pes.pts!), VFR_MIN_FRAMES);
  if (verdict === undefined) throw new NeedsFfprobe('MPEG stream: the frame rate mode depends on the packet window');
  return verdict;
}

/**
 * r_frame_rate: MPEG-1 video takes the codec's rate (FFmpeg trusts its time base); H.264 and
 * MPEG-2 take it from the DTS (ff_rfps_calculate), which must give one answer however many of
 * the analysed frames FFmpeg saw.
 */
function realFrameRate(pictures: VideoPictures, dts: number[], wholeFile: boolean): Rational {
  if (pictures.codec === 'mpeg1video') {
    const rate = pictures.frameRate.num / pictures.frameRate.den;
    if (rate < 5 || rate >= 101) throw new NeedsFfprobe('MPEG stream: MPEG-1 rate FFmpeg deems unreliable');
    return pictures.frameRate;
  }
  if (dts.length < MIN_RATE_FRAMES && !wholeFile) throw new NeedsFfprobe('MPEG stream: too few frames read to settle r_frame_rate');
  const estimator = new FrameRateGuess({ num: 1, den: MPEG_CLOCK });
  const answers = new Set<string>();
  dts.forEach((time, i) => {
    estimator.add(time);
    const frames = i + 1;
    if (frames < Math.min(MIN_RATE_FRAMES, dts.length)) return;
    const rate = estimator.rFrameRate(Math.max(frames - 2, 0) * pictures.packetTicks);
    answers.add(rate ? `${rate.num}/${rate.den}` : 'none');
  });
  const [only, ...others] = [...answers];
  if (!only || others.length > 0 || only === 'none') throw new NeedsFfprobe('MPEG stream: r_frame_rate depends on how many frames FFmpeg analyses');
  const [num, den] = only.split('/').map(Number);
  return { num: num!, den: den! };
}

function audioTiming(stream: MpegStream): Timed {
  const first = stream.head[0];
  if (!first) throw new NeedsFfprobe('MPEG stream: an audio stream without packets at the head');
  const audio = inspectAudio(stream.codec as AudioCodec, first.payload);
  // Audio of another format in the tail: ffprobe 5.1.9 timed 5 such joins by the head's frames, but why is not read yet.
  const last = stream.tailLast && inspectAudio(stream.codec as AudioCodec, stream.tailLast);
  if (last && (last.frameSize !== audio.frameSize || last.sampleRate !== audio.sampleRate)) throw new NeedsFfprobe('MPEG stream: the audio frames at the end differ from the head\'s');
  return timing(stream, Math.floor((MPEG_CLOCK * audio.frameSize) / audio.sampleRate));
}

/**
 * start_time: the first packet's PTS. duration: estimate_timings_from_pts over the tail packets
 * (each PTS plus one packet's duration, less the start), which keeps the largest value as long
 * as consecutive packets stay within 60 s of each other.
 */
function timing(stream: MpegStream, packetTicks: number): Timed {
  const start = stream.head[0]?.pts;
  if (start === undefined) throw new NeedsFfprobe('MPEG stream: first packet without PTS');
  if (start >= WRAP_GUARD) throw new NeedsFfprobe('MPEG stream: timestamps near the 33-bit wrap');
  const ends = stream.tailPts.map((pts) => pts + packetTicks - start);
  if (ends.length === 0) throw new NeedsFfprobe('MPEG stream: no timed packet in the tail');
  if (ends.some((end, i) => end <= 0 || (i > 0 && Math.abs(end - ends[i - 1]!) >= SIXTY_SECONDS))) {
    throw new NeedsFfprobe('MPEG stream: tail timestamps jump or run backwards');
  }
  const duration = Math.max(...ends);
  return { start, duration, endsOnFirstTailPacket: ends.indexOf(duration) === 0 };
}

/**
 * When find_stream_info stopped before the end of the file, the demuxer may still hold a PES
 * from the head that the tail read hands over first (with its old PTS): the tail's largest end
 * must then come later. A whole file that lasts under the analysis time was read to its end.
 */
function checkNoStalePacket(file: MpegFile, streams: Timed[], formatSeconds: number): void {
  if (file.wholeFile && formatSeconds < ANALYSED_SECONDS) return;
  if (streams.some((stream) => stream.endsOnFirstTailPacket)) throw new NeedsFfprobe('MPEG stream: the tail ends on its first packet');
}

/** update_stream_timings: the longest stream, or the span from the earliest start to the latest end, in microseconds. */
function formatDuration(streams: Timed[]): number {
  const toMicros = (ticks: number) => Number(avRescale(ticks, 1_000_000, MPEG_CLOCK));
  const start = Math.min(...streams.map((stream) => toMicros(stream.start)));
  const end = Math.max(...streams.map((stream) => toMicros(stream.start) + toMicros(stream.duration)));
  const longest = Math.max(...streams.map((stream) => toMicros(stream.duration)));
  return Math.max(longest, end - start) / 1_000_000;
}
