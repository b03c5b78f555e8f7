/**
 * What ffprobe (FFmpeg 5.1's matroskadec plus avformat_find_stream_info) reports for the first
 * video track of a Matroska/WebM file, from the parsed elements; NeedsFfprobe when it cannot be
 * reproduced exactly, `truncated` when the segment runs past the end of the file.
 */
import { ProbeError } from '../../errors.js';
import { av1ConfigSequenceHeader } from './codecs/av1.js';
import { MATROSKA_PRIVATE_CHECKS } from './codecs/decoder-config.js';
import { avcConfigSpsList, h264DisplaySize, parseH264Sps } from './codecs/h264.js';
import { hevcConfigSpsList, parseHevcSps } from './codecs/hevc.js';
import { mpeg4VolPicture, type CodedPicture } from './codecs/mpeg4.js';
import { vp8FrameSize, vp9FrameSize } from './codecs/vpx.js';
import { NeedsFfprobe, type VideoFacts } from './facts.js';
import type { MatroskaBlocks, MatroskaFile, MatroskaTrack } from './matroska.js';
import { avReduce, type Rational } from './rational.js';

const VIDEO_TRACK = 1;

/** The track ffprobe makes the first video stream: type video with a 'V_' codec ID. */
export function firstMatroskaVideoTrack(tracks: MatroskaTrack[]): MatroskaTrack | undefined {
  return tracks.find((track) => track.type === VIDEO_TRACK && track.codecId?.startsWith('V'));
}

export function matroskaVideoFacts(file: MatroskaFile, name: string): VideoFacts {
  if (file.pastEnd.length > 0) throw new ProbeError('truncated', `${name}: ${file.pastEnd[0]}`);
  const track = firstMatroskaVideoTrack(file.tracks);
  if (!track) throw new ProbeError('no_video_stream', `${name} has no video track`);
  for (const candidate of file.tracks) {
    const problem = candidate.codecPrivate && MATROSKA_PRIVATE_CHECKS[candidate.codecId ?? '']?.(candidate.codecPrivate);
    if (problem) throw new NeedsFfprobe(`track ${candidate.number} ${candidate.codecId}: ${problem}`);
  }
  if (track.hasContentEncodings) throw new NeedsFfprobe('track with content encodings');
  if (track.video?.hasProjection) throw new NeedsFfprobe('track with a projection');
  const duration = containerDuration(file);
  if (duration === undefined) throw new NeedsFfprobe('no segment duration');
  const picture = codedPicture(track, file.blocks.get(track.number));
  return {
    mime: file.docType === 'webm' ? 'video/webm' : 'video/x-matroska',
    containerDuration: duration,
    stream: {
      width: picture.width,
      height: picture.height,
      avgFrameRate: averageFrameRate(track),
      sampleAspectRatio: displayAspectRatio(track, picture),
      variableFrameRate: isVariableFrameRate(file, track),
    },
    reader: 'matroska',
  };
}

/** ctx->duration = Duration x TimecodeScale x 1000 / AV_TIME_BASE, in double, truncated to microseconds. */
function containerDuration(file: MatroskaFile): number | undefined {
  if (!file.duration) return undefined;
  const microseconds = Math.trunc((file.duration * file.timecodeScale * 1000) / 1_000_000);
  return microseconds > 0 ? microseconds / 1_000_000 : undefined;
}

/** DefaultDuration (or the legacy FrameRate) as av_reduce(1e9, duration, 30000); none: ffprobe estimates. */
function averageFrameRate(track: MatroskaTrack): Rational {
  let frameDuration = track.defaultDuration;
  const legacyRate = track.video?.frameRate;
  if (!frameDuration && legacyRate && legacyRate > 0) frameDuration = Math.trunc(1e9 / legacyRate);
  if (!frameDuration) throw new NeedsFfprobe('no default frame duration');
  return avReduce(1_000_000_000, frameDuration, 30000);
}

/** Codecs whose decoder keeps the container's size (no size in their bitstream). */
const CONTAINER_SIZED = new Set(['V_FFV1']);
const CONTAINER_SIZED_FOURCCS = new Set(['FFV1']);

