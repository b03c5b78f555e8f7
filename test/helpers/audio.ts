import { execFileSync } from 'node:child_process';
import { ffmpegPath } from '../../scripts/fixtures-audio.mjs';
import { probeAudio } from '../../src/probes/audio.js';
import type { AudioInput } from '../../src/probes/audio/facts.js';
import type { ProbeContext } from '../../src/probes/types.js';
import { BufferSource } from '../../src/sources/buffer.js';
import { FileSource } from '../../src/sources/file.js';
import type { ByteSource } from '../../src/sources/source.js';

export const audioContext: ProbeContext = { options: {}, detection: { modality: 'audio', mime: '', format: '', warnings: [] } };

/** probeAudio over a source, closed afterwards. */
export async function probeAudioSource(source: ByteSource) {
  try {
    return await probeAudio(source, audioContext);
  } finally {
    await source.close();
  }
}

/** probeAudio over a local file, closed afterwards. */
export const probeAudioFile = (path: string) => probeAudioSource(new FileSource(path));

/** probeAudio over bytes in memory. */
export const probeAudioBytes = (bytes: Uint8Array) => probeAudioSource(new BufferSource(bytes));

/** A reader's input over bytes in memory, to call a reader directly and see a DecoderNeeded the probe would hand to ffprobe. */
export function readerInput(bytes: Uint8Array): AudioInput {
  const source = new BufferSource(bytes);
  return { source, head: bytes.subarray(0, 65536), options: {}, detection: audioContext.detection, size: () => source.size() };
}

/** The SPEC fields with the duration as decoded samples, and the reader that answered. */
export async function measured(path: string) {
  const { metadata, details } = await probeAudioFile(path);
  const { codec, sample_rate, num_channels, bit_depth, duration } = metadata;
  return { reader: details?.reader, codec, sample_rate, num_channels, bit_depth, samples: Math.round(duration! * sample_rate!) };
}

/** A sine tone of `samples` samples written to `path` by the pinned ffmpeg with the given output options. */
export function writeTone(path: string, rate: number, samples: number, channels: number, options: string[]): void {
  const input = ['-f', 'lavfi', '-i', `sine=f=440:r=${rate}:d=2`, '-af', `atrim=end_sample=${samples}`, '-ac', String(channels)];
  execFileSync(ffmpegPath(), ['-v', 'error', '-y', '-nostdin', ...input, ...options, path]);
}
