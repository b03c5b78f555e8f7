/**
 * PDF object syntax (ISO 32000-1 §7.2-7.3): a tokenizer and parser for the values a page
 * count needs (dictionaries, arrays, names, numbers, strings, references). Anything it does
 * not understand is a PdfSyntaxError, never a guess: the caller then falls back to recovery.
 */

export class PdfName {
  constructor(readonly name: string) {}
}

export class PdfRef {
  constructor(
    readonly num: number,
    readonly gen: number,
  ) {}

  get key(): string {
    return `${this.num} ${this.gen}`;
  }
}

/** A string object's raw bytes (literal or hex), still encrypted if the file is. */
export class PdfString {
  constructor(readonly bytes: Uint8Array) {}
}

/** A bare keyword inside an object (`endobj` where a value was due, `stream`, junk). */
export class PdfKeyword {
  constructor(readonly word: string) {}
}

export class PdfDict {
  constructor(
    readonly entries: Map<string, PdfValue>,
    /** Keys given more than once; readers disagree on which one counts. */
    readonly duplicateKeys: ReadonlySet<string> = new Set(),
  ) {}

  get(key: string): PdfValue | undefined {
    return this.entries.get(key);
  }

  has(key: string): boolean {
    return this.entries.has(key);
  }

  /** The /Type (or other name-valued key), when it is a direct name. */
  nameOf(key: string): string | undefined {
    const value = this.entries.get(key);
    return value instanceof PdfName ? value.name : undefined;
  }
}

export type PdfValue = null | boolean | number | PdfName | PdfRef | PdfString | PdfKeyword | PdfDict | PdfValue[];

/** The parse ran off the end of the bytes it was given, which are not the end of the file. */
export class NeedMoreBytes extends Error {
  constructor() {
    super('object continues past the bytes read');
  }
}

/** The lean reader cannot be sure of what it read; the caller recovers or gives up. */
export class PdfDoubt extends Error {}

export class PdfSyntaxError extends PdfDoubt {}

const MAX_NESTING = 100;

const WHITESPACE = new Uint8Array(256);
for (const c of [0x00, 0x09, 0x0a, 0x0c, 0x0d, 0x20]) WHITESPACE[c] = 1;
const DELIMITER = new Uint8Array(256);
for (const c of '()<>[]{}/%') DELIMITER[c.charCodeAt(0)] = 1;

export const isWhitespace = (c: number): boolean => WHITESPACE[c] === 1;
const isRegular = (c: number): boolean => WHITESPACE[c] !== 1 && DELIMITER[c] !== 1;
const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39;

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

/**
 * Parses PDF values from `bytes`. When `complete` is false the bytes stop before the end of
 * the file, and running out raises NeedMoreBytes so the caller can read a larger window and
 * retry. A `lenient` parser reads damaged objects the way poppler's parser does when it
 * recovers a file: a dictionary key that is not a name is skipped, stray delimiters and
 * keywords become values, and the end of the file closes open arrays and dictionaries.
 */
export class Parser {
  pos = 0;

  constructor(
    readonly bytes: Uint8Array,
    readonly complete: boolean,
    readonly lenient = false,
  ) {}

  /** At the end of the bytes: true when a lenient parse may close what is open. */
  private endsHere(): boolean {
    return !this.skipSpace() && this.closesAtEnd();
  }

  /** Out of bytes inside a value: a lenient parse of the whole file closes it, as poppler does. */
  private closesAtEnd(): true {
    if (!this.lenient || !this.complete) this.outOfBytes();
    return true;
  }

  private outOfBytes(): never {
    if (this.complete) throw new PdfSyntaxError('unexpected end of file');
    throw new NeedMoreBytes();
  }

  /** Skips whitespace and comments; true when a byte follows. */
  skipSpace(): boolean {
    const b = this.bytes;
    while (this.pos < b.length) {
      const c = b[this.pos]!;
      if (c === 0x25) {
        while (this.pos < b.length && b[this.pos] !== 0x0a && b[this.pos] !== 0x0d) this.pos++;
      } else if (WHITESPACE[c] === 1) this.pos++;
      else return true;
    }
    return false;
  }

