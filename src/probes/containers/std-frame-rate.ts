/**
 * The "standard" frame rates avformat_find_stream_info rounds a measured average frame rate to
 * (libavformat/demux.c get_std_framerate): the estimate is replaced by the closest of them when it
 * lies within 1 %.
 */
import { avReduce, type Rational } from './rational.js';

const STD_DEN = 12 * 1001;

/** get_std_framerate(i), over 12 * 1001. */
function stdFrameRate(i: number): number {
  if (i < 30 * 12) return (i + 1) * 1001;
  i -= 30 * 12;
  if (i < 30) return (i + 31) * 1001 * 12;
  i -= 30;
  if (i < 3) return [80, 120, 240][i]! * 1001 * 12;
  return [24, 30, 60, 12, 15, 48][i - 3]! * 1000 * 12;
}

const STD_COUNT = 30 * 12 + 30 + 3 + 6;

/** The average frame rate find_stream_info reports for a measured `rate`: the nearest standard rate within 1 %, else the rate. */
export function standardFrameRate(rate: Rational): Rational {
  let bestError = 0.01;
  let best = 0;
  for (let j = 0; j < STD_COUNT; j++) {
    const error = Math.abs(rate.num / rate.den / (stdFrameRate(j) / STD_DEN) - 1);
    if (error < bestError) {
      bestError = error;
      best = stdFrameRate(j);
    }
  }
  return best ? avReduce(best, STD_DEN) : rate;
}
