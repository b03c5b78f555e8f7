/**
 * The frame rates avformat_find_stream_info (FFmpeg 5.1, libavformat/demux.c) derives when a
 * container's time base says nothing about the rate, reproduced in the same double arithmetic so
 * that near-ties fall the same way:
 * - avg_frame_rate from a measured rate, rounded to the nearest standard rate within 1%;
 * - r_frame_rate from the dts of the video packets (ff_rfps_add_frame / ff_rfps_calculate), and
 *   avg_frame_rate set to it for packets without durations when the mean step agrees.
 */
import { avReduce, type Rational } from './rational.js';

/** get_std_framerate(): 1/12 fps steps up to 30, 31..60, 80, 120, 240, then the NTSC rates; all over 12 * 1001. */
const STD_RATE_COUNT = 30 * 12 + 30 + 3 + 6;
const STD_DEN = 12 * 1001;

function stdFrameRate(i: number): number {
  if (i < 30 * 12) return (i + 1) * 1001;
  i -= 30 * 12;
  if (i < 30) return (i + 31) * 1001 * 12;
  i -= 30;
  if (i < 3) return [80, 120, 240][i]! * 1001 * 12;
  return [24, 30, 60, 12, 15, 48][i - 3]! * 1000 * 12;
}

/** The average frame rate find_stream_info reports for a measured `rate`: the nearest standard rate within 1 %, else the rate. */
export function standardFrameRate(rate: Rational): Rational {
  let bestError = 0.01;
  let best = 0;
  for (let j = 0; j < STD_RATE_COUNT; j++) {
    const error = Math.abs(rate.num / rate.den / (stdFrameRate(j) / STD_DEN) - 1);
    if (error < bestError) {
      bestError = error;
      best = stdFrameRate(j);
    }
  }
  return best ? avReduce(best, STD_DEN) : rate;
}

/** llrint() in the default rounding mode: halfway cases to even. */
function llrint(value: number): number {
  const floor = Math.floor(value);
  const fraction = value - floor;
  if (fraction > 0.5) return floor + 1;
  if (fraction < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return Math.abs(a);
}

/** FFStreamInfo's r_frame_rate statistics for one video stream, fed its packets' dts in time-base units. */
export class FrameRateGuess {
  /** duration_error[k][0|1][i]: sums of the distance to rate i's grid (k = 1: half a frame off) and of its square. */
  private readonly sums: [Float64Array, Float64Array][] = [0, 1].map(() => [new Float64Array(STD_RATE_COUNT), new Float64Array(STD_RATE_COUNT)]);
  private lastDts: number | undefined;
  private count = 0;
  private durationSum = 0;
  private durationGcd = 0;

  constructor(private readonly timeBase: Rational) {}

  /** Steps counted (duration_count), what find_stream_info compares with fps_analyze_framecount. */
  get steps(): number {
    return this.count;
  }

  /** ff_rfps_add_frame. */
  add(ts: number): void {
    const last = this.lastDts;
    this.lastDts = ts;
    if (last === undefined || !(ts > last)) return;
    const seconds = ts * (this.timeBase.num / this.timeBase.den);
    const duration = ts - last;
    for (let i = 0; i < STD_RATE_COUNT; i++) {
      if (!(this.sums[0]![1]![i]! < 1e10)) continue;
      const scaled = (seconds * stdFrameRate(i)) / STD_DEN;
      for (let k = 0; k < 2; k++) {
        const ticks = llrint(scaled + k * 0.5);
        const error = scaled - ticks + k * 0.5;
        const [sum, squares] = this.sums[k]!;
        sum[i] = sum[i]! + error;
        squares[i] = squares[i]! + error * error;
      }
    }
    this.count++;
    this.durationSum += duration;
    if (this.count % 10 === 0) this.dropFarRates();
    // The first four durations may jitter.
    if (this.count > 3) this.durationGcd = gcd(this.durationGcd, duration);
  }

  private variance(k: number, i: number): number {
    const mean = this.sums[k]![0]![i]! / this.count;
    return this.sums[k]![1]![i]! / this.count - mean * mean;
  }

  private dropFarRates(): void {
    for (let i = 0; i < STD_RATE_COUNT; i++) {
      if (!(this.sums[0]![1]![i]! < 1e10)) continue;
      if (this.variance(0, i) > 0.04 && this.variance(1, i) > 0.04) {
        this.sums[0]![1]![i] = 2e10;
        this.sums[1]![1]![i] = 2e10;
      }
    }
  }

  /**
   * ff_rfps_calculate's r_frame_rate for a time base FFmpeg deems unreliable: the common duration
   * when it is coarse enough, else the standard rate whose grid the timestamps fit best.
   * `analysedTicks` is codec_info_duration (0 for packets without durations). Undefined when
   * neither applies.
   */
  rFrameRate(analysedTicks = 0): Rational | undefined {
    const { num, den } = this.timeBase;
    if (this.count > 15 && this.durationGcd > Math.max(1, Math.floor(den / (500 * num)))) return avReduce(den, num * this.durationGcd);
    if (this.count <= 1) return undefined;
    const tb = num / den;
    let best = 0;
    let bestError = 0.01;
    const meanDuration = (tb * this.durationSum) / this.count;
    for (let j = 0; j < STD_RATE_COUNT; j++) {
      const rate = stdFrameRate(j);
      if (analysedTicks && analysedTicks * tb < (1001 * 11.5) / rate) continue;
      if (!analysedTicks && rate < STD_DEN) continue;
      if (meanDuration < (1001 * 12.0 * 0.8) / rate) continue;
      for (let k = 0; k < 2; k++) {
        const error = this.variance(k, j);
        if (error < bestError && bestError > 0.000000001) {
          bestError = error;
          best = rate;
        }
      }
    }
    // Never more than 1% above the time base's own rate.
    return best && best / STD_DEN < 1.01 * (den / num) ? avReduce(best, STD_DEN) : undefined;
  }

  /** avg_frame_rate as ff_rfps_calculate sets it from r_frame_rate for packets without durations (mean step within one tick); undefined when it stays 0/0. */
  averageFrameRate(): Rational | undefined {
    const rate = this.rFrameRate();
    if (!rate || this.durationSum === 0 || this.count <= 2) return undefined;
    const tb = this.timeBase.num / this.timeBase.den;
    return Math.abs(1.0 / ((rate.num / rate.den) * tb) - this.durationSum / this.count) <= 1.0 ? rate : undefined;
  }
}
