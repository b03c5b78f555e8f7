/**
 * Video probe: Encord's {fps, duration, width, height, file_size, mime_type} as SPEC.md defines
 * them (ffprobe's values for the first video stream that is not cover art).
 *
 * MP4/QuickTime (plain and fragmented), Matroska/WebM, Ogg Theora, FLV, AVI, MPEG-TS/PS, raw
 * MPEG-1/2 video, ASF, RealMedia and MXF are read in-process (headers and packet tables, any
 * source), each reader replaying FFmpeg 5.1's rules; WTV files FFmpeg would refuse are refused
 * here too; other containers, and files a reader cannot answer for exactly, go to ffprobe.
 */
import { ProbeError } from '../errors.js';
import type { ByteSource } from '../sources/source.js';
import type { VideoFacts } from './containers/facts.js';
import { asfVideoFacts, isAsf } from './containers/asf.js';
import { isRealMedia, realMediaVideoFacts } from './containers/realmedia.js';
import { ffprobeVideoFacts } from './containers/ffprobe-video.js';
import { parseMatroska, readDocType, type MatroskaTrack } from './containers/matroska.js';
import { firstMatroskaVideoTrack, matroskaVideoFacts } from './containers/matroska-video.js';
import { parseMp4 } from './containers/mp4.js';
import { mp4Mime, mp4VideoFacts } from './containers/mp4-video.js';
import { mpegPsVideoFacts } from './containers/mpeg-ps-video.js';
import { isProgramStream } from './containers/mpeg-system.js';
import { isMpegVideoElementaryStream, mpegVideoEsFacts } from './containers/mpeg-video-es.js';
import { mpegTsVideoFacts, transportPacketSize } from './containers/mpegts-video.js';
import { isMxf, mxfVideoFacts } from './containers/mxf-video.js';
import { isOgg, oggVideoFacts } from './containers/ogg-video.js';
import { flvVideoFacts, isFlv } from './containers/flv.js';
import { aviVideoFacts, isAvi } from './containers/avi.js';
import { isWtv, requireWtvTimeline } from './containers/wtv.js';
import type { Probe, ProbeContext, ProbeWarning } from './types.js';
import type { CustomerProvidedVideoMetadata } from '../schema/metadata.js';

const HEAD_BYTES = 4096;
/** First boxes of ISO BMFF / QuickTime files ('jP  ' opens Motion JPEG 2000). */
const MP4_LEAD_BOXES = new Set(['ftyp', 'moov', 'mdat', 'free', 'skip', 'wide', 'pnot', 'junk', 'uuid', 'udta', 'jP  ']);
const EBML_MAGIC = [0x1a, 0x45, 0xdf, 0xa3];

export const probeVideo: Probe<'video'> = async (source, context) => {
  const head = await source.read(0, HEAD_BYTES);
  if (head.byteLength === 0) throw new ProbeError('empty_file', `${source.name} is empty`);
  const { facts, fallbackReason, ffprobeVersion } = await readFacts(source, head, context);
  const fileSize = await source.size();
  return {
    metadata: toMetadata(facts, fileSize, facts.reader === 'ffprobe' ? `${source.name} (as ffprobe reads it)` : source.name),
    warnings: warningsFor(facts),
    details: { reader: facts.reader, ...(fallbackReason && { fallbackReason }), ...(ffprobeVersion && { ffprobeVersion }) },
  };
};

interface ReadFacts {
  facts: VideoFacts;
  fallbackReason?: string;
  ffprobeVersion?: string;
}

/** In-process readers first; ffprobe for other containers and whatever they are unsure of. */
async function readFacts(source: ByteSource, head: Uint8Array, context: ProbeContext): Promise<ReadFacts> {
  let knownMime: string | undefined;
  let fallbackReason: string | undefined;
  if (isRedRaw(head)) throw new ProbeError('unsupported_format', `${source.name} is RED R3D raw video, which FFmpeg cannot read`);
  if (isWtv(head)) await requireWtvTimeline(source);
  try {
    if (isMp4(head)) {
      const file = await parseMp4(source);
      knownMime = mp4Mime(file);
      return { facts: await mp4VideoFacts(file, source) };
    }
    if (isEbml(head)) {
      knownMime = readDocType(head) === 'webm' ? 'video/webm' : 'video/x-matroska';
      const file = await parseMatroska(source, { blockTracks: videoTrackNumbers });
      return { facts: matroskaVideoFacts(file, source.name) };
    }
    if (isOgg(head)) return { facts: await oggVideoFacts(source) };
    if (isFlv(head)) return { facts: await flvVideoFacts(source, head) };
    if (isAvi(head)) return { facts: await aviVideoFacts(source) };
    if (transportPacketSize(head)) return { facts: await mpegTsVideoFacts(source, head, 'video/mp2t') };
    if (isProgramStream(head)) return { facts: await mpegPsVideoFacts(source, 'video/mpeg') };
    if (isMpegVideoElementaryStream(head)) return { facts: await mpegVideoEsFacts(source) };
    if (isAsf(head)) return { facts: await asfVideoFacts(source) };
    if (isRealMedia(head)) return { facts: await realMediaVideoFacts(source) };
    if (isMxf(head)) return { facts: await mxfVideoFacts(source) };
  } catch (error) {
    // Typed verdicts (truncated, no_video_stream, I/O) stand; a reader that is unsure or meets
    // something it does not model hands the file to ffprobe rather than guess.
    if (error instanceof ProbeError) throw error;
    fallbackReason = error instanceof Error ? error.message : String(error);
  }
  const facts = await ffprobeVideoFacts(source, context.options, { known: knownMime, detected: context.detection.mime });
  return { facts, fallbackReason, ffprobeVersion: facts.ffprobeVersion };
}

