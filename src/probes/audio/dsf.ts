import { ProbeError } from '../../errors.js';
import { ascii, readExactly, u32le, u64 } from './bytes.js';
import type { AudioFacts, AudioInput } from './facts.js';
import { checkStreamShape } from './pcm.js';

/**
 * Sony DSF (DSD Stream File): the fmt chunk's sample count at the 1-bit rate, which ffmpeg's
 * decoder plays exactly, provided the data chunk holds that many samples.
 */

const MIME = 'audio/x-dsf';

export async function readDsf(input: AudioInput): Promise<AudioFacts> {
  const header = await readExactly(input.source, 0, 28 + 52 + 12, 'DSF header');
  if (ascii(header, 28) !== 'fmt ' || ascii(header, 80) !== 'data') throw new ProbeError('corrupt_file', 'DSF file without fmt and data chunks');
  const fmt = header.subarray(40);
  const channels = u32le(fmt, 12);
  const sampleRate = u32le(fmt, 16);
  const bits = u32le(fmt, 20);
  const samples = u64(fmt, 24, true);
  const blockSize = u32le(fmt, 32);
  checkStreamShape('DSF', channels, sampleRate);
  if (u32le(fmt, 4) !== 0 || (bits !== 1 && bits !== 8) || blockSize === 0) {
    throw new ProbeError('corrupt_file', `DSF format ${u32le(fmt, 4)} with ${bits} bits per sample and ${blockSize}-byte blocks`);
  }
  const dataBytes = u64(header, 84, true) - 12;
  const available = (await input.size()) - 92;
  if (dataBytes > available) throw new ProbeError('truncated', `DSF data chunk declares ${dataBytes} bytes, the file holds ${available}`);
  const needed = Math.ceil(samples / 8) * channels;
  if (dataBytes < needed) throw new ProbeError('truncated', `DSF declares ${samples} samples per channel, the data chunk holds ${dataBytes} bytes`);
  return {
    mime: MIME,
    codec: bits === 1 ? 'dsd_lsbf_planar' : 'dsd_msbf_planar',
    sampleRate,
    channels,
    bitDepth: 1,
    duration: samples / sampleRate,
  };
}
