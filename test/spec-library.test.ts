import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  buildSpec,
  listKey,
  numbered,
  parseBaseUrl,
  pathForUrl,
  readManifest,
  readSpec,
  SpecWriter,
  urlForPath,
  writeEntry,
  type BuildEvent,
  type SpecEntry,
  type SpecInput,
} from '../src/spec/index.js';
import { compareSlices } from '../src/spec/dicom.js';
import { UniqueTitles } from '../src/spec/titles.js';
import { validateDocument } from '../src/validate/index.js';
import { png, write } from './fixtures/spec/media.js';

/** The spec library's parts: manifests, the two written forms, URL mapping, titles, streaming, splitting. */

const fixtures = join(import.meta.dirname, 'fixtures', 'spec');
const scratch = mkdtempSync(join(tmpdir(), 'encord-media-spec-lib-'));

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

describe('manifest readers', () => {
  it('streams a JSON array: nested objects, commas and brackets inside strings, bad elements kept as rows', async () => {
    expect(await collect(readManifest(join(fixtures, 'manifest.json')))).toEqual([
      { row: 1, url: 's3://b/one, [two].png', title: 'quote " and ] inside', clientMetadata: { tags: ['a', 'b'], nested: { x: [1, { y: 2 }] } } },
      { row: 2, url: 's3://b/2.png', group: '7' },
      { row: 3, invalid: 'not a JSON object' },
      { row: 4, invalid: 'no url' },
      { row: 5, url: 's3://b/3.png', clientMetadata: { from: 'text' } },
    ]);
  });

  it('reads JSONL, skipping blank lines and keeping bad lines as rows', async () => {
    const rows = await collect(readManifest(join(fixtures, 'manifest.jsonl')));
    expect(rows.map((row) => [row.row, row.url, row.path, row.title, row.invalid?.replace(/:.*/, '')])).toEqual([
      [1, 's3://b/a.txt', 'a.txt', undefined, undefined],
      [2, 's3://b/b.txt', undefined, undefined, 'client_metadata is not a JSON object'],
      [3, undefined, undefined, undefined, 'not JSON'],
      [4, 's3://b/c.txt', undefined, 'C', undefined],
    ]);
  });

  it('reads RFC 4180 CSV: BOM, CRLF, quoted newlines, doubled quotes, rows of the wrong width', async () => {
    expect(await collect(readManifest(join(fixtures, 'manifest-crlf.csv')))).toEqual([
      { row: 1, url: 's3://b/x.png', title: 'two\r\nlines' },
      { row: 2, url: 's3://b/y.png', title: 'plain', clientMetadata: { k: 'v, w' } },
      { row: 3, invalid: '4 fields where the header has 3' },
    ]);
  });
});

const tags = (instance: number | undefined, z: number | undefined) => ({
  ...(instance === undefined ? {} : { '00200013': { vr: 'IS', Value: [instance] } }),
  ...(z === undefined ? {} : { '00200032': { vr: 'DS', Value: [0, 0, z] }, '00200037': { vr: 'DS', Value: [1, 0, 0, 0, 1, 0] } }),
});

/** In list order (videos, images, image groups, ..., pdf, nifti), as a spec is read back. */
const ENTRIES: SpecEntry[] = [
  { kind: 'video', url: 's3://b/v.mp4', title: 'v', clientMetadata: { a: 1 }, metadata: { fps: 29.97, duration: 2, width: 4, height: 2, file_size: 10, mime_type: 'video/mp4' } },
  {
    kind: 'image_group',
    title: 'g',
    clientMetadata: {},
    createVideo: true,
    frames: [{ url: 's3://b/0.png', title: '0.png', metadata: { mime_type: 'image/png', file_size: 3, width: 2, height: 1 } }, { url: 's3://b/1.png', title: '1.png' }],
  },
  { kind: 'pdf', url: 's3://b/d.pdf', title: 'd', clientMetadata: {}, metadata: { file_size: 5, num_pages: 1 } },
  { kind: 'nifti', url: 's3://b/n.nii', title: 'n', clientMetadata: {} },
];