function videoTrackNumbers(tracks: MatroskaTrack[]): number[] {
  const track = firstMatroskaVideoTrack(tracks);
  return track ? [track.number] : [];
}

function isMp4(head: Uint8Array): boolean {
  if (head.byteLength < 8) return false;
  return MP4_LEAD_BOXES.has(String.fromCharCode(head[4]!, head[5]!, head[6]!, head[7]!));
}

/** RED R3D clips open with a header atom 'RED1' or 'RED2'; no FFmpeg demuxer reads them. */
function isRedRaw(head: Uint8Array): boolean {
  const tag = String.fromCharCode(...head.subarray(4, 8));
  return tag === 'RED1' || tag === 'RED2';
}

function isEbml(head: Uint8Array): boolean {
  return EBML_MAGIC.every((byte, i) => head[i] === byte);
}

function isQuarterTurn(rotation: number | undefined): boolean {
  return rotation !== undefined && [90, 270].includes(Math.abs(rotation));
}

function toMetadata(facts: VideoFacts, fileSize: number, name: string): CustomerProvidedVideoMetadata {
  const { stream } = facts;
  if (!(stream.width > 0 && stream.height > 0)) {
    throw new ProbeError('corrupt_file', `${name}: the video stream has no picture size (${stream.width}x${stream.height})`);
  }
  const turned = isQuarterTurn(stream.rotation);
  return {
    fps: framesPerSecond(facts, name),
    duration: durationOf(facts, name),
    width: turned ? stream.height : stream.width,
    height: turned ? stream.width : stream.height,
    file_size: fileSize,
    mime_type: facts.mime,
  };
}

/** avg_frame_rate; when the container states none, frames over the stream duration (SPEC.md). */
function framesPerSecond({ stream }: VideoFacts, name: string): number {
  // A zero rate (0/1, as ffprobe prints for an absurd Matroska DefaultDuration) states nothing.
  if (stream.avgFrameRate && stream.avgFrameRate.num > 0) return stream.avgFrameRate.num / stream.avgFrameRate.den;
  if (stream.frameCount && stream.duration) return stream.frameCount / stream.duration;
  throw new ProbeError('unknown_frame_rate', `${name}: the container states no frame rate and no frame count over a duration`);
}

function durationOf({ containerDuration, stream }: VideoFacts, name: string): number {
  const duration = containerDuration ?? stream.duration;
  if (duration === undefined || !(duration > 0)) throw new ProbeError('corrupt_file', `${name}: neither the container nor the video stream states a duration`);
  return duration;
}

const PLAYED_BY_ENCORD = new Set(['video/mp4', 'video/webm', 'video/x-matroska']);

function warningsFor({ mime, stream }: VideoFacts): ProbeWarning[] {
  const warnings: ProbeWarning[] = [];
  if (mime === 'video/quicktime') {
    warnings.push({ code: 'browser_support_limited', message: 'QuickTime (.mov) plays only in some browsers' });
  } else if (!PLAYED_BY_ENCORD.has(mime)) {
    warnings.push({ code: 'unsupported_by_encord', message: `Encord does not play ${mime}` });
  }
  const ratio = stream.sampleAspectRatio;
  if (ratio && ratio.num > 0 && ratio.den > 0 && ratio.num !== ratio.den) {
    warnings.push({ code: 'non_square_pixels', message: `sample aspect ratio ${ratio.num}:${ratio.den}` });
  }
  if (isQuarterTurn(stream.rotation)) {
    warnings.push({ code: 'rotation_applied', message: `display matrix rotates by ${stream.rotation} degrees: width and height swapped` });
  }
  if (stream.variableFrameRate) {
    warnings.push({ code: 'variable_frame_rate', message: 'frame durations vary: labels mapped to frames by fps will drift' });
  }
  return warnings.sort((a, b) => a.code.localeCompare(b.code));
}
