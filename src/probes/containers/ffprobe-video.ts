/**
 * Video facts from ffprobe's report, for containers read by ffprobe (and files the in-process
 * readers were unsure about), with the truncation checks ffprobe itself does not make.
 */
import { ProbeError } from '../../errors.js';
import type { ByteSource } from '../../sources/source.js';
import { runFfprobe, type FfprobePacket, type FfprobeStream } from '../ffprobe.js';
import type { ProbeOptions } from '../types.js';
import type { VideoFacts } from './facts.js';
import { timestampsVary } from './frame-rate-mode.js';
import { checkAfterFfprobe, checkBeforeFfprobe } from './integrity.js';
import { parseRatio, type Rational } from './rational.js';

/** MIME types SPEC.md names per container, by ffprobe format name. */
const MIME_BY_FORMAT: Record<string, string> = {
  matroska: 'video/x-matroska',
  avi: 'video/x-msvideo',
  mpegts: 'video/mp2t',
  ogg: 'video/ogg',
  mpeg: 'video/mpeg',
  mpegvideo: 'video/mpeg',
  flv: 'video/x-flv',
  asf: 'video/x-ms-asf',
};

const HEAD_BYTES = 1024;

/** Packets read to judge the frame rate mode (MediaInfo looks at the first 41 frames). */
const VFR_PACKETS = 41;

export interface FfprobeVideoFacts extends VideoFacts {
  ffprobeVersion: string;
}

export interface MimeHints {
  /** The MIME type an in-process reader already decided (MP4 brands, Matroska DocType). */
  known?: string;
  /** The detector's content-based type, for formats SPEC.md has no entry for (ExifTool's). */
  detected: string;
}

/** Runs ffprobe and describes its first non-cover-art video stream. */
export async function ffprobeVideoFacts(source: ByteSource, options: ProbeOptions, mime: MimeHints): Promise<FfprobeVideoFacts> {
  const head = await source.read(0, HEAD_BYTES);
  await checkBeforeFfprobe(source, head);
  const result = await runFfprobe(source, options, ['-show_entries', 'packet=stream_index,pts,dts,duration', '-read_intervals', `%+#${VFR_PACKETS * 4}`]);
  const stream = result.streams.find((candidate) => candidate.codec_type === 'video' && !candidate.disposition?.attached_pic);
  if (!stream) throw new ProbeError('no_video_stream', `${source.name} has no video stream`);
  const formatName = result.format.format_name ?? '';
  const containerDuration = positive(result.format.duration);
  await checkAfterFfprobe(source, head, containerDuration, result.stderr ?? '');
  const avgFrameRate = parseRatio(stream.avg_frame_rate);
  return {
    mime: mime.known ?? mimeOfFormat(formatName) ?? mime.detected,
    containerDuration,
    stream: {
      width: stream.width ?? 0,
      height: stream.height ?? 0,
      avgFrameRate: avgFrameRate && avgFrameRate.num > 0 && avgFrameRate.den > 0 ? avgFrameRate : undefined,
      frameCount: await frameCount(source, options, stream, avgFrameRate),
      duration: positive(stream.duration),
      sampleAspectRatio: parseRatio(stream.sample_aspect_ratio, ':'),
      rotation: rotationOf(stream),
      variableFrameRate: isVariableFrameRate(result.packets ?? [], stream.index),
    },
    reader: 'ffprobe',
    ffprobeVersion: result.version,
  };
}

function positive(text: string | undefined): number | undefined {
  const value = text === undefined ? NaN : Number(text);
  return value > 0 ? value : undefined;
}

function mimeOfFormat(formatName: string): string | undefined {
  return formatName.split(',').map((name) => MIME_BY_FORMAT[name]).find(Boolean);
}

/**
 * The frame count SPEC.md divides by the stream duration when the average rate is 0/0: the
 * container's count, else the packets ffprobe counts (-count_packets).
 */
async function frameCount(source: ByteSource, options: ProbeOptions, stream: FfprobeStream, rate: Rational | undefined): Promise<number | undefined> {
  const declared = Number(stream.nb_frames);
  if (declared > 0) return declared;
  if (rate && rate.num > 0 && rate.den > 0) return undefined;
  const counted = await runFfprobe(source, options, ['-count_packets', '-select_streams', String(stream.index)]);
  const packets = Number(counted.streams[0]?.nb_read_packets);
  return packets > 0 ? packets : undefined;
}

function rotationOf(stream: FfprobeStream): number | undefined {
  const matrix = stream.side_data_list?.find((data) => data.side_data_type === 'Display Matrix');
  if (matrix?.rotation !== undefined) return matrix.rotation;
  const tag = stream.tags?.rotate;
  return tag === undefined ? undefined : -Number(tag);
}

/** MediaInfo's frame-rate-mode rule over the first packets' timestamps of the stream. */
function isVariableFrameRate(packets: FfprobePacket[], index: number): boolean {
  const times = packets
    .filter((packet) => packet.stream_index === index)
    .map((packet) => packet.pts ?? packet.dts)
    .filter((time): time is number => typeof time === 'number');
  return timestampsVary(times.slice(0, VFR_PACKETS));
}