  peekByte(): number | undefined {
    return this.bytes[this.pos];
  }

  /** Reads a run of regular characters (a keyword or number) without interpreting it. */
  readWord(): string {
    const b = this.bytes;
    const start = this.pos;
    while (this.pos < b.length && isRegular(b[this.pos]!)) this.pos++;
    if (this.pos === b.length && !this.complete) this.outOfBytes();
    let word = '';
    for (let i = start; i < this.pos; i++) word += String.fromCharCode(b[i]!);
    return word;
  }

  /** Whether the keyword comes next (consumed if so); false at the end of the file. */
  tryKeyword(word: string): boolean {
    if (!this.skipSpace()) return this.complete ? false : this.outOfBytes();
    const save = this.pos;
    if (!isRegular(this.bytes[this.pos]!)) return false;
    if (this.readWord() === word) return true;
    this.pos = save;
    return false;
  }

  /** An unsigned integer at the position (after whitespace), or undefined; undefined at the end of the file. */
  tryUnsignedInt(): number | undefined {
    if (!this.skipSpace()) return this.complete ? undefined : this.outOfBytes();
    const save = this.pos;
    if (!isDigit(this.bytes[this.pos]!)) return undefined;
    const word = this.readWord();
    if (!/^\d+$/.test(word)) {
      this.pos = save;
      return undefined;
    }
    return Number(word);
  }

  parseValue(depth = 0): PdfValue {
    if (depth > MAX_NESTING) throw new PdfSyntaxError('objects nested too deeply');
    if (!this.skipSpace()) this.outOfBytes();
    const b = this.bytes;
    const c = b[this.pos]!;
    switch (c) {
      case 0x2f: // '/'
        return this.parseName();
      case 0x28: // '('
        return this.parseLiteralString();
      case 0x5b: // '['
        return this.parseArray(depth);
      case 0x3c: // '<'
        if (this.pos + 1 >= b.length) this.closesAtEnd();
        return b[this.pos + 1] === 0x3c ? this.parseDict(depth) : this.parseHexString();
      default:
        if (DELIMITER[c] !== 1) return this.parseWordValue();
        if (!this.lenient) throw new PdfSyntaxError(`unexpected '${String.fromCharCode(c)}'`);
        this.pos++;
        return new PdfKeyword(String.fromCharCode(c));
    }
  }

  /** Skips one token, as poppler does with a dictionary key that is not a name. */
  private skipToken(): void {
    const c = this.bytes[this.pos]!;
    if (c === 0x28) this.parseLiteralString();
    else if (c === 0x3c && this.bytes[this.pos + 1] !== 0x3c) this.parseHexString();
    else if (c === 0x3c) this.pos += 2;
    else if (DELIMITER[c] === 1) this.pos++;
    else this.readWord();
  }

  private parseWordValue(): PdfValue {
    const word = this.readWord();
    if (word === 'true') return true;
    if (word === 'false') return false;
    if (word === 'null') return null;
    if (/^\d+$/.test(word)) return this.maybeReference(Number(word));
    if (/^[+-]?(\d+\.?\d*|\.\d+)$/.test(word)) return Number(word);
    return new PdfKeyword(word);
  }

  /** `num gen R` is a reference; otherwise the integer stands alone. */
  private maybeReference(num: number): PdfValue {
    const save = this.pos;
    const gen = this.tryUnsignedInt();
    if (gen !== undefined && this.tryKeyword('R')) return new PdfRef(num, gen);
    this.pos = save;
    return num;
  }

  private parseName(): PdfName {
    const b = this.bytes;
    this.pos++;
    let name = '';
    while (this.pos < b.length && isRegular(b[this.pos]!)) {
      let c = b[this.pos++]!;
      if (c === 0x23 && this.pos + 1 < b.length) {
        const hi = hexValue(b[this.pos]!);
        const lo = hexValue(b[this.pos + 1]!);
        if (hi >= 0 && lo >= 0) {
          c = hi * 16 + lo;
          this.pos += 2;
        }
      }
      name += String.fromCharCode(c);
    }
    if (this.pos === b.length && !this.complete) this.outOfBytes();
    return new PdfName(name);
  }

