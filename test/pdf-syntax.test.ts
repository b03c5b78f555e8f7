import { describe, expect, it } from 'vitest';
import { decodeStream } from '../src/probes/pdf/streams.js';
import { NeedMoreBytes, Parser, PdfDict, PdfDoubt, PdfKeyword, PdfRef, PdfString, type PdfValue } from '../src/probes/pdf/syntax.js';

const parse = (text: string, lenient = false): PdfValue => new Parser(Buffer.from(text, 'latin1'), true, lenient).parseValue();
const dict = (text: string, lenient = false): PdfDict => parse(text, lenient) as PdfDict;
const text = (value: PdfValue | undefined): string => Buffer.from((value as PdfString).bytes).toString('latin1');

describe('PDF object syntax', () => {
  it('reads names, numbers, references and nested containers', () => {
    const value = dict('<< /Type /Pa#67e /Kids [1 0 R 2 0 R] /Count 2 /Scale -1.5 /N 7 /Box [0 0 .5 3.] /Ok true /No null >>');
    expect(value.nameOf('Type')).toBe('Page');
    expect(value.get('Kids')).toEqual([new PdfRef(1, 0), new PdfRef(2, 0)]);
    expect([value.get('Count'), value.get('Scale'), value.get('N')]).toEqual([2, -1.5, 7]);
    expect(value.get('Box')).toEqual([0, 0, 0.5, 3]);
    expect([value.get('Ok'), value.get('No')]).toEqual([true, null]);
  });

  it('reads literal strings with escapes and balanced parentheses, and hex strings', () => {
    const value = dict('<< /A (a\\(b\\)c (nested) \\101\\n\\\\) /B <48 65 6c6C 6f7> >>');
    expect(text(value.get('A'))).toBe('a(b)c (nested) A\n\\');
    expect(text(value.get('B'))).toBe('Hellop');
  });

  it('flags repeated keys, which readers resolve differently', () => {
    expect([...dict('<< /Count 1 /Count 2 >>').duplicateKeys]).toEqual(['Count']);
  });

  it('asks for more bytes when an object runs past an incomplete window', () => {
    expect(() => new Parser(Buffer.from('<< /Kids [1 0 R'), false).parseValue()).toThrow(NeedMoreBytes);
    expect(() => new Parser(Buffer.from('<< /Kids [1 0 R'), true).parseValue()).toThrow(PdfDoubt);
  });

  it('refuses damaged dictionaries strictly, and reads them as poppler does when lenient', () => {
    const damaged = '<< /Kids 3 0 R ] /Count 1 junk /Type /Pages';
    expect(() => parse(damaged)).toThrow(PdfDoubt);
    const value = dict(damaged, true);
    expect(value.get('Kids')).toEqual(new PdfRef(3, 0));
    expect(value.get('Count')).toBe(1);
    expect(value.nameOf('Type')).toBe('Pages');
    expect(dict('<< /Root 1 0 R /ID [<ab', true).get('Root')).toEqual(new PdfRef(1, 0));
    expect(dict('<< /A endobj >>', true).get('A')).toEqual(new PdfKeyword('endobj'));
  });

  it('reads integers not followed by R as numbers', () => {
    expect(parse('[1 0 2]')).toEqual([1, 0, 2]);
    expect(parse('[1 0 R]')).toEqual([new PdfRef(1, 0)]);
  });
});

describe('stream filters', () => {
  const decode = (filter: string, data: Uint8Array | string, params?: string): string => {
    const streamDict = dict(`<< /Filter ${filter} ${params ? `/DecodeParms ${params}` : ''} >>`);
    return Buffer.from(decodeStream(streamDict, typeof data === 'string' ? Buffer.from(data, 'latin1') : data)).toString('latin1');
  };

  it('decodes ASCII85, ASCIIHex and RunLength', () => {
    expect(decode('/ASCII85Decode', '9jqo^BlbD-BleB1DJ+*+F(f,q~>')).toBe('Man is distinguished');
    expect(decode('/A85', 'z~>')).toBe('\0\0\0\0');
    expect(decode('/ASCIIHexDecode', '48 65 6C 6C 6F>')).toBe('Hello');
    expect(decode('/RunLengthDecode', Uint8Array.from([2, 0x61, 0x62, 0x63, 254, 0x7a, 128]))).toBe('abczzz');
  });

  it('decodes LZW (the example of ISO 32000-1 §7.4.4.2)', () => {
    const encoded = Uint8Array.from([0x80, 0x0b, 0x60, 0x50, 0x22, 0x0c, 0x0c, 0x85, 0x01]);
    expect(Buffer.from(decode('/LZWDecode', encoded), 'latin1')).toEqual(Buffer.from([45, 45, 45, 45, 45, 65, 45, 45, 45, 66]));
  });

  it('chains filters in order', () => {
    expect(decode('[/ASCIIHexDecode /ASCII85Decode]', Buffer.from('9jqo^~>').toString('hex') + '>')).toBe('Man ');
  });

  it('treats a filter it does not know as doubt', () => {
    expect(() => decode('/BrotliDecode', 'x')).toThrow(PdfDoubt);
    expect(() => decode('/JBIG2Decode', 'x')).toThrow(PdfDoubt);
  });

  it('keeps what a truncated zlib stream holds', async () => {
    const { deflateSync } = await import('node:zlib');
    const whole = deflateSync(Buffer.from('x'.repeat(2000) + 'tail'));
    expect(decode('/FlateDecode', whole.subarray(0, whole.length - 8)).startsWith('x'.repeat(1000))).toBe(true);
  });
});
