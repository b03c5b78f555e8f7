import { createServer, type Server } from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BufferSource } from '../src/sources/buffer.js';
import { FileSource } from '../src/sources/file.js';
import { HttpSource } from '../src/sources/http.js';
import { openSource } from '../src/sources/open.js';
import { readAll } from '../src/sources/source.js';
import { StreamSource } from '../src/sources/stream.js';

/** 1 MiB where byte i is (i * 7) mod 251, so any misplaced offset shows. */
const data = Buffer.from(Array.from({ length: 1 << 20 }, (_, i) => (i * 7) % 251));
const slice = (offset: number, length: number) => data.subarray(offset, offset + length);

function chunkedStream(bytes: Buffer, chunk = 10_000): Readable {
  return Readable.from((function* () {
    for (let i = 0; i < bytes.byteLength; i += chunk) yield bytes.subarray(i, i + chunk);
  })());
}

describe('FileSource', () => {
  const dir = mkdtempSync(join(tmpdir(), 'encord-media-sources-'));
  const path = join(dir, 'data.bin');
  writeFileSync(path, data);

  it('reads positionally and counts only what it read', async () => {
    const source = new FileSource(path);
    expect(await source.size()).toBe(data.byteLength);
    expect(Buffer.from(await source.read(500_000, 16))).toEqual(slice(500_000, 16));
    expect(Buffer.from(await source.read(data.byteLength - 4, 100))).toEqual(slice(data.byteLength - 4, 4));
    expect(source.bytesRead).toBe(20);
    expect(source.extension).toBe('bin');
    await source.close();
  });

  it('reads the same bytes with blocking calls, as the CLI does', async () => {
    const source = new FileSource(path, path, { blocking: true });
    expect(await source.size()).toBe(data.byteLength);
    expect(Buffer.from(await source.read(123_456, 64))).toEqual(slice(123_456, 64));
    await source.close();
  });

  it('refuses a directory as io_error', async () => {
    await expect(new FileSource(dir).size()).rejects.toMatchObject({ code: 'io_error' });
  });

  it('reports a missing file as io_error', async () => {
    await expect(new FileSource(join(dir, 'nope.mp4')).size()).rejects.toMatchObject({ code: 'io_error' });
  });

  it('enforces the read limit', async () => {
    const source = new FileSource(path, path, { maxBytesRead: 1000 });
    await source.read(0, 1000);
    await expect(source.read(1000, 1)).rejects.toMatchObject({ code: 'limit_exceeded' });
  });
});

describe('BufferSource', () => {
  it('serves reads from memory and clips at the end', async () => {
    const source = new BufferSource(data.subarray(0, 100), 'clip.jpg');
    expect(await source.size()).toBe(100);
    expect(Buffer.from(await source.read(90, 50))).toEqual(slice(90, 10));
    expect(source.extension).toBe('jpg');
  });
});

describe('StreamSource', () => {
  it('keeps the prefix for reads back, skips forward past it, and counts the rest for size', async () => {
    const source = new StreamSource(chunkedStream(data), 'stream', { retainBytes: 64 * 1024 });
    expect(Buffer.from(await source.read(100, 50))).toEqual(slice(100, 50));
    expect(Buffer.from(await source.read(60_000, 10_000))).toEqual(slice(60_000, 10_000));
    expect(Buffer.from(await source.read(0, 8))).toEqual(slice(0, 8));
    expect(Buffer.from(await source.read(700_000, 30_000))).toEqual(slice(700_000, 30_000));
    await expect(source.read(300_000, 10)).rejects.toMatchObject({ code: 'io_error' });
    expect(await source.size()).toBe(data.byteLength);
    expect(source.bytesRead).toBe(data.byteLength);
  });

  it('still serves the prefix after size() drained the stream', async () => {
    const source = new StreamSource(chunkedStream(data), 'stream', { retainBytes: 64 * 1024 });
    expect(await source.size()).toBe(data.byteLength);
    expect(Buffer.from(await source.read(50_000, 10_000))).toEqual(slice(50_000, 10_000));
  });

  it('uses a given size without draining', async () => {
    const source = new StreamSource(chunkedStream(data), 'stream', { size: data.byteLength });
    await source.read(0, 10);
    expect(await source.size()).toBe(data.byteLength);
    expect(source.bytesRead).toBe(10_000);
  });

  it('returns short reads at the end of the stream', async () => {
    const source = new StreamSource(chunkedStream(data.subarray(0, 30)), 'short');
    expect((await source.read(20, 100)).byteLength).toBe(10);
    expect((await source.read(40, 10)).byteLength).toBe(0);
  });
});

describe('HttpSource', () => {
  let server: Server;
  let base = '';
  const requests: (string | undefined)[] = [];

  beforeAll(async () => {
    server = createServer((request, response) => {
      requests.push(request.headers.range);
      if (request.url === '/missing') {
        response.writeHead(404).end();
        return;
      }
      const range = /^bytes=(\d+)-(\d+)?$/.exec(request.headers.range ?? '');
      if (request.url === '/norange' || !range) {
        response.writeHead(200, { 'Content-Length': data.byteLength }).end(data);
        return;
      }
      const start = Number(range[1]);
      const end = Math.min(Number(range[2] ?? data.byteLength - 1), data.byteLength - 1);
      if (start >= data.byteLength) {
        response.writeHead(416, { 'Content-Range': `bytes */${data.byteLength}` }).end();
        return;
      }
      response
        .writeHead(206, { 'Content-Range': `bytes ${start}-${end}/${data.byteLength}`, 'Content-Length': end - start + 1 })
        .end(data.subarray(start, end + 1));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('reads by range in blocks, learning the size from Content-Range', async () => {
    requests.length = 0;
    const source = new HttpSource(`${base}/media/clip.mp4?sig=abc`);
    expect(source.extension).toBe('mp4');
    expect(Buffer.from(await source.read(10, 20))).toEqual(slice(10, 20));
    expect(Buffer.from(await source.read(40_000, 100))).toEqual(slice(40_000, 100));
    expect(await source.size()).toBe(data.byteLength);
    expect(Buffer.from(await source.read(data.byteLength - 10, 10))).toEqual(slice(data.byteLength - 10, 10));
    expect(requests).toHaveLength(2);
    expect(source.bytesRead).toBeLessThan(200_000);
  });

  it('falls back to streaming when the server ignores ranges', async () => {
    const source = new HttpSource(`${base}/norange`);
    expect(Buffer.from(await source.read(5, 5))).toEqual(slice(5, 5));
    expect(await source.size()).toBe(data.byteLength);
    await source.close();
  });

  it('reports HTTP errors as io_error', async () => {
    await expect(new HttpSource(`${base}/missing`).read(0, 10)).rejects.toMatchObject({ code: 'io_error' });
  });

  it('reads whole bodies with readAll', async () => {
    const all = await readAll(openSource(`${base}/x.bin`), 2 << 20);
    expect(Buffer.from(all).equals(data)).toBe(true);
  });
});

describe('openSource', () => {
  it('rejects schemes it has no source for', () => {
    expect(() => openSource('ftp://example.invalid/a.mp4')).toThrow(/no byte source/);
  });
});
