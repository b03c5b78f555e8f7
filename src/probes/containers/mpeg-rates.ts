/**
 * The average frame rate avformat_find_stream_info (FFmpeg 5.1, libavformat/demux.c) derives for
 * MPEG program and transport streams, whose 1/90000 time base says nothing about the rate: from
 * the summed packet durations, rounded to a standard rate within 1% (frame-rate-guess.ts).
 */
import { standardFrameRate } from './frame-rate-guess.js';
import { avReduce, type Rational } from './rational.js';

export const MPEG_CLOCK = 90000;

/**
 * avg_frame_rate when every analysed packet lasted `packetTicks` (90 kHz) and counted
 * `packetFields` fields: fields * 90000 / (duration * 2), reduced to terms of 60000, then the
 * nearest standard rate within 1% (the codec's own rate, which some demuxers also weigh, gives
 * the same frame length).
 */
export function averageFrameRate(packetTicks: number, packetFields = 2): Rational {
  return standardFrameRate(avReduce(packetFields * MPEG_CLOCK, packetTicks * 2, 60000));
}