  private parseLiteralString(): PdfString {
    const b = this.bytes;
    this.pos++;
    const out: number[] = [];
    let nesting = 1;
    while (this.pos < b.length || !this.closesAtEnd()) {
      const c = b[this.pos++]!;
      if (c === 0x28) nesting++;
      else if (c === 0x29 && --nesting === 0) break;
      if (c === 0x5c) {
        this.readEscape(out);
        continue;
      }
      out.push(c);
    }
    return new PdfString(Uint8Array.from(out));
  }

  private readEscape(out: number[]): void {
    const b = this.bytes;
    if (this.pos >= b.length && this.closesAtEnd()) return;
    const c = b[this.pos++]!;
    const simple: Record<number, number> = { 0x6e: 10, 0x72: 13, 0x74: 9, 0x62: 8, 0x66: 12 };
    if (simple[c] !== undefined) out.push(simple[c]);
    else if (c >= 0x30 && c <= 0x37) {
      let value = c - 0x30;
      for (let i = 0; i < 2 && this.pos < b.length && b[this.pos]! >= 0x30 && b[this.pos]! <= 0x37; i++) {
        value = value * 8 + (b[this.pos++]! - 0x30);
      }
      out.push(value & 0xff);
    } else if (c === 0x0d) {
      if (b[this.pos] === 0x0a) this.pos++;
    } else if (c !== 0x0a) out.push(c);
  }

  private parseHexString(): PdfString {
    const b = this.bytes;
    this.pos++;
    const nibbles: number[] = [];
    while (this.pos < b.length || !this.closesAtEnd()) {
      const c = b[this.pos++]!;
      if (c === 0x3e) break;
      if (WHITESPACE[c] === 1) continue;
      const v = hexValue(c);
      if (v >= 0) nibbles.push(v);
      else if (!this.lenient) throw new PdfSyntaxError('bad hex string');
    }
    if (nibbles.length % 2 === 1) nibbles.push(0);
    const out = new Uint8Array(nibbles.length / 2);
    for (let i = 0; i < out.length; i++) out[i] = nibbles[2 * i]! * 16 + nibbles[2 * i + 1]!;
    return new PdfString(out);
  }

  private parseArray(depth: number): PdfValue[] {
    this.pos++;
    const items: PdfValue[] = [];
    while (true) {
      if (this.endsHere()) return items;
      if (this.bytes[this.pos] === 0x5d) {
        this.pos++;
        return items;
      }
      const value = this.parseValue(depth + 1);
      if (value instanceof PdfKeyword && !this.lenient) throw new PdfSyntaxError(`'${value.word}' inside an array`);
      items.push(value);
    }
  }

  private parseDict(depth: number): PdfDict {
    this.pos += 2;
    const entries = new Map<string, PdfValue>();
    const duplicates = new Set<string>();
    while (true) {
      if (this.endsHere()) break;
      const c = this.bytes[this.pos];
      if (c === 0x3e && this.pos + 1 >= this.bytes.length) this.outOfBytes();
      if (c === 0x3e && this.bytes[this.pos + 1] === 0x3e) {
        this.pos += 2;
        break;
      }
      if (c !== 0x2f) {
        if (!this.lenient) throw new PdfSyntaxError('dictionary key is not a name');
        this.skipToken();
        continue;
      }
      const key = this.parseName().name;
      if (this.endsHere()) break;
      const value = this.parseValue(depth + 1);
      if (value instanceof PdfKeyword && !this.lenient) throw new PdfSyntaxError(`'${value.word}' as the value of /${key}`);
      if (entries.has(key)) duplicates.add(key);
      entries.set(key, value);
    }
    return new PdfDict(entries, duplicates);
  }
}
