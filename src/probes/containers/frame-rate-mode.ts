/**
 * The frame-rate-mode rule (MediaInfo's) that the ffprobe path applies to packet timestamps and
 * the in-process readers replay on the same timestamps, so both give one verdict.
 */

/** The first video timestamps, sorted: their gaps must stay within +-10% once the largest few are dropped. */
export function timestampsVary(timestamps: number[]): boolean {
  const times = [...timestamps].sort((a, b) => a - b);
  let gaps: number[] = [];
  for (let i = 1; i < times.length; i++) if (times[i]! !== times[i - 1]!) gaps.push(times[i]! - times[i - 1]!);
  gaps.sort((a, b) => a - b);
  if (gaps.length >= 40) gaps = gaps.slice(0, gaps.length - Math.floor(gaps.length / 10));
  else if (gaps.length >= 7) gaps = gaps.slice(0, gaps.length - 4);
  if (gaps.length <= 2) return false;
  return !(gaps[0]! * 0.9 < gaps[gaps.length - 1]! && gaps[0]! * 1.1 > gaps[gaps.length - 1]!);
}

/**
 * The verdict when the reader knows the first timestamps but not exactly how many of them fall
 * within ffprobe's packet window: every count from `fewest` on must agree; undefined when not.
 */
export function timestampsVaryForAnyWindow(timestamps: number[], fewest: number): boolean | undefined {
  const verdicts = new Set<boolean>();
  for (let count = Math.min(fewest, timestamps.length); count <= timestamps.length; count++) verdicts.add(timestampsVary(timestamps.slice(0, count)));
  return verdicts.size === 1 ? [...verdicts][0] : undefined;
}
