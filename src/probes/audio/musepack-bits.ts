import type { CodeTable } from './musepack-tables.js';

/**
 * What FFmpeg's checked bit reader does at a packet's end: the bytes after it read as zeros
 * (the packet's zeroed padding), and the position keeps counting, so an overread shows as a
 * position past `size`. Bits are read most significant first.
 */
export class PacketBits {
  /** Bits read from the packet start. */
  pos = 0;
  private readonly endByte: number;

  constructor(
    private readonly bytes: Uint8Array,
    private readonly start: number,
    /** Packet length in bits (a whole number of bytes). */
    readonly size: number,
  ) {
    this.endByte = start + size / 8;
  }

  get left(): number {
    return this.size - this.pos;
  }

  /** The next `n` bits (n <= 24) without consuming them. */
  peek(n: number): number {
    const at = this.start + (this.pos >>> 3);
    const window = ((this.byte(at) << 24) | (this.byte(at + 1) << 16) | (this.byte(at + 2) << 8) | this.byte(at + 3)) >>> 0;
    return ((window << (this.pos & 7)) >>> 0) >>> (32 - n);
  }

  read(n: number): number {
    if (n === 0) return 0;
    const value = this.peek(n);
    this.pos += n;
    return value;
  }

  /** get_bits_long: up to 32 bits. */
  readLong(n: number): number {
    return n <= 24 ? this.read(n) : this.read(n - 16) * 65536 + this.read(16);
  }

  private byte(index: number): number {
    return index < this.endByte ? this.bytes[index]! : 0;
  }
}

/** A bit sequence no code of the table starts with: FFmpeg's table answers it with -1. */
export class InvalidCode extends Error {}

/** Decodes one symbol of a prefix code with a single lookup of its longest code's bits. */
export class Vlc {
  private readonly longest: number;
  /** symbol << 5 | length, or -1 where no code matches. */
  private readonly lookup: Int32Array;

  constructor(table: CodeTable) {
    this.longest = Math.max(...table.lengths);
    this.lookup = new Int32Array(1 << this.longest).fill(-1);
    table.codes.forEach((code, symbol) => {
      const length = table.lengths[symbol]!;
      const first = code << (this.longest - length);
      for (let i = 0; i < 1 << (this.longest - length); i++) {
        if (this.lookup[first + i] !== -1) throw new Error(`Musepack code table: code ${code}/${length} is a prefix of another`);
        this.lookup[first + i] = (symbol << 5) | length;
      }
    });
  }

  /** Whether every bit sequence starts with a code (the table is complete). */
  get complete(): boolean {
    return !this.lookup.includes(-1);
  }

  read(bits: PacketBits): number {
    const entry = this.lookup[bits.peek(this.longest)]!;
    if (entry < 0) throw new InvalidCode();
    bits.pos += entry & 31;
    return entry >> 5;
  }
}