describe('written forms', () => {
  it.each(['upload-file', 'data-items'] as const)('%s: entries written and read back are the same entries, and validate', (format) => {
    const lists: Record<string, unknown[]> = {};
    for (const entry of ENTRIES) {
      (lists[listKey(entry.kind, format)] ??= []).push(writeEntry(entry, format));
    }
    expect(validateDocument(lists, { as: format }).errorCount).toBe(0);
    const read = readSpec(lists);
    expect(read.format).toBe(format);
    expect(read.problems).toEqual([]);
    // The upload file has no place for frame titles; everything else survives.
    const expected = format === 'upload-file' ? ENTRIES.map((entry) => (entry.kind === 'image_group' ? { ...entry, frames: entry.frames.map(({ title: _title, ...frame }) => frame) } : entry)) : ENTRIES;
    expect(read.entries.map((located) => located.entry)).toEqual(expected);
  });

  it('reads a PostUploadJobParams body ({dataItems: ...}) and reports items it cannot read', () => {
    const read = readSpec({ dataItems: { images: [{ objectUrl: 's3://b/i.png' }, { title: 'no url' }], skipDuplicateUrls: true } });
    expect(read.root).toBe('/dataItems');
    expect(read.flags).toEqual({ skipDuplicateUrls: true, upsertMetadata: false });
    expect(read.entries).toEqual([{ pointer: '/dataItems/images/0', entry: { kind: 'image', url: 's3://b/i.png', clientMetadata: {} } }]);
    expect(read.problems).toEqual([{ pointer: '/dataItems/images/1', message: 'not a image item with a URL' }]);
  });
});

describe('URLs and paths', () => {
  it('parses --base-url with and without a folder; "=" inside object keys stays in the URL', () => {
    expect(parseBaseUrl('s3://b/date=2024-01-01')).toEqual({ url: 's3://b/date=2024-01-01/' });
    expect(parseBaseUrl(`gs://b/p=${fixtures}`)).toEqual({ url: 'gs://b/p/', dir: fixtures });
    expect(() => parseBaseUrl('s3://b/p/=./no/such/dir')).toThrow('folder ./no/such/dir not found');
    expect(() => parseBaseUrl('bucket/prefix')).toThrow('expected a URL');
  });

  it('maps local paths to object URLs and back, escaping only http(s) URLs', () => {
    expect(urlForPath({ url: 'https://h/c/' }, '/data', '/data/a b/c#1.png')).toBe('https://h/c/a%20b/c%231.png');
    expect(urlForPath({ url: 's3://b/p/' }, '/data', '/data/a b/c#1.png')).toBe('s3://b/p/a b/c#1.png');
    expect(urlForPath({ url: 's3://b/p/' }, '/data', '/elsewhere/x.png')).toBeUndefined();
    expect(pathForUrl([{ url: 'https://h/c/', dir: '/local' }], 'https://h/c/a%20b/x.png?sig=1')).toBe('/local/a b/x.png');
    expect(pathForUrl([{ url: 's3://b/p/', dir: '/local' }], 's3://b/p/a%20b/x?.png')).toBe('/local/a%20b/x?.png');
    expect(pathForUrl([{ url: 's3://b/p/', dir: '/local' }], 's3://b/p/../etc/passwd')).toBeUndefined();
    expect(pathForUrl([{ url: 's3://b/p/' }], 's3://b/p/x.png')).toBeUndefined();
  });

  it('numbers split files beside the requested one', () => {
    expect(numbered('out/spec.json', 2)).toBe('out/spec-002.json');
    expect(numbered('spec', 12)).toBe('spec-012');
  });
});

