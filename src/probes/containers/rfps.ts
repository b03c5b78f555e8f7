/**
 * The frame rate avformat_find_stream_info guesses from the dts of the video packets it reads
 * (libavformat/demux.c ff_rfps_add_frame / ff_rfps_calculate, FFmpeg 5.1), for containers whose
 * packets carry no durations: r_frame_rate from the gcd of the dts steps or the standard rate that
 * fits them best, and avg_frame_rate set to it when the mean step agrees within 10%. Reproduced in
 * the same double arithmetic, for a millisecond time base (tb_unreliable holds).
 */
import { avReduce, type Rational } from './rational.js';

/** get_std_framerate(i), over 12 * 1001. */
function stdFrameRate(i: number): number {
  if (i < 30 * 12) return (i + 1) * 1001;
  i -= 30 * 12;
  if (i < 30) return (i + 31) * 1001 * 12;
  i -= 30;
  if (i < 3) return [80, 120, 240][i]! * 1001 * 12;
  return [24, 30, 60, 12, 15, 48][i - 3]! * 1000 * 12;
}

const MAX_STD_TIMEBASES = 30 * 12 + 30 + 3 + 6;
const STD_DEN = 1001 * 12;

/** llrint: round to nearest, ties to even. */
function llrint(value: number): number {
  const floor = Math.floor(value);
  const fraction = value - floor;
  if (fraction > 0.5) return floor + 1;
  if (fraction < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

export class FrameRateGuess {
  private lastDts: number | undefined;
  private count = 0;
  private durationSum = 0;
  private durationGcd = 0;
  /** duration_error[j][0|1][i]: sums of the rounding errors (and squares) against each standard rate, two phases. */
  private readonly errors = [0, 1].map(() => [new Float64Array(MAX_STD_TIMEBASES), new Float64Array(MAX_STD_TIMEBASES)]);

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
    const dts = ts * (this.timeBase.num / this.timeBase.den);
    const duration = ts - last;
    for (let i = 0; i < MAX_STD_TIMEBASES; i++) {
      if (!(this.errors[0]![1]![i]! < 1e10)) continue;
      const sdts = (dts * stdFrameRate(i)) / STD_DEN;
      for (let j = 0; j < 2; j++) {
        const ticks = llrint(sdts + j * 0.5);
        const error = sdts - ticks + j * 0.5;
        this.errors[j]![0]![i]! += error;
        this.errors[j]![1]![i]! += error * error;
      }
    }
    this.count++;
    this.durationSum += duration;
    if (this.count % 10 === 0) this.prune();
    if (this.count > 3) this.durationGcd = gcd(this.durationGcd, duration);
  }

  private prune(): void {
    const n = this.count;
    for (let i = 0; i < MAX_STD_TIMEBASES; i++) {
      if (!(this.errors[0]![1]![i]! < 1e10)) continue;
      const a0 = this.errors[0]![0]![i]! / n;
      const error0 = this.errors[0]![1]![i]! / n - a0 * a0;
      const a1 = this.errors[1]![0]![i]! / n;
      const error1 = this.errors[1]![1]![i]! / n - a1 * a1;
      if (error0 > 0.04 && error1 > 0.04) {
        this.errors[0]![1]![i] = 2e10;
        this.errors[1]![1]![i] = 2e10;
      }
    }
  }

  /** ff_rfps_calculate's r_frame_rate (codec_info_duration 0: packets without durations). */
  rFrameRate(): Rational | undefined {
    const tb = this.timeBase.num / this.timeBase.den;
    if (this.count > 15 && this.durationGcd > Math.max(1, Math.floor(this.timeBase.den / (500 * this.timeBase.num)))) {
      return avReduce(this.timeBase.den, this.timeBase.num * this.durationGcd);
    }
    if (this.count <= 1) return undefined;
    let best = 0;
    let bestError = 0.01;
    for (let j = 0; j < MAX_STD_TIMEBASES; j++) {
      const rate = stdFrameRate(j);
      if (rate < STD_DEN) continue;
      if ((tb * this.durationSum) / this.count < (STD_DEN * 0.8) / rate) continue;
      for (let k = 0; k < 2; k++) {
        const a = this.errors[k]![0]![j]! / this.count;
        const error = this.errors[k]![1]![j]! / this.count - a * a;
        if (error < bestError && bestError > 0.000000001) {
          bestError = error;
          best = rate;
        }
      }
    }
    const reference = this.timeBase.den / this.timeBase.num;
    if (best && best / STD_DEN < 1.01 * reference) return avReduce(best, STD_DEN);
    return undefined;
  }

  /** avg_frame_rate as ff_rfps_calculate sets it from r_frame_rate (mean step within one tick); undefined when it stays 0/0. */
  averageFrameRate(): Rational | undefined {
    const rate = this.rFrameRate();
    if (!rate || this.durationSum === 0 || this.count <= 2) return undefined;
    const tb = this.timeBase.num / this.timeBase.den;
    return Math.abs(1.0 / ((rate.num / rate.den) * tb) - this.durationSum / this.count) <= 1.0 ? rate : undefined;
  }
}
