import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { validateDocument } from '../src/validate/index.js';
import { runCli, type RunResult } from './helpers/cli.js';
import { dicomSeries, inconsistentSeries, jpeg, mp4, nifti, pdf, png, SERIES_A, SERIES_B, SERIES_C, wav, write } from './fixtures/spec/media.js';

/**
 * `encord-media spec` over a mixed folder made on the spot: every value asserted is what the
 * file generator put in (sizes by stat, dimensions, pages, rates), and every input is either in
 * the spec or in the errors file.
 */

type Json = Record<string, any>;

const scratch = mkdtempSync(join(tmpdir(), 'encord-media-spec-'));
const data = join(scratch, 'data');
const BASE = 's3://bucket/data/';

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? walk(join(dir, entry.name)) : [join(dir, entry.name)],
  );
}

const sizeOf = (rel: string) => statSync(join(data, rel)).size;
const byUrl = (items: Json[], rel: string) => items.find((item) => item.objectUrl === BASE + rel);
const readJson = (path: string) => JSON.parse(readFileSync(path, 'utf8')) as Json;
const readJsonl = (path: string) => readFileSync(path, 'utf8').trim().split('\n').filter(Boolean).map((line) => JSON.parse(line) as Json);

function urlsIn(spec: Json): string[] {
  const single = ['videos', 'images', 'audio', 'text', 'pdf', 'nifti'].flatMap((key) => (spec[key] ?? []).map((item: Json) => item.objectUrl));
  const framed = [...(spec.image_groups ?? []), ...(spec.dicom_series ?? [])].flatMap((group: Json) =>
    Object.keys(group).filter((key) => /^objectUrl_\d+$/.test(key)).map((key) => group[key]),
  );
  return [...single, ...framed];
}

beforeAll(async () => {
  write(data, 'images/a.png', await png(64, 48));
  // Stored 32x16 with EXIF orientation 6: shown 16 wide, 32 high.
  write(data, 'images/b.jpg', await jpeg(32, 16, 6));
  write(data, 'photos/a.png', await png(20, 10));
  write(data, 'docs/two.pdf', await pdf(2));
  write(data, 'docs/notes.txt', 'hello encord\n');
  wav(join(data, 'media/tone.wav'), 0.5);
  mp4(join(data, 'media/clip.mp4'), 1);
  dicomSeries(data);
  inconsistentSeries(data, 'dicom/bad');
  write(data, 'volumes/vol.nii', nifti());
  write(data, 'broken/empty.png', new Uint8Array(0));
  write(data, 'broken/truncated.png', (await png(64, 48)).subarray(0, 60));
});

