/**
 * FFmpeg's rational arithmetic (libavutil/rational.c, mathematics.c), reproduced exactly so that
 * values computed in-process equal what ffprobe prints. BigInt keeps the 64-bit intermediates
 * exact.
 */

export interface Rational {
  num: number;
  den: number;
}

const INT_MAX = 2147483647n;

function abs(value: bigint): bigint {
  return value < 0n ? -value : value;
}

function gcd(a: bigint, b: bigint): bigint {
  while (b !== 0n) [a, b] = [b, a % b];
  return a;
}

/** av_reduce: num/den reduced, approximated by continued fractions when a term exceeds `max`. */
export function avReduce(numIn: bigint | number, denIn: bigint | number, maxIn: bigint | number = INT_MAX): Rational {
  let num = BigInt(numIn);
  let den = BigInt(denIn);
  const max = BigInt(maxIn);
  const negative = (num < 0n) !== (den < 0n);
  const divisor = gcd(abs(num), abs(den));
  if (divisor !== 0n) {
    num = abs(num) / divisor;
    den = abs(den) / divisor;
  }
  let a0 = { num: 0n, den: 1n };
  let a1 = { num: 1n, den: 0n };
  if (num <= max && den <= max) {
    a1 = { num, den };
    den = 0n;
  }
  while (den !== 0n) {
    let x = num / den;
    const nextDen = num - den * x;
    const a2n = x * a1.num + a0.num;
    const a2d = x * a1.den + a0.den;
    if (a2n > max || a2d > max) {
      if (a1.num !== 0n) x = (max - a0.num) / a1.num;
      if (a1.den !== 0n) {
        const byDen = (max - a0.den) / a1.den;
        if (byDen < x) x = byDen;
      }
      if (den * (2n * x * a1.den + a0.den) > num * a1.den) {
        a1 = { num: x * a1.num + a0.num, den: x * a1.den + a0.den };
      }
      break;
    }
    a0 = a1;
    a1 = { num: a2n, den: a2d };
    num = den;
    den = nextDen;
  }
  return { num: Number(negative ? -a1.num : a1.num), den: Number(a1.den) };
}

/** av_rescale(a, b, c): a*b/c rounded to nearest, halfway away from zero. */
export function avRescale(a: bigint | number, b: bigint | number, c: bigint | number): bigint {
  const product = BigInt(a) * BigInt(b);
  const divisor = BigInt(c);
  if (divisor === 0n) throw new RangeError('rescale by zero');
  const negative = (product < 0n) !== (divisor < 0n);
  const magnitude = (abs(product) + abs(divisor) / 2n) / abs(divisor);
  return negative ? -magnitude : magnitude;
}

/** av_d2q: the closest rational with terms up to `max`. */
export function avD2q(value: number, max = 2147483647): Rational {
  if (Number.isNaN(value)) return { num: 0, den: 0 };
  if (Math.abs(value) > 2147483647 + 3) return { num: value < 0 ? -1 : 1, den: 0 };
  const exponent = Math.max(frexpExponent(value) - 1, 0);
  const den = 1n << BigInt(61 - exponent);
  const scaled = BigInt(Math.floor(value * Number(den) + 0.5));
  let result = avReduce(scaled, den, max);
  if ((!result.num || !result.den) && value && max > 0 && max < 2147483647) result = avReduce(scaled, den, INT_MAX);
  return result;
}

/** The exponent frexp() returns: value = m * 2^e with 0.5 <= |m| < 1. */
function frexpExponent(value: number): number {
  if (value === 0 || !Number.isFinite(value)) return 0;
  let exponent = Math.floor(Math.log2(Math.abs(value))) + 1;
  // log2 can be off by one near powers of two; settle it exactly.
  if (Math.abs(value) >= 2 ** exponent) exponent++;
  if (Math.abs(value) < 2 ** (exponent - 1)) exponent--;
  return exponent;
}

/** "num/den" as ffprobe prints it. */
export function parseRatio(text: string | undefined, separator = '/'): Rational | undefined {
  if (!text) return undefined;
  const [num, den] = text.split(separator).map(Number);
  if (num === undefined || den === undefined || !Number.isFinite(num) || !Number.isFinite(den)) return undefined;
  return { num, den };
}
