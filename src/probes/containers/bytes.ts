/**
 * Cursor readers over bytes already in memory: big-endian fields for boxes and headers, and a
 * bit reader (with Exp-Golomb codes) for codec headers. Reading past the end throws
 * {@link OutOfData}, which callers turn into a typed error or a fallback.
 */

/** A field ran past the end of the bytes it was read from. */
export class OutOfData extends Error {
  constructor(what = 'data') {
    super(`${what} ends early`);
  }
}

export function fourcc(bytes: Uint8Array, offset: number): string {
  return String.fromCharCode(bytes[offset]!, bytes[offset + 1]!, bytes[offset + 2]!, bytes[offset + 3]!);
}

export class ByteReader {
  private readonly view: DataView;
  position: number;

  constructor(
    readonly bytes: Uint8Array,
    position = 0,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.position = position;
  }

  get remaining(): number {
    return this.bytes.byteLength - this.position;
  }

  private take(length: number): number {
    const at = this.position;
    if (length < 0 || at + length > this.bytes.byteLength) throw new OutOfData();
    this.position = at + length;
    return at;
  }

  skip(length: number): void {
    this.take(length);
  }

  u8(): number {
    return this.view.getUint8(this.take(1));
  }

  u16(): number {
    return this.view.getUint16(this.take(2));
  }

  u24(): number {
    const at = this.take(3);
    return (this.view.getUint16(at) << 8) | this.view.getUint8(at + 2);
  }

  u32(): number {
    return this.view.getUint32(this.take(4));
  }

  i32(): number {
    return this.view.getInt32(this.take(4));
  }

  /** Unsigned 64-bit as a number; values past 2^53 lose precision, callers that care check. */
  u64(): number {
    const at = this.take(8);
    return this.view.getUint32(at) * 2 ** 32 + this.view.getUint32(at + 4);
  }

  i64(): bigint {
    return this.view.getBigInt64(this.take(8));
  }

  fourcc(): string {
    return fourcc(this.bytes, this.take(4));
  }

  slice(length: number): Uint8Array {
    const at = this.take(length);
    return this.bytes.subarray(at, at + length);
  }
}

/** MSB-first bit reader. */
export class BitReader {
  private bit = 0;

  constructor(private readonly bytes: Uint8Array) {}

  get bitsLeft(): number {
    return this.bytes.byteLength * 8 - this.bit;
  }

  get bitPosition(): number {
    return this.bit;
  }

  u1(): number {
    if (this.bit >= this.bytes.byteLength * 8) throw new OutOfData('bitstream');
    const value = (this.bytes[this.bit >> 3]! >> (7 - (this.bit & 7))) & 1;
    this.bit++;
    return value;
  }

  flag(): boolean {
    return this.u1() === 1;
  }

  /** Up to 32 bits, unsigned. */
  u(count: number): number {
    let value = 0;
    for (let i = 0; i < count; i++) value = value * 2 + this.u1();
    return value;
  }

  skip(count: number): void {
    if (count > this.bitsLeft) throw new OutOfData('bitstream');
    this.bit += count;
  }

  /** Unsigned Exp-Golomb (H.264/H.265 ue(v)). */
  ue(): number {
    let zeros = 0;
    while (this.u1() === 0) {
      if (++zeros > 31) throw new OutOfData('Exp-Golomb code');
    }
    return 2 ** zeros - 1 + this.u(zeros);
  }

  /** Signed Exp-Golomb (se(v)). */
  se(): number {
    const code = this.ue();
    return code % 2 === 1 ? (code + 1) / 2 : -(code / 2);
  }

  /** AV1 uvlc(). */
  uvlc(): number {
    let zeros = 0;
    while (this.u1() === 0) {
      if (++zeros >= 32) return 2 ** 32 - 1;
    }
    return this.u(zeros) + 2 ** zeros - 1;
  }
}

/** Removes H.264/H.265 emulation-prevention bytes (00 00 03 -> 00 00) from a NAL unit payload. */
export function unescapeRbsp(nal: Uint8Array): Uint8Array {
  const out = new Uint8Array(nal.byteLength);
  let length = 0;
  let zeros = 0;
  for (const byte of nal) {
    if (zeros >= 2 && byte === 3) {
      zeros = 0;
      continue;
    }
    out[length++] = byte;
    zeros = byte === 0 ? zeros + 1 : 0;
  }
  return out.subarray(0, length);
}

/** The parts joined into one new array (a copy even of a single part, so the result owns its bytes). */
export function concatBytes(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.byteLength, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.byteLength;
  }
  return out;
}