describe('spec over a mixed folder (JSON upload file)', () => {
  let run: RunResult;
  let spec: Json;
  let errors: Json[];

  beforeAll(async () => {
    run = await runCli(['spec', data, '--base-url', BASE, '-o', join(scratch, 'mixed.json'), '--errors', join(scratch, 'mixed-errors.jsonl')]);
    spec = readJson(join(scratch, 'mixed.json'));
    errors = readJsonl(join(scratch, 'mixed-errors.jsonl'));
  });

  it('exits 0 and accounts for every input: inputs = in spec + errors', () => {
    expect(run.code, run.stderr).toBe(0);
    const inputs = walk(data).length;
    expect(urlsIn(spec).length + errors.length).toBe(inputs);
    const [, total, inSpec, failed] = /(\d+) inputs = (\d+) in spec \+ (\d+) errors/.exec(run.stderr) ?? [];
    expect([Number(total), Number(inSpec), Number(failed)]).toEqual([inputs, urlsIn(spec).length, errors.length]);
  });

  it('validates as an upload file with no errors', () => {
    const validation = validateDocument(spec, { as: 'upload-file' });
    expect(validation.findings.filter((finding) => finding.severity === 'error')).toEqual([]);
    expect(validation.kind).toBe('upload-file');
  });

  it('lists the broken files in the errors file with their codes and URLs', () => {
    const byFile = Object.fromEntries(errors.map((error) => [relative(data, error.file), error]));
    expect(byFile['broken/empty.png']).toMatchObject({ url: `${BASE}broken/empty.png`, error: { code: 'empty_file' } });
    expect(byFile['broken/truncated.png']).toMatchObject({ url: `${BASE}broken/truncated.png`, error: { code: 'truncated' } });
  });

  it('reports every file of a series the server would reject, with the reason', () => {
    const bad = errors.filter((error) => error.url.startsWith(`${BASE}dicom/bad/`));
    expect(bad.map((error) => error.url)).toEqual([`${BASE}dicom/bad/1.dcm`, `${BASE}dicom/bad/2.dcm`]);
    for (const error of bad) {
      expect(error.error.code).toBe('dicom_inconsistent_study_uid');
      expect(error.error.message).toContain(`series ${SERIES_C}`);
    }
  });

  it('describes images with their real sizes, display dimensions and unique titles', () => {
    expect(byUrl(spec.images, 'images/a.png')).toEqual({
      objectUrl: `${BASE}images/a.png`,
      title: 'a.png',
      imageMetadata: { mime_type: 'image/png', file_size: sizeOf('images/a.png'), width: 64, height: 48 },
    });
    expect(byUrl(spec.images, 'images/b.jpg').imageMetadata).toEqual({ mime_type: 'image/jpeg', file_size: sizeOf('images/b.jpg'), width: 16, height: 32 });
    expect(byUrl(spec.images, 'photos/a.png')).toMatchObject({ title: 'a (2).png', imageMetadata: { width: 20, height: 10 } });
    const titles = Object.values(spec).flatMap((list) => (Array.isArray(list) ? list.map((item: Json) => item.title) : []));
    expect(new Set(titles).size).toBe(titles.length);
  });

  it('describes the PDF and the text file', () => {
    expect(byUrl(spec.pdf, 'docs/two.pdf')).toEqual({ objectUrl: `${BASE}docs/two.pdf`, title: 'two.pdf', pdfMetadata: { file_size: sizeOf('docs/two.pdf'), num_pages: 2 } });
    expect(byUrl(spec.text, 'docs/notes.txt').textMetadata).toEqual({ file_size: 13, mime_type: 'text/plain' });
  });

  it('describes the WAV (audio probe)', () => {
    expect(byUrl(spec.audio ?? [], 'media/tone.wav')?.audioMetadata).toEqual({
      duration: 0.5,
      file_size: sizeOf('media/tone.wav'),
      mime_type: 'audio/wav',
      sample_rate: 8000,
      bit_depth: 16,
      codec: 'pcm',
      num_channels: 1,
    });
  });

  it('describes the MP4 (video probe)', () => {
    const metadata = byUrl(spec.videos ?? [], 'media/clip.mp4')?.videoMetadata;
    expect(metadata).toMatchObject({ fps: 25, width: 64, height: 48, file_size: sizeOf('media/clip.mp4'), mime_type: 'video/mp4' });
    expect(metadata.duration).toBeCloseTo(1, 1);
  });

  it('lists the NIfTI volume, which Encord takes without metadata', () => {
    expect(spec.nifti).toEqual([{ objectUrl: `${BASE}volumes/vol.nii`, title: 'vol.nii' }]);
  });

  it('groups DICOM files into series by SeriesInstanceUID across folders, in InstanceNumber order', () => {
    const series = spec.dicom_series as Json[];
    expect(series.map((entry) => entry.title).sort()).toEqual([SERIES_A, SERIES_B].sort());
    const a = series.find((entry) => entry.title === SERIES_A) as Json;
    expect([a.objectUrl_0, a.objectUrl_1, a.objectUrl_2, a.objectUrl_3]).toEqual([`${BASE}dicom/b/3.dcm`, `${BASE}dicom/a/2.dcm`, `${BASE}dicom/a/1.dcm`, undefined]);
    expect(a.dicomMetadata_0.tags['00200013']).toEqual({ vr: 'IS', Value: [1] });
    expect(a.dicomMetadata_2.tags['00200032']).toEqual({ vr: 'DS', Value: [0, 0, 7.5] });
    expect(Object.keys(a.dicomMetadata_1.tags)).toHaveLength(22);
    const b = series.find((entry) => entry.title === SERIES_B) as Json;
    expect(b.objectUrl_0).toBe(`${BASE}dicom/b/other.dcm`);
    expect(b.dicomMetadata_0.tags['0020000E']).toEqual({ vr: 'UI', Value: [SERIES_B] });
  });
});

