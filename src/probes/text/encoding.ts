/** Byte order marks, longest first (the UTF-32LE mark starts with the UTF-16LE one). */
const BOMS = [
  { name: 'UTF-32LE', bytes: [0xff, 0xfe, 0, 0] },
  { name: 'UTF-32BE', bytes: [0, 0, 0xfe, 0xff] },
  { name: 'UTF-8', bytes: [0xef, 0xbb, 0xbf] },
  { name: 'UTF-16LE', bytes: [0xff, 0xfe] },
  { name: 'UTF-16BE', bytes: [0xfe, 0xff] },
] as const;

export type BomName = (typeof BOMS)[number]['name'];

export interface Bom {
  name: BomName;
  length: number;
}

export function readBom(prefix: Uint8Array): Bom | undefined {
  const found = BOMS.find(({ bytes }) => bytes.length <= prefix.byteLength && bytes.every((byte, i) => prefix[i] === byte));
  return found && { name: found.name, length: found.bytes.length };
}

/** UTF-16 and UTF-32 text is full of NUL bytes: only a BOM tells such text from binary data. */
export function isWideBom(bom: Bom | undefined): boolean {
  return bom !== undefined && bom.name !== 'UTF-8';
}

/**
 * Text as the text probe sees it, judged on a prefix: a UTF-16/32 byte order mark, or no NUL
 * byte. The same rule as the probe's `not_text`, so detection and probe never disagree.
 */
export function looksLikeText(prefix: Uint8Array): boolean {
  if (prefix.byteLength === 0) return false;
  return isWideBom(readBom(prefix)) || prefix.indexOf(0) === -1;
}

/** ESC $: an ISO-2022 multi-byte designation (ISO-2022-JP/KR/CN), a 7-bit legacy charset that is valid UTF-8. */
const ESC = 0x1b;
const DOLLAR = 0x24;

/**
 * Streaming verdict on whether bytes are UTF-8 text: feeds chunks through a fatal TextDecoder
 * and looks for NUL bytes and ISO-2022 escapes, keeping nothing but a byte of overlap.
 */
export class Utf8Check {
  private readonly decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  private lastByte = -1;
  valid = true;
  hasNul = false;
  hasIso2022Escape = false;

  push(chunk: Uint8Array): void {
    if (chunk.byteLength === 0) return;
    if (!this.hasNul && chunk.indexOf(0) !== -1) this.hasNul = true;
    if (!this.hasIso2022Escape) this.hasIso2022Escape = this.findEscape(chunk);
    this.lastByte = chunk[chunk.byteLength - 1]!;
    if (this.valid) this.valid = this.decodes(() => this.decoder.decode(chunk, { stream: true }));
  }

  /** Call after the last chunk: a multi-byte sequence cut off at the end is invalid too. */
  finish(): void {
    if (this.valid) this.valid = this.decodes(() => this.decoder.decode());
  }

  private findEscape(chunk: Uint8Array): boolean {
    if (this.lastByte === ESC && chunk[0] === DOLLAR) return true;
    for (let i = chunk.indexOf(ESC); i !== -1 && i + 1 < chunk.byteLength; i = chunk.indexOf(ESC, i + 1)) {
      if (chunk[i + 1] === DOLLAR) return true;
    }
    return false;
  }

  private decodes(decode: () => string): boolean {
    try {
      decode();
      return true;
    } catch {
      return false;
    }
  }
}

/** Decodes a prefix for sniffing: the BOM's encoding, else UTF-8 (Latin-1 when that fails). */
export function decodePrefix(prefix: Uint8Array, bom: Bom | undefined): string {
  const body = prefix.subarray(bom?.length ?? 0);
  switch (bom?.name) {
    case 'UTF-16LE':
      return new TextDecoder('utf-16le').decode(body);
    case 'UTF-16BE':
      return new TextDecoder('utf-16be').decode(body);
    case 'UTF-32LE':
    case 'UTF-32BE':
      return decodeUtf32(body, bom.name === 'UTF-32LE');
    default:
      return new TextDecoder('utf-8').decode(body);
  }
}

function decodeUtf32(bytes: Uint8Array, littleEndian: boolean): string {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let text = '';
  for (let i = 0; i + 4 <= bytes.byteLength; i += 4) {
    const code = view.getUint32(i, littleEndian);
    text += code <= 0x10ffff ? String.fromCodePoint(code) : '\ufffd';
  }
  return text;
}
