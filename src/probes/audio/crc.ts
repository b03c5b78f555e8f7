/** The checksums that let a header found by scanning be told from bytes that look like one. */

/** MSB-first CRC table for a polynomial of `width` bits (8, 16 or 32). */
function table(poly: number, width: number): Uint32Array {
  const top = 2 ** (width - 1);
  const mask = 2 ** width - 1;
  const t = new Uint32Array(256);
  for (let byte = 0; byte < 256; byte++) {
    let crc = byte * 2 ** (width - 8);
    for (let bit = 0; bit < 8; bit++) crc = (crc >= top ? ((crc * 2) ^ poly) & mask : (crc * 2) & mask) >>> 0;
    t[byte] = crc >>> 0;
  }
  return t;
}

const CRC8 = table(0x07, 8);
const CRC16 = table(0x8005, 16);
const CRC32 = table(0x04c11db7, 32);

/** FLAC frame header CRC-8 (x^8 + x^2 + x + 1). */
export function crc8(bytes: Uint8Array): number {
  let crc = 0;
  for (const b of bytes) crc = CRC8[crc ^ b]!;
  return crc;
}

/** FLAC frame footer CRC-16 (x^16 + x^15 + x^2 + 1). */
export function crc16(bytes: Uint8Array): number {
  let crc = 0;
  for (const b of bytes) crc = ((crc << 8) & 0xffff) ^ CRC16[(crc >> 8) ^ b]!;
  return crc;
}

/** Ogg page CRC-32 (polynomial 0x04C11DB7, no reflection, zero init), continuing from `crc`. */
export function crc32Ogg(bytes: Uint8Array, crc = 0): number {
  for (const b of bytes) crc = ((crc << 8) ^ CRC32[((crc >>> 24) ^ b) & 0xff]!) >>> 0;
  return crc;
}