describe('titles and series order', () => {
  it('makes titles unique and keeps them within 300 characters', () => {
    const titles = new UniqueTitles();
    expect(['a.png', 'a.png', 'a (2).png', 'a.png', 'b'].map((title) => titles.claim(title))).toEqual(['a.png', 'a (2).png', 'a (2) (2).png', 'a (3).png', 'b']);
    const long = titles.claim(`${'x'.repeat(400)}.png`);
    expect(long).toHaveLength(300);
    expect(long.endsWith('x.png')).toBe(true);
    const again = titles.claim(`${'x'.repeat(400)}.png`);
    expect(again).toHaveLength(300);
    expect(again.endsWith('x (2).png')).toBe(true);
  });

  it('orders slices by InstanceNumber, then position along the slice normal, then URL', () => {
    const files = [
      { url: 'e', tags: tags(undefined, undefined) },
      { url: 'd', tags: tags(undefined, -5) },
      { url: 'c', tags: tags(undefined, -10) },
      { url: 'b', tags: tags(2, 100) },
      { url: 'a', tags: tags(1, 200) },
      { url: 'f', tags: tags(undefined, undefined) },
    ];
    expect([...files].sort(compareSlices).map((file) => file.url)).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
  });
});

describe('streaming', () => {
  beforeAll(async () => {
    for (let i = 0; i < 6; i++) write(scratch, `img/${i}.png`, await png(2 + i, 2));
  });

  it('yields an entry before it has read all its inputs', async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    let pulled = 0;
    async function* inputs(): AsyncGenerator<SpecInput> {
      for (let i = 0; i < 6; i++) {
        if (i === 3) await gate;
        pulled++;
        const path = join(scratch, `img/${i}.png`);
        yield { file: path, source: path, url: `s3://b/${i}.png` };
      }
    }
    const events: BuildEvent[] = [];
    for await (const event of buildSpec(inputs(), { concurrency: 2 })) {
      events.push(event);
      if (event.type === 'entry' && events.length === 1) {
        expect(pulled).toBeLessThan(6);
        release();
      }
    }
    expect(events.map((event) => event.type)).toEqual(['entry', 'entry', 'entry', 'entry', 'entry', 'entry', 'summary']);
    expect(events.at(-1)).toEqual({ type: 'summary', summary: { inputs: 6, inSpec: 6, withoutMetadata: 0, errors: 0, entries: 6 } });
  });

  it('splits by URL count as well as item count, a group never split across files', async () => {
    const out = join(scratch, 'urls', 'spec.json');
    const writer = await SpecWriter.open({ format: 'upload-file', flags: { skipDuplicateUrls: false, upsertMetadata: false }, output: out, maxUrls: 3 });
    const group = (name: string, frames: number): SpecEntry => ({
      kind: 'image_group',
      title: name,
      clientMetadata: {},
      createVideo: false,
      frames: Array.from({ length: frames }, (_, i) => ({ url: `s3://b/${name}/${i}.png` })),
    });
    for (const entry of [group('a', 2), group('b', 2), group('c', 1), group('d', 3)]) await writer.add(entry);
    const written = await writer.finish();
    expect(written).toEqual({ files: [1, 2, 3].map((n) => numbered(out, n)), items: 4, urls: 8 });
    const titles = written.files.map((file) => (JSON.parse(readFileSync(file, 'utf8')).image_groups as { title: string }[]).map((g) => g.title));
    expect(titles).toEqual([['a'], ['b', 'c'], ['d']]);
  });

  it('refuses to write an item it built wrongly (a bug must not reach Encord)', async () => {
    const writer = await SpecWriter.open({ format: 'upload-file', flags: { skipDuplicateUrls: false, upsertMetadata: false } });
    const bad: SpecEntry = { kind: 'image', url: 's3://b/x.png', clientMetadata: {}, metadata: { mime_type: 'image/png', file_size: -1, width: 1, height: 1 } };
    await expect(writer.add(bad)).rejects.toThrow(/invalid upload-file item \(a bug/);
    await writer.discard();
  });
});