describe('spec options', () => {
  beforeAll(async () => {
    for (const n of [10, 2, 1]) write(scratch, `frames/seq/frame${n}.png`, await png(8, 6));
    write(scratch, 'frames/seq/scan.tif', await sharp({ create: { width: 8, height: 6, channels: 3, background: '#000' } }).tiff().toBuffer());
    write(scratch, 'frames/other/x.png', await png(4, 4));
  });

  it('makes image sequences from folders in the SDK dataItems form, frames in numeric name order', async () => {
    const out = join(scratch, 'frames.json');
    const errorsFile = join(scratch, 'frames-errors.jsonl');
    const run = await runCli(['spec', join(scratch, 'frames'), '--image-groups', 'folder', '--create-video', '--format', 'data-items', '--base-url', 's3://b/f/', '-o', out, '--errors', errorsFile]);
    expect(run.code, run.stderr).toBe(0);
    const spec = readJson(out);
    expect(validateDocument(spec, { as: 'data-items' }).errorCount).toBe(0);
    const seq = (spec.imageGroups as Json[]).find((group) => group.title === 'seq') as Json;
    expect(seq).toMatchObject({ createVideo: true, externalFileType: 'IMG_GROUP', clientMetadata: {} });
    expect(seq.images.map((image: Json) => image.url)).toEqual(['s3://b/f/seq/frame1.png', 's3://b/f/seq/frame2.png', 's3://b/f/seq/frame10.png']);
    expect(seq.images[0]).toEqual({
      url: 's3://b/f/seq/frame1.png',
      title: 'frame1.png',
      imageMetadata: { mimeType: 'image/png', fileSize: statSync(join(scratch, 'frames/seq/frame1.png')).size, width: 8, height: 6 },
    });
    expect(spec).toMatchObject({ videos: [], images: [], skipDuplicateUrls: false, upsertMetadata: false, imageGroupsFromItems: [] });
    // TIFF cannot be a frame of an image sequence: reported, not dropped.
    expect(readJsonl(errorsFile)).toEqual([
      expect.objectContaining({ url: 's3://b/f/seq/scan.tif', error: expect.objectContaining({ code: 'unsupported_in_image_sequence' }) }),
    ]);
  });

  it('reads a CSV manifest: path to read, url to write, titles, client metadata, groups, bad rows as errors', async () => {
    write(scratch, 'manifest.csv', readFileSync(join(import.meta.dirname, 'fixtures/spec/manifest.csv')));
    const out = join(scratch, 'manifest-spec.json');
    const errorsFile = join(scratch, 'manifest-errors.jsonl');
    const run = await runCli(['spec', '--manifest', 'manifest.csv', '--image-groups', 'manifest', '--skip-duplicate-urls', '--upsert-metadata', '-o', out, '--errors', errorsFile], { cwd: scratch });
    expect(run.code, run.stderr).toBe(0);
    const spec = readJson(out);
    expect(validateDocument(spec, { as: 'upload-file' }).errorCount).toBe(0);
    expect(spec.skip_duplicate_urls).toBe(true);
    expect(spec.upsert_metadata).toBe(true);
    expect(spec.images).toEqual([
      {
        objectUrl: 'https://cdn.example.com/img/a.png',
        title: 'Front, "A"',
        clientMetadata: { camera: 'left', n: 1 },
        imageMetadata: { mime_type: 'image/png', file_size: sizeOf('images/a.png'), width: 64, height: 48 },
      },
    ]);
    expect(spec.image_groups).toEqual([
      {
        title: 'pair',
        createVideo: false,
        clientMetadata: { set: 'p' },
        objectUrl_0: 'https://cdn.example.com/img/p1.png',
        imageMetadata_0: { mime_type: 'image/png', file_size: sizeOf('photos/a.png'), width: 20, height: 10 },
        objectUrl_1: 'https://cdn.example.com/img/p2.jpg',
        imageMetadata_1: { mime_type: 'image/jpeg', file_size: sizeOf('images/b.jpg'), width: 16, height: 32 },
      },
    ]);
    const errors = readJsonl(errorsFile);
    expect(errors.map((error) => error.error.code)).toEqual(['invalid_input', 'invalid_input']);
    expect(errors[0]?.error.message).toMatch(/row 4: no url/);
    expect(errors[1]?.error.message).toMatch(/row 5: client_metadata is not a JSON object/);
  });

  it('reads a JSONL manifest of object URLs from their local copy named by --base-url URL=DIR', async () => {
    const rows = [{ url: `${BASE}docs/two.pdf`, title: 'Two pages' }, { url: `${BASE}images/a.png`, group: 'ignored without --image-groups' }];
    const manifest = join(scratch, 'rows.jsonl');
    writeFileSync(manifest, rows.map((row) => JSON.stringify(row)).join('\n'));
    const run = await runCli(['spec', '--manifest', manifest, '--base-url', `${BASE}=${data}`, '--format', 'data-items']);
    expect(run.code, run.stderr).toBe(0);
    const spec = JSON.parse(run.stdout) as Json;
    expect(spec.pdf).toEqual([{ objectUrl: `${BASE}docs/two.pdf`, title: 'Two pages', clientMetadata: {}, externalFileType: 'PDF', pdfMetadata: { fileSize: sizeOf('docs/two.pdf'), numPages: 2 } }]);
    expect(spec.images[0].imageMetadata).toEqual({ mimeType: 'image/png', fileSize: sizeOf('images/a.png'), width: 64, height: 48 });
  });

  it('splits a spec over --max-items into numbered files that each validate', async () => {
    const out = join(scratch, 'split', 'spec.json');
    const run = await runCli(['spec', join(data, 'images'), join(data, 'photos'), join(data, 'docs'), '--base-url', `${BASE}=${data}`, '--max-items', '2', '-o', out]);
    expect(run.code, run.stderr).toBe(0);
    const files = ['spec-001.json', 'spec-002.json', 'spec-003.json'].map((name) => readJson(join(scratch, 'split', name)));
    expect(files.map((file) => urlsIn(file).length)).toEqual([2, 2, 1]);
    for (const file of files) expect(validateDocument(file, { as: 'upload-file' }).errorCount).toBe(0);
    expect(run.stderr).toContain('5 items, 5 URLs -> 3 files');
  });

  it('--on-error fail stops at the first bad input and writes nothing', async () => {
    const out = join(scratch, 'fail.json');
    const run = await runCli(['spec', join(data, 'broken'), '--on-error', 'fail', '-o', out]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/stopped at .*empty\.png/);
    expect(() => statSync(out)).toThrow();
  });

  it('--on-error include-without-metadata keeps a file it can identify, without metadata, and says so', async () => {
    const out = join(scratch, 'bare.json');
    const errorsFile = join(scratch, 'bare-errors.jsonl');
    const run = await runCli(['spec', join(data, 'broken'), '--on-error', 'include-without-metadata', '--base-url', BASE, '-o', out, '--errors', errorsFile]);
    expect(run.code, run.stderr).toBe(0);
    expect(readJson(out).images).toEqual([{ objectUrl: `${BASE}truncated.png`, title: 'truncated.png' }]);
    const errors = readJsonl(errorsFile);
    expect(errors.map((error) => [error.error.code, error.included ?? false])).toEqual([
      ['empty_file', false],
      ['truncated', true],
    ]);
    expect(run.stderr).toContain('2 inputs = 1 in spec (1 without metadata) + 1 errors');
  });

  it('reports a repeated input as a duplicate URL instead of writing it twice', async () => {
    const file = join(data, 'docs/notes.txt');
    const run = await runCli(['spec', file, '-', '--base-url', `s3://b/x/=${join(data, 'docs')}`], { input: `${file}\n` });
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout).text).toHaveLength(1);
    expect(run.stderr).toMatch(/error duplicate_url .*notes\.txt: s3:\/\/b\/x\/notes\.txt is already in the spec/);
    expect(run.stderr).toContain('2 inputs = 1 in spec + 1 errors');
  });

  it('refuses contradictory options with a usage error', async () => {
    const run = await runCli(['spec', data, '--create-video']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--create-video needs --image-groups');
  });
});

