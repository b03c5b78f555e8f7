/**
 * Signatures of the MPEG system layers, shared by detection, the readers and the truncation
 * checks: transport stream packets and the program stream pack header.
 */

export const TS_SYNC = 0x47;
/** Transport packet sizes: plain, with a 4-byte timestamp (M2TS), with 16 bytes of FEC. */
export const TS_PACKET_SIZES = [188, 192, 204] as const;

const PACK_START_CODE = 0xba;

/** A program stream opens with a pack header: start code 00 00 01 BA. */
export function isProgramStream(head: Uint8Array): boolean {
  return head.byteLength >= 12 && head[0] === 0 && head[1] === 0 && head[2] === 1 && head[3] === PACK_START_CODE;
}
