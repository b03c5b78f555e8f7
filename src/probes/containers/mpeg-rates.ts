/**
 * The frame rates avformat_find_stream_info (FFmpeg 5.1, libavformat/demux.c) derives for MPEG
 * program and transport streams, whose 1/90000 time base says nothing about the rate:
 * avg_frame_rate from the summed packet durations, rounded to a standard rate within 1%, and
 * r_frame_rate from the decode timestamps (ff_rfps_add_frame / ff_rfps_calculate), in the same
 * double arithmetic so that near-ties fall the same way.
 */
import { avReduce, type Rational } from './rational.js';

export const MPEG_CLOCK = 90000;
/** get_std_framerate(): 1/12 fps steps up to 30, 31..60, 80, 120, 240, then the NTSC rates; all over 12 * 1001. */
const STD_RATE_COUNT = 30 * 12 + 30 + 3 + 6;
const STD_DEN = 12 * 1001;

function stdFrameRate(i: number): number {
  if (i < 30 * 12) return (i + 1) * 1001;
  i -= 30 * 12;
  if (i < 30) return (i + 31) * 1001 * 12;
  i -= 30;
  if (i < 3) return [80, 120, 240][i]! * 1001 * 12;
  i -= 3;
  return [24, 30, 60, 12, 15, 48][i]! * 1000 * 12;
}

/**
 * avg_frame_rate when every analysed packet lasted `packetTicks` (90 kHz) and counted
 * `packetFields` fields: fields * 90000 / (duration * 2), reduced to terms of 60000, then the
 * nearest standard rate within 1% (the codec's own rate, which some demuxers also weigh, gives
 * the same frame length).
 */
export function averageFrameRate(packetTicks: number, packetFields = 2): Rational {
  const measured = avReduce(packetFields * MPEG_CLOCK, packetTicks * 2, 60000);
  let bestError = 0.01;
  let best = 0;
  for (let j = 0; j < STD_RATE_COUNT; j++) {
    const error = Math.abs(measured.num / measured.den / (stdFrameRate(j) / STD_DEN) - 1);
    if (error < bestError) {
      bestError = error;
      best = stdFrameRate(j);
    }
  }
  return best ? avReduce(best, STD_DEN) : measured;
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

/** FFStreamInfo's r_frame_rate statistics, fed one decode timestamp per video packet. */
export class RealFrameRateEstimator {
  /** duration_error[k][0|1][i]: sums of the distance to rate i's grid (k = 1: half a frame off) and of its square. */
  private readonly sums: [Float64Array, Float64Array][] = [0, 1].map(() => [new Float64Array(STD_RATE_COUNT), new Float64Array(STD_RATE_COUNT)]);
  private lastDts: number | undefined;
  private count = 0;
  private durationSum = 0;
  private durationGcd = 0;

  /** ff_rfps_add_frame. */
  add(dts: number): void {
    const last = this.lastDts;
    this.lastDts = dts;
    if (last === undefined || dts <= last) return;
    const seconds = dts * (1 / MPEG_CLOCK);
    const duration = dts - last;
    for (let i = 0; i < STD_RATE_COUNT; i++) {
      if (!(this.sums[0]![1]![i]! < 1e10)) continue;
      const scaled = (seconds * stdFrameRate(i)) / (1001 * 12);
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
   * ff_rfps_calculate for a codec whose time base FFmpeg deems unreliable (H.264, MPEG-2): the
   * common duration when it is coarse enough, else the standard rate whose grid the timestamps
   * fit best. `analysedTicks` is codec_info_duration. Undefined when neither applies.
   */
  rate(analysedTicks: number): Rational | undefined {
    if (this.count > 15 && this.durationGcd > MPEG_CLOCK / 500) return avReduce(MPEG_CLOCK, this.durationGcd);
    if (this.count <= 1) return undefined;
    let best = 0;
    let bestError = 0.01;
    const meanDuration = ((1 / MPEG_CLOCK) * this.durationSum) / this.count;
    for (let j = 0; j < STD_RATE_COUNT; j++) {
      const rate = stdFrameRate(j);
      if (analysedTicks && analysedTicks * (1 / MPEG_CLOCK) < (1001 * 12.0) / rate) continue;
      if (!analysedTicks && rate < 1001 * 12) continue;
      if (meanDuration < (1001 * 12.0 * 0.8) / rate) continue;
      for (let k = 0; k < 2; k++) {
        const error = this.variance(k, j);
        if (error < bestError && bestError > 0.000000001) {
          bestError = error;
          best = rate;
        }
      }
    }
    return best && best / (12 * 1001) < 1.01 * MPEG_CLOCK ? avReduce(best, 12 * 1001) : undefined;
  }
}
