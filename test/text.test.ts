import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { looksLikeText, probeText } from '../src/probes/text.js';
import { BufferSource } from '../src/sources/buffer.js';
import { FileSource } from '../src/sources/file.js';
import type { ByteSource } from '../src/sources/source.js';
import { StreamSource } from '../src/sources/stream.js';

const dir = mkdtempSync(join(tmpdir(), 'encord-media-text-'));

function file(name: string, content: string | Uint8Array): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

async function probeSource(source: ByteSource) {
  try {
    const result = await probeText(source, { options: {}, detection: { modality: 'text', mime: '', format: 'text', warnings: [] } });
    return { ...result.metadata, warnings: result.warnings.map((w) => w.code) };
  } finally {
    await source.close();
  }
}

const probe = (name: string, content: string | Uint8Array) => probeSource(new FileSource(file(name, content)));
const errorCode = (name: string, content: string | Uint8Array) =>
  probe(name, content).then((r) => `no error: ${JSON.stringify(r)}`, (error: { code: string }) => error.code);

const utf16le = (text: string) => Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);

describe('text MIME type', () => {
  it.each([
    ['notes.txt', 'text/plain'],
    ['data.json', 'application/json'],
    ['data.xml', 'application/xml'],
    ['table.csv', 'text/csv'],
    ['readme.md', 'text/markdown'],
    ['page.html', 'text/html'],
    ['subs.srt', 'application/x-subrip'],
    ['subs.vtt', 'text/vtt'],
    ['event.ics', 'text/calendar'],
    ['feed.rss', 'application/rss+xml'],
  ])('%s is %s by its extension, whatever it holds', async (name, mime) => {
    expect(await probe(name, 'just some words\n')).toEqual({ file_size: 16, mime_type: mime, warnings: [] });
  });

  it.each([
    ['{"a": [1, 2]}', 'application/json'],
    ['  [true, null]', 'application/json'],
    ['<?xml version="1.0"?><root/>', 'application/xml'],
    ['<catalog><item/></catalog>', 'application/xml'],
    ['<!DOCTYPE html><html><body>hi</body></html>', 'text/html'],
    ['<html lang="en"></html>', 'text/html'],
    ['[section]\nkey=value\n', 'text/plain'],
    ['hello world', 'text/plain'],
  ])('sniffs %j as %s when there is no extension', async (content, mime) => {
    expect((await probe('noext', content)).mime_type).toBe(mime);
  });

  it('sniffs when the extension is unknown or not a text type', async () => {
    expect((await probe('data.unknownext', '{"k": 1}')).mime_type).toBe('application/json');
    expect((await probe('code.ts', 'export const x = 1;\n')).mime_type).toBe('text/plain');
  });

  it('sniffs UTF-16 text after decoding it', async () => {
    expect(await probe('noext16', utf16le('<?xml version="1.0"?><a/>'))).toMatchObject({ mime_type: 'application/xml', warnings: ['encoding'] });
  });

  it('does not call text under an image extension text (SVG, misnamed files)', async () => {
    expect(await errorCode('logo.svg', '<svg xmlns="http://www.w3.org/2000/svg"/>')).toBe('unsupported_format');
    expect(await errorCode('photo.webp', '{"WEBP": {}}')).toBe('unsupported_format');
  });
});

describe('text encoding', () => {
  it('takes UTF-8, with or without BOM, without warnings', async () => {
    expect(await probe('utf8.txt', 'naïve café ✓ 😀')).toMatchObject({ warnings: [] });
    expect(await probe('bom.txt', '\ufeffhello')).toMatchObject({ warnings: [] });
  });

  it('warns about legacy charsets, UTF-16/32 and ISO-2022 escapes', async () => {
    expect(await probe('latin1.txt', Buffer.from('caf\xe9 cr\xe8me', 'latin1'))).toMatchObject({ warnings: ['encoding'] });
    expect(await probe('utf16.txt', utf16le('hello'))).toMatchObject({ warnings: ['encoding'], file_size: 12 });
    const utf32be = Buffer.from([0, 0, 0xfe, 0xff, 0, 0, 0, 0x68, 0, 0, 0, 0x69]);
    expect(await probe('utf32.txt', utf32be)).toMatchObject({ warnings: ['encoding'] });
    expect(await probe('kr.txt', Buffer.from('\x1b$)C\x0e!!\x0f text', 'latin1'))).toMatchObject({ warnings: ['encoding'] });
    expect(await probe('cut.txt', Buffer.from([0x61, 0xe2, 0x82]))).toMatchObject({ warnings: ['encoding'] });
  });

  it('rejects NUL bytes outside UTF-16/32 as not_text, and empty files', async () => {
    expect(await errorCode('bin.txt', Buffer.from('abc\0def'))).toBe('not_text');
    expect(await errorCode('utf16-nobom.txt', Buffer.from('hello', 'utf16le'))).toBe('not_text');
    expect(await errorCode('empty.txt', '')).toBe('empty_file');
  });

  it('scans the whole of a file larger than its read chunk', async () => {
    const megabytes = 3 * 1024 * 1024;
    // A 3-byte character straddles the 1 MiB chunk boundary: still valid UTF-8.
    const valid = Buffer.concat([Buffer.alloc(1024 * 1024 - 1, 0x61), Buffer.from('✓'), Buffer.alloc(megabytes, 0x62)]);
    expect(await probe('big.txt', valid)).toEqual({ file_size: valid.byteLength, mime_type: 'text/plain', warnings: [] });
    const lateInvalid = Buffer.concat([Buffer.alloc(megabytes, 0x61), Buffer.from([0xff])]);
    expect(await probe('late.txt', lateInvalid)).toMatchObject({ warnings: ['encoding'] });
    const lateNul = Buffer.concat([Buffer.alloc(megabytes, 0x61), Buffer.from([0])]);
    expect(await errorCode('late-nul.txt', lateNul)).toBe('not_text');
  });

  it('gives the same answer from a Buffer and a stream', async () => {
    const bytes = Buffer.from('{"stream": "ok"}');
    const fromBuffer = await probeSource(new BufferSource(bytes, 'x.json'));
    const fromStream = await probeSource(new StreamSource(Readable.from([bytes.subarray(0, 5), bytes.subarray(5)]), 'x.json'));
    expect(fromBuffer).toEqual({ file_size: 16, mime_type: 'application/json', warnings: [] });
    expect(fromStream).toEqual(fromBuffer);
  });
});

describe('looksLikeText', () => {
  it('follows the not_text rule: NUL only in BOM-marked UTF-16/32', () => {
    expect(looksLikeText(Buffer.from('plain text\n'))).toBe(true);
    expect(looksLikeText(Buffer.from('caf\xe9', 'latin1'))).toBe(true);
    expect(looksLikeText(utf16le('wide'))).toBe(true);
    expect(looksLikeText(Buffer.from('wide', 'utf16le'))).toBe(false);
    expect(looksLikeText(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 13]))).toBe(false);
    expect(looksLikeText(new Uint8Array(0))).toBe(false);
  });
});
