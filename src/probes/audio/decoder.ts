import { ProbeError } from '../../errors.js';
import { runFfprobe, type FfprobeResult, type FfprobeStream } from '../ffprobe.js';
import { specBitDepth, specCodecName } from './codec.js';
import { DecoderNeeded, type AudioFacts, type AudioInput } from './facts.js';
import { containerMime } from './mime.js';

/**
 * The fallback for what the in-process readers do not measure: ffprobe decodes the first audio
 * stream and its decoded frames are counted, which is exactly the SPEC oracle (ffmpeg's decoded
 * length), with every trim (encoder delay, edit lists, Opus pre-skip) the decoder applies.
 */

const DECODE_ARGS = ['-select_streams', 'a:0', '-show_frames', '-show_entries', 'frame=nb_samples,channels', '-print_format', 'json=compact=1'];

/** Containers whose ffprobe duration comes from a header or index, not from a bitrate estimate. */
const HEADER_DURATION_FORMATS = /^(matroska|asf|mov|ape|wv|tak|tta|mpc|dsf|iff|rm|mxf|caf|ogg|flac|wav|w64|aiff)/;

export async function decodeWithFfprobe(input: AudioInput, hint?: DecoderNeeded): Promise<AudioFacts> {
  const result = await runFfprobe(input.source, input.options, DECODE_ARGS);
  const stream = result.streams.find((s) => s.codec_type === 'audio');
  if (!stream) throw new ProbeError('no_audio_stream', `${input.source.name} has no audio stream`);
  const codec = specCodecName(stream.codec_name ?? '');
  if (!codec || codec === 'none') throw new ProbeError('corrupt_file', 'ffprobe names no codec for the audio stream');
  const sampleRate = streamRate(stream, codec);
  const channels = decodedChannels(result) ?? stream.channels ?? 0;
  const bitDepth = specBitDepth({
    codec,
    bitsPerRawSample: Number(stream.bits_per_raw_sample ?? 0),
    bitsPerSample: stream.bits_per_sample,
    sampleFormat: stream.sample_fmt,
  });
  if (!sampleRate || channels < 1 || !bitDepth) {
    throw new ProbeError('corrupt_file', `ffprobe reports ${sampleRate} Hz, ${channels} channels, ${bitDepth} bits for ${codec}`);
  }
  const duration = decodedSeconds(result, stream);
  checkAgainstDeclared(duration, hint?.declaredDuration ?? headerDuration(result), hint?.declaredIsExact ?? false);
  const mime = hint?.mime ?? containerMime(result.format.format_name ?? '', input.head, input.detection);
  if (!mime) throw new ProbeError('unsupported_format', `no MIME type is known for ffprobe's ${result.format.format_name} format`);
  return { mime, codec, sampleRate, channels, bitDepth, duration };
}

/** DSD decoders output PCM at 1/8 of the 1-bit rate; SPEC wants the 1-bit rate. */
function streamRate(stream: FfprobeStream, codec: string): number {
  const rate = Number(stream.sample_rate ?? 0);
  return codec.startsWith('dsd_') ? rate * 8 : rate;
}

function decodedSeconds(result: FfprobeResult, stream: FfprobeStream): number {
  const frames = result.frames;
  if (!frames) throw new ProbeError('corrupt_file', 'ffprobe returned no decoded frames to measure the audio by');
  const samples = frames.reduce((sum, frame) => sum + (frame.nb_samples ?? 0), 0);
  if (samples === 0) {
    throw new ProbeError(headerDuration(result) ? 'truncated' : 'corrupt_file', 'the decoder produced no audio from the file');
  }
  return samples / Number(stream.sample_rate);
}

/**
 * The channel count of the decoded frames. With -show_frames, ffprobe prints the stream's fields
 * as the demuxer and decoder left them after the last packet: a chained Ogg Opus whose second
 * link has more channels shows those, while every frame decodes with the first link's. A stream
 * whose frames change their channel count (files joined end to end) has no one answer.
 */
function decodedChannels(result: FfprobeResult): number | undefined {
  const counts = new Set((result.frames ?? []).filter((frame) => frame.nb_samples && frame.channels).map((frame) => frame.channels!));
  if (counts.size > 1) throw new ProbeError('corrupt_file', `the channel count changes within the stream (${[...counts].join(', ')})`);
  return counts.size === 1 ? [...counts][0] : undefined;
}

/** How far the decoded length may fall short of the declared one before the file counts as cut. */
export const allowedShortfall = (declared: number, exact: boolean) => (exact ? 1e-6 : Math.max(0.5, 0.005 * declared));

function headerDuration(result: FfprobeResult): number | undefined {
  const duration = Number(result.format.duration);
  return HEADER_DURATION_FORMATS.test(result.format.format_name ?? '') && duration > 0 ? duration : undefined;
}

/**
 * A decoder playing less than the header declares means the data ends early: any shortfall when
 * the header counts the decoder's samples exactly; otherwise a clear one, since small differences
 * are the container's own rounding and the codec's priming, not damage.
 */
export function checkAgainstDeclared(decoded: number, declared: number | undefined, exact: boolean): void {
  if (declared === undefined) return;
  if (declared - decoded > allowedShortfall(declared, exact)) {
    throw new ProbeError('truncated', `the header declares ${declared.toFixed(3)} s, the decoder plays ${decoded.toFixed(3)} s`);
  }
}