/** V_MS/VFW/FOURCC private data is a BITMAPINFOHEADER; its biCompression names the codec. */
function isContainerSized(codec: string, config: Uint8Array): boolean {
  if (CONTAINER_SIZED.has(codec)) return true;
  return codec === 'V_MS/VFW/FOURCC' && config.byteLength >= 40 && CONTAINER_SIZED_FOURCCS.has(String.fromCharCode(...config.subarray(16, 20)));
}

/** PixelWidth/PixelHeight when the codec's own headers confirm them (see mp4-video.ts codedPicture). */
function codedPicture(track: MatroskaTrack, blocks: MatroskaBlocks | undefined): CodedPicture {
  const container = { width: track.video?.pixelWidth ?? 0, height: track.video?.pixelHeight ?? 0 };
  const codec = track.codecId!;
  const config = track.codecPrivate ?? new Uint8Array();
  const declared = isContainerSized(codec, config) ? container : declaredPicture(codec, config, blocks?.firstFrame, container);
  if (!declared || declared.width !== container.width || declared.height !== container.height || !container.width || !container.height) {
    throw new NeedsFfprobe(`'${codec}' picture size not confirmed by its headers`);
  }
  return declared;
}

function declaredPicture(
  codec: string,
  config: Uint8Array,
  firstFrame: Uint8Array | undefined,
  container: { width: number; height: number },
): CodedPicture | undefined {
  if (codec === 'V_MPEG4/ISO/AVC') {
    const list = avcConfigSpsList(config).map(parseH264Sps);
    const sps = list.length === 1 ? list[0]! : undefined;
    return sps && { ...h264DisplaySize(sps, container), sampleAspectRatio: sps.sampleAspectRatio };
  }
  if (codec === 'V_MPEGH/ISO/HEVC') {
    const list = hevcConfigSpsList(config).map(parseHevcSps);
    return list.length === 1 ? list[0] : undefined;
  }
  if (codec === 'V_AV1') {
    const header = av1ConfigSequenceHeader(config);
    return header && { width: header.maxWidth, height: header.maxHeight };
  }
  if (codec.startsWith('V_MPEG4/ISO/')) return mpeg4VolPicture(config);
  if (codec === 'V_VP9' && firstFrame) return vp9FrameSize(firstFrame);
  if (codec === 'V_VP8' && firstFrame) return vp8FrameSize(firstFrame);
  return undefined;
}

/** ff_mkv_stereo_mode_display_mul: side-by-side modes double the width, top-bottom modes the height. */
function stereoMultipliers(mode: number): [number, number] {
  if ([1, 8, 9, 11].includes(mode)) return [2, 1];
  if ([2, 3, 6, 7].includes(mode)) return [1, 2];
  return [1, 1];
}

/**
 * The stream aspect ratio matroskadec derives from DisplayWidth/Height (defaulting to the pixel
 * size) when the display unit is known; it takes precedence over the codec's ratio.
 */
function displayAspectRatio(track: MatroskaTrack, picture: CodedPicture): Rational | undefined {
  const video = track.video;
  const pixelWidth = video?.pixelWidth ?? 0;
  const pixelHeight = video?.pixelHeight ?? 0;
  const displayWidth = video?.displayWidth ?? pixelWidth;
  const displayHeight = video?.displayHeight ?? pixelHeight;
  if (video && video.displayUnit < 4 && displayWidth && displayHeight) {
    const [widthMul, heightMul] = video.stereoMode < 15 ? stereoMultipliers(video.stereoMode) : [1, 1];
    const ratio = avReduce(BigInt(pixelHeight) * BigInt(displayWidth * widthMul), BigInt(pixelWidth) * BigInt(displayHeight * heightMul));
    if (ratio.num > 0 && ratio.den > 0) return ratio;
  }
  return picture.sampleAspectRatio;
}

/**
 * MediaInfo's FrameRate_Mode for Matroska (File_Mk::Streams_Finish): VFR when BlockDurations take
 * more than two values, or when the gaps between the first 41 sorted timestamps spread beyond
 * +-10% after its trimming, or when the rate they give disagrees with the statistics tags.
 */
