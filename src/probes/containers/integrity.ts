/**
 * Truncation checks for containers ffprobe reads for us: ffprobe describes a cut file by what its
 * header claims, so the probe checks that the data is there (SPEC.md "Truncated input").
 */
import { ProbeError } from '../../errors.js';
import type { ByteSource } from '../../sources/source.js';

const TS_SYNC = 0x47;
const TS_PACKET_SIZES = [188, 192, 204];

/** Structural checks that need no ffprobe: run first, so a cut file costs no ffprobe run. */
export async function checkBeforeFfprobe(source: ByteSource, head: Uint8Array): Promise<void> {
  const packetSize = transportPacketSize(head);
  if (packetSize) await checkTransportStream(source, packetSize);
  if (isFlv(head) && !(await readFlvTagBefore(source, await source.size()))) {
    throw new ProbeError('truncated', `${source.name}: the file ends inside an FLV tag`);
  }
}

/** Checks that compare ffprobe's report with the data: the FLV duration, decoder messages about missing data. */
export async function checkAfterFfprobe(source: ByteSource, head: Uint8Array, statedDuration: number | undefined, stderr: string): Promise<void> {
  if (isFlv(head)) await checkFlvDuration(source, statedDuration);
  const missing = stderrShowsMissingData(stderr);
  if (missing) throw new ProbeError('truncated', `${source.name}: data missing (ffprobe: ${missing.trim()})`);
}

function transportPacketSize(head: Uint8Array): number | undefined {
  return TS_PACKET_SIZES.find((candidate) => {
    const syncAt = candidate === 192 ? 4 : 0;
    return [0, 1, 2, 3].every((n) => head[syncAt + n * candidate] === TS_SYNC);
  });
}

function isFlv(head: Uint8Array): boolean {
  return head[0] === 0x46 && head[1] === 0x4c && head[2] === 0x56 && head[3] === 1;
}

/**
 * An MPEG transport stream cut inside a packet: the bytes after the last whole packet start a
 * packet (its sync byte is there) that the file does not finish.
 */
async function checkTransportStream(source: ByteSource, size: number): Promise<void> {
  const fileSize = await source.size();
  const partial = fileSize % size;
  if (partial === 0) return;
  const syncOffset = fileSize - partial + (size === 192 ? 4 : 0);
  const tail = await source.read(syncOffset, 1);
  if (tail[0] === TS_SYNC) {
    throw new ProbeError('truncated', `${source.name}: the last ${size}-byte transport packet holds only ${partial} bytes`);
  }
}

const FLV_HEADER = 9;
const FLV_TAG_HEADER = 11;
/** Slack between the stated duration and the last tag's timestamp (the last frame's own length, rounding). */
const FLV_DURATION_SLACK_S = 1;

/** Tags walked back from the end: a muxer's closing video tag may come after the audio's last. */
const FLV_TAGS_WALKED_BACK = 64;

/** FLV: the last tags' timestamps must come close to the duration onMetaData states (which ffprobe reports). */
async function checkFlvDuration(source: ByteSource, statedDuration: number | undefined): Promise<void> {
  if (statedDuration === undefined) return;
  const tagsEnd = await latestFlvTagTime(source, await source.size(), statedDuration - FLV_DURATION_SLACK_S);
  if (tagsEnd !== undefined && statedDuration > tagsEnd + FLV_DURATION_SLACK_S) {
    throw new ProbeError('truncated', `${source.name}: onMetaData states a duration of ${statedDuration} s; the tags end at ${tagsEnd} s`);
  }
}

/**
 * The latest timestamp (s) among the last tags, walked back through their PreviousTagSize fields
 * until one reaches `enough`; undefined when the chain does not check out.
 */
async function latestFlvTagTime(source: ByteSource, fileSize: number, enough: number): Promise<number | undefined> {
  let latest: number | undefined;
  let end = fileSize;
  for (let walked = 0; walked < FLV_TAGS_WALKED_BACK && (latest === undefined || latest < enough); walked++) {
    const tag = await readFlvTagBefore(source, end);
    if (!tag) break;
    latest = Math.max(latest ?? 0, tag.timestamp / 1000);
    if (tag.start === end) break;
    end = tag.start;
  }
  return latest;
}

/** The tag that ends at `end`, found through the PreviousTagSize before it; undefined when it does not check out. */
async function readFlvTagBefore(source: ByteSource, end: number): Promise<{ timestamp: number; start: number } | undefined> {
  if (end < FLV_HEADER + 4) return undefined;
  const trailer = await source.read(end - 4, 4);
  const previousSize = new DataView(trailer.buffer, trailer.byteOffset, 4).getUint32(0);
  if (previousSize === 0) return end === FLV_HEADER + 4 ? { timestamp: 0, start: end } : undefined;
  const start = end - 4 - previousSize;
  if (start < FLV_HEADER + 4) return undefined;
  const header = await source.read(start, FLV_TAG_HEADER);
  const type = header[0]! & 0x1f;
  const dataSize = (header[1]! << 16) | (header[2]! << 8) | header[3]!;
  if (![8, 9, 18].includes(type) || dataSize + FLV_TAG_HEADER !== previousSize) return undefined;
  const timestamp = ((header[7]! << 24) | (header[4]! << 16) | (header[5]! << 8) | header[6]!) >>> 0;
  return { timestamp, start };
}

/**
 * Decoder messages ffprobe prints while reading the first frames that mean the data stops short:
 * a slice read past its end, an audio frame cut off, a sample past the end of the file.
 */
const MISSING_DATA_MESSAGES = [/bytestream -\d+/, /incomplete frame/, /partial file/, /Input buffer exhausted/];

function stderrShowsMissingData(stderr: string): string | undefined {
  return stderr.split('\n').find((line) => MISSING_DATA_MESSAGES.some((pattern) => pattern.test(line)));
}
