import { describe, expect, it } from 'vitest';
import { aacConfigProblem } from '../src/probes/containers/codecs/decoder-config.js';

/** A 2-byte AudioSpecificConfig: object type (5 bits), sampling index (4), channel configuration (4). */
const config = (objectType: number, samplingIndex: number, channels: number) => {
  const bits = (objectType << 11) | (samplingIndex << 7) | (channels << 3);
  return Uint8Array.of(bits >> 8, bits & 0xff);
};

describe('aacConfigProblem', () => {
  it('accepts the channel configurations FFmpeg 5.1 opens, 6.1, 7.1 rear-surround and 22.2 included', () => {
    // Debian ffprobe 5.1.9 opens AAC-LC 48 kHz configs 11, 12, 13 (8 and 24 channels decoded).
    for (const channels of [1, 2, 3, 4, 5, 6, 7, 11, 12, 13]) expect(aacConfigProblem(config(2, 3, channels))).toBeUndefined();
  });

  it('names the configurations set_default_channel_config refuses, and 0 (a PCE this check does not read)', () => {
    for (const channels of [0, 8, 9, 10, 14, 15]) expect(aacConfigProblem(config(2, 3, channels))).toBe(`channel configuration ${channels}`);
  });

  it('names object types without a decoder and sampling indices past the table', () => {
    expect(aacConfigProblem(config(7, 3, 2))).toBe('audio object type 7');
    expect(aacConfigProblem(config(2, 13, 2))).toBe('sampling index 13');
    expect(aacConfigProblem(Uint8Array.of(0x12))).toBe('AudioSpecificConfig ends early');
  });
});