function isVariableFrameRate(file: MatroskaFile, track: MatroskaTrack): boolean {
  const blocks = file.blocks.get(track.number);
  if (!blocks) return false;
  if (new Set(blocks.blockDurations).size > 2) return true;
  if (blocks.timestamps.length <= 1) return false;
  const sorted = [...blocks.timestamps].sort((a, b) => a - b);
  let gaps: number[] = [];
  for (let i = 1; i < sorted.length; i++) if (sorted[i]! !== sorted[i - 1]!) gaps.push(sorted[i]! - sorted[i - 1]!);
  if (gaps.length >= 60 + 32) gaps = gaps.slice(0, gaps.length - 16);
  gaps.sort((a, b) => a - b);
  gaps = trimMissingFrames(gaps);
  if (gaps.length >= 40) gaps = gaps.slice(0, gaps.length - Math.floor(gaps.length / 10));
  else if (gaps.length >= 7) gaps = gaps.slice(0, gaps.length - 4);
  if (gaps.length <= 2) return false;
  const smallest = gaps[0]!;
  const largest = gaps[gaps.length - 1]!;
  if (!(smallest * 0.9 < largest && smallest * 1.1 > largest)) return true;
  const tagsRate = statisticsFrameRate(file, track);
  if (!tagsRate) return false;
  let frameTime = gaps.reduce((sum, gap) => sum + gap, 0) / gaps.length;
  const defaultTime = track.defaultDuration ? track.defaultDuration / file.timecodeScale : 0;
  if (defaultTime && frameTime >= defaultTime * 0.95 && frameTime <= defaultTime * 1.05) frameTime = defaultTime;
  const clusterRate = Math.fround(1e9 / frameTime / file.timecodeScale);
  const tolerance = tagsRate * (file.timecodeScale * 0.0000000010021);
  return clusterRate < tagsRate - tolerance || clusterRate > tagsRate + tolerance;
}

/** MediaInfo keeps the gaps up to the last run of three equal values (frames missing at the end). */
function trimMissingFrames(gaps: number[]): number[] {
  if (gaps.length <= 2) return gaps;
  let i = gaps.length - 1;
  let previous = gaps[i]!;
  do {
    i--;
    if (gaps[i] === previous && gaps[i - 1] === previous) break;
    previous = gaps[i]!;
  } while (i > 2);
  return i > gaps.length / 2 ? gaps.slice(0, i + 2) : gaps;
}

/** The frame rate mkvmerge's statistics tags give (NUMBER_OF_FRAMES / DURATION), with MediaInfo's 1.001 guesses. */
function statisticsFrameRate(file: MatroskaFile, track: MatroskaTrack): number | undefined {
  const tags = track.uid === undefined ? undefined : file.trackTags.get(track.uid);
  const frames = Number(tags?.get('NUMBER_OF_FRAMES'));
  const duration = parseTagDuration(tags?.get('DURATION'));
  if (!frames || !duration) return undefined;
  let rate = frames / duration;
  const rounded = Math.round(rate);
  if (Math.abs(rounded - rate * 1.001) >= 0.0001) return rate;
  const with1001 = (frames / rounded) * 1.001;
  const with1001001 = (frames / rounded) * 1.001001;
  let can1001 = false;
  let can1000 = false;
  if (Math.abs((with1001001 - with1001) * 10000) >= 15) {
    can1001 = duration.toFixed(3) === with1001.toFixed(3);
    can1000 = duration.toFixed(3) === with1001001.toFixed(3);
    if (can1001 && !can1000) rate = rounded / 1.001;
    if (can1000 && !can1001) rate = rounded / 1.001001;
  }
  if (can1000 === can1001 && track.defaultDuration) {
    const defaultRate = 1e9 / track.defaultDuration;
    const nearest = Math.round(defaultRate);
    if (Math.abs(nearest - defaultRate * 1.001) < 0.000002) rate = rounded / 1.001;
    if (Math.abs(nearest - defaultRate * 1.001001) < 0.000002) rate = rounded / 1.001001;
  }
  return rate;
}

/** "HH:MM:SS.nnnnnnnnn" to seconds. */
function parseTagDuration(text: string | undefined): number | undefined {
  const match = /^(\d+):(\d{2}):(\d{2}(?:\.\d+)?)$/.exec(text?.trim() ?? '');
  if (!match) return undefined;
  return Number(match[1]) * 3600 + Number(match[2]) * 60 + Number(match[3]);
}
