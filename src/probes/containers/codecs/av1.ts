/** AV1 sequence header (from an av1C box or a sample's OBUs): the largest frame size it allows. */
import { BitReader } from '../bytes.js';

export interface Av1SequenceHeader {
  maxWidth: number;
  maxHeight: number;
}

const OBU_SEQUENCE_HEADER = 1;

/** Finds and parses the first sequence header OBU in a run of OBUs. */
export function findAv1SequenceHeader(obus: Uint8Array): Av1SequenceHeader | undefined {
  let offset = 0;
  while (offset < obus.byteLength) {
    const header = obus[offset]!;
    const type = (header >> 3) & 0x0f;
    const hasExtension = (header >> 2) & 1;
    const hasSize = (header >> 1) & 1;
    offset += 1 + hasExtension;
    let size = obus.byteLength - offset;
    if (hasSize) {
      const leb = readLeb128(obus, offset);
      if (!leb) return undefined;
      size = leb.value;
      offset += leb.length;
    }
    if (offset + size > obus.byteLength) return undefined;
    if (type === OBU_SEQUENCE_HEADER) return parseSequenceHeader(obus.subarray(offset, offset + size));
    offset += size;
  }
  return undefined;
}

/** The configOBUs of an av1C box follow its 4-byte fixed part. */
export function av1ConfigSequenceHeader(av1C: Uint8Array): Av1SequenceHeader | undefined {
  if (av1C.byteLength <= 4 || av1C[0] !== 0x81) return undefined;
  return findAv1SequenceHeader(av1C.subarray(4));
}

function readLeb128(bytes: Uint8Array, offset: number): { value: number; length: number } | undefined {
  let value = 0;
  for (let i = 0; i < 8 && offset + i < bytes.byteLength; i++) {
    const byte = bytes[offset + i]!;
    value += (byte & 0x7f) * 2 ** (7 * i);
    if (!(byte & 0x80)) return { value, length: i + 1 };
  }
  return undefined;
}

function parseSequenceHeader(payload: Uint8Array): Av1SequenceHeader {
  const bits = new BitReader(payload);
  bits.skip(3);
  bits.skip(1);
  const reduced = bits.flag();
  if (reduced) bits.skip(5);
  else {
    let decoderModelInfo = false;
    let bufferDelayLength = 0;
    if (bits.flag()) {
      bits.skip(64);
      if (bits.flag()) bits.uvlc();
      decoderModelInfo = bits.flag();
      if (decoderModelInfo) {
        bufferDelayLength = bits.u(5) + 1;
        bits.skip(32 + 5 + 5);
      }
    }
    const initialDisplayDelay = bits.flag();
    const operatingPoints = bits.u(5) + 1;
    for (let i = 0; i < operatingPoints; i++) {
      bits.skip(12);
      const level = bits.u(5);
      if (level > 7) bits.skip(1);
      if (decoderModelInfo && bits.flag()) bits.skip(2 * bufferDelayLength + 1);
      if (initialDisplayDelay && bits.flag()) bits.skip(4);
    }
  }
  const widthBits = bits.u(4) + 1;
  const heightBits = bits.u(4) + 1;
  return { maxWidth: bits.u(widthBits) + 1, maxHeight: bits.u(heightBits) + 1 };
}
