/**
 * Truncation checks for containers ffprobe reads for us: ffprobe describes a cut file by what its
 * header claims, so the probe checks that the data is there (SPEC.md "Truncated input").
 */
import { ProbeError } from '../../errors.js';
import type { ByteSource } from '../../sources/source.js';
import { checkFlvDuration, checkFlvEnd } from './flv.js';
import { TS_PACKET_SIZES, TS_SYNC } from './mpeg-system.js';


/** Structural checks that need no ffprobe: run first, so a cut file costs no ffprobe run. */
export async function checkBeforeFfprobe(source: ByteSource, head: Uint8Array): Promise<void> {
  const packetSize = transportPacketSize(head);
  if (packetSize) await checkTransportStream(source, packetSize);
  if (isFlv(head)) await checkFlvEnd(source);
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

/** Whole packets before a partial one whose PIDs tell a cut packet from stray bytes. */
const TS_PACKETS_BEFORE_PARTIAL = 16;

const tsPid = (bytes: Uint8Array, sync: number) => ((bytes[sync + 1]! & 0x1f) << 8) | bytes[sync + 2]!;

/**
 * An MPEG transport stream cut inside a packet: the bytes after the last whole packet start a
 * packet (its sync byte is there) of a PID the last whole packets carry, which the file does not
 * finish. Stray bytes that merely open with the sync byte (a PID no packet before them has) are
 * not a cut: FFmpeg reads the packets before them.
 */
async function checkTransportStream(source: ByteSource, size: number): Promise<void> {
  const fileSize = await source.size();
  const partial = fileSize % size;
  if (partial === 0) return;
  const syncAt = size === 192 ? 4 : 0;
  const before = Math.min(TS_PACKETS_BEFORE_PARTIAL, Math.floor(fileSize / size));
  const tail = await source.read(fileSize - partial - before * size, before * size + partial);
  const partialSync = before * size + syncAt;
  if (tail[partialSync] !== TS_SYNC) return;
  if (partialSync + 3 <= tail.byteLength) {
    const pids = new Set(Array.from({ length: before }, (_, n) => tsPid(tail, n * size + syncAt)));
    if (!pids.has(tsPid(tail, partialSync))) return;
  }
  throw new ProbeError('truncated', `${source.name}: the last ${size}-byte transport packet holds only ${partial} bytes`);
}

/**
 * Decoder messages ffprobe prints while reading the first frames that mean the data stops short:
 * a slice read past its end, an audio frame cut off, a sample past the end of the file.
 */
const MISSING_DATA_MESSAGES = [/bytestream -\d+/, /incomplete frame/, /partial file/, /Input buffer exhausted/];

function stderrShowsMissingData(stderr: string): string | undefined {
  return stderr.split('\n').find((line) => MISSING_DATA_MESSAGES.some((pattern) => pattern.test(line)));
}
