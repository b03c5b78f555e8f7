import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { validateDocument } from '../src/validate/index.js';
import { runCli, type RunResult } from './helpers/cli.js';
import { ctSlice } from './helpers/dicom-writer.js';
import { inconsistentSeries, jpeg, mp4, pdf, write } from './fixtures/spec/media.js';

/**
 * `encord-media verify`: a hand-written spec with known mistakes (wrong fps, swapped width and
 * height, a wrong file size, missing and wrong DICOM tags, an item without metadata, a PDF in the
 * images list) against files made on the spot; every mistake must be named, and --fix must give
 * a spec that validates and verifies clean.
 */

type Json = Record<string, any>;

const scratch = mkdtempSync(join(tmpdir(), 'encord-media-verify-'));
const media = join(scratch, 'media');
const BASE = 's3://bucket/v/';
const MAPPING = `${BASE}=${media}`;
const SERIES = '1.2.826.0.1.3680043.8.498.77';

const size = (name: string) => statSync(join(media, name)).size;
const findingsOf = (run: RunResult) => run.stdout.trim().split('\n').filter(Boolean).map((line) => JSON.parse(line) as Json);
const slice = (instance: number) => ctSlice({ studyUid: '1.2.826.0.1.3680043.8.498.7', seriesUid: SERIES, sopUid: `${SERIES}.${instance}`, instanceNumber: instance, z: instance });

/** pydicom JSON of the required tags the writer puts in a slice (the rest are null). */
function sliceTags(instance: number): Json {
  const tags: Json = {
    '00080018': { vr: 'UI', Value: [`${SERIES}.${instance}`] },
    '00100020': { vr: 'LO', Value: ['PAT-1'] },
    '00180050': { vr: 'DS', Value: [2.5] },
    '0020000D': { vr: 'UI', Value: ['1.2.826.0.1.3680043.8.498.7'] },
    '0020000E': { vr: 'UI', Value: [SERIES] },
    '00200013': { vr: 'IS', Value: [instance] },
    '00200032': { vr: 'DS', Value: [0, 0, instance] },
    '00200037': { vr: 'DS', Value: [1, 0, 0, 0, 1, 0] },
    '00280004': { vr: 'CS', Value: ['MONOCHROME2'] },
    '00280010': { vr: 'US', Value: [4] },
    '00280011': { vr: 'US', Value: [4] },
    '00280030': { vr: 'DS', Value: [0.5, 0.5] },
    '00281050': { vr: 'DS', Value: [40] },
    '00281051': { vr: 'DS', Value: [400] },
  };
  for (const key of ['00181114', '00181164', '00209113', '00209116', '00280008', '00289110', '52009229', '52009230']) tags[key] = null;
  return tags;
}

function handWrittenSpec(): Json {
  const firstSlice = sliceTags(1);
  delete firstSlice['00280030'];
  delete firstSlice['00181164'];
  return {
    videos: [{ objectUrl: `${BASE}clip.mp4`, title: 'clip', videoMetadata: { fps: 30, duration: 1, width: 64, height: 48, file_size: size('clip.mp4'), mime_type: 'video/mp4' } }],
    images: [
      { objectUrl: `${BASE}photo.jpg`, title: 'photo', imageMetadata: { mime_type: 'image/jpeg', file_size: size('photo.jpg'), width: 32, height: 16 } },
      { objectUrl: `${BASE}doc.pdf`, title: 'not an image' },
    ],
    text: [
      { objectUrl: `${BASE}notes.txt`, title: 'notes', textMetadata: { file_size: 99, mime_type: 'text/plain' } },
      { objectUrl: `${BASE}bare.txt`, title: 'bare' },
    ],
    dicom_series: [
      {
        title: 'series',
        objectUrl_0: `${BASE}ct/1.dcm`,
        dicomMetadata_0: { tags: firstSlice },
        objectUrl_1: `${BASE}ct/2.dcm`,
        dicomMetadata_1: { tags: { ...sliceTags(2), '00280010': { vr: 'US', Value: [512] } } },
      },
    ],
    skip_duplicate_urls: true,
  };
}

beforeAll(async () => {
  mp4(join(media, 'clip.mp4'), 1);
  // Stored 32x16, EXIF orientation 6: displayed 16 wide and 32 high.
  write(media, 'photo.jpg', await jpeg(32, 16, 6));
  write(media, 'doc.pdf', await pdf(3));
  write(media, 'notes.txt', 'hello\n');
  write(media, 'bare.txt', 'bare\n');
  write(media, 'ct/1.dcm', slice(1));
  write(media, 'ct/2.dcm', slice(2));
  writeFileSync(join(scratch, 'spec.json'), JSON.stringify(handWrittenSpec(), null, 2));
});

describe('verify a hand-written upload file', () => {
  let run: RunResult;
  let findings: Json[];
  const at = (pointer: string) => findings.filter((finding) => finding.pointer === pointer);

  beforeAll(async () => {
    run = await runCli(['verify', join(scratch, 'spec.json'), '--base-url', MAPPING, '--json']);
    findings = findingsOf(run);
  });

  it('fails (exit 1) when the spec disagrees with its files', () => {
    expect(run.code, run.stderr).toBe(1);
  });

  it('names the wrong fps, with the tolerance keeping the right duration quiet', () => {
    expect(at('/videos/0/videoMetadata/fps')).toEqual([
      expect.objectContaining({ code: 'field_differs', severity: 'error', field: 'fps', spec: 30, file: 25, message: 'fps 30 in spec, 25 in file', url: `${BASE}clip.mp4` }),
    ]);
    expect(findings.filter((finding) => finding.pointer.startsWith('/videos/0/') && finding.field !== 'fps')).toEqual([]);
  });

  it('names width and height swapped by EXIF orientation', () => {
    expect(at('/images/0/imageMetadata/width')[0]).toMatchObject({ code: 'field_differs', spec: 32, file: 16 });
    expect(at('/images/0/imageMetadata/height')[0]).toMatchObject({ code: 'field_differs', spec: 16, file: 32 });
    expect(at('/images/0/imageMetadata/width')[0].message).toBe('width 32 in spec, 16 in file (width and height swapped: EXIF orientation or rotation?)');
  });

  it('names the wrong file size', () => {
    expect(at('/text/0/textMetadata/file_size')).toEqual([expect.objectContaining({ code: 'field_differs', message: 'file_size 99 in spec, 6 in file' })]);
  });

  it('names DICOM tags missing from the spec and tags that differ', () => {
    expect(at('/dicom_series/0/dicomMetadata_0/tags/00280030')).toEqual([
      expect.objectContaining({ code: 'dicom_tag_missing', message: '00280030 PixelSpacing missing in spec, [0.5,0.5] in file' }),
    ]);
    expect(at('/dicom_series/0/dicomMetadata_0/tags/00181164')).toEqual([
      expect.objectContaining({ code: 'dicom_tag_missing', message: '00181164 ImagerPixelSpacing missing in spec, null in file' }),
    ]);
    expect(at('/dicom_series/0/dicomMetadata_1/tags/00280010')).toEqual([
      expect.objectContaining({ code: 'dicom_tag_differs', message: '00280010 Rows [512] in spec, [4] in file', url: `${BASE}ct/2.dcm` }),
    ]);
    expect(findings.filter((finding) => finding.pointer.startsWith('/dicom_series/'))).toHaveLength(3);
  });

  it('reports an item without metadata and a file in the wrong list', () => {
    expect(at('/text/1/textMetadata')).toEqual([expect.objectContaining({ code: 'missing_metadata', severity: 'warning' })]);
    expect(at('/images/1')).toEqual([expect.objectContaining({ code: 'wrong_list', message: 'listed as image, but the file is pdf' })]);
  });

  it('--fix writes a spec that validates and verifies clean', async () => {
    const fixedPath = join(scratch, 'fixed.json');
    const fix = await runCli(['verify', join(scratch, 'spec.json'), '--base-url', MAPPING, '--fix', '-o', fixedPath]);
    expect(fix.code).toBe(1);
    const fixed = JSON.parse(readFileSync(fixedPath, 'utf8')) as Json;
    expect(validateDocument(fixed, { as: 'upload-file' }).errorCount).toBe(0);
    expect(fixed.skip_duplicate_urls).toBe(true);
    expect(fixed.images).toEqual([
      { objectUrl: `${BASE}photo.jpg`, title: 'photo', imageMetadata: { mime_type: 'image/jpeg', file_size: size('photo.jpg'), width: 16, height: 32 } },
    ]);
    expect(fixed.pdf).toEqual([{ objectUrl: `${BASE}doc.pdf`, title: 'not an image', pdfMetadata: { file_size: size('doc.pdf'), num_pages: 3 } }]);
    expect(fixed.dicom_series[0].dicomMetadata_0.tags['00280030']).toEqual({ vr: 'DS', Value: [0.5, 0.5] });
    const again = await runCli(['verify', fixedPath, '--base-url', MAPPING]);
    expect(again.stderr).toContain('all agree with their files');
    expect(again.code).toBe(0);
  });
});

describe('verify other inputs', () => {
  it('reads the SDK dataItems form and points into it with its spelling', async () => {
    const spec = {
      text: [{ objectUrl: `${BASE}notes.txt`, externalFileType: 'PLAIN_TEXT', clientMetadata: {}, textMetadata: { fileSize: 7, mimeType: 'text/plain' } }],
      dicomSeries: [{ title: 's', externalFileType: 'DICOM', dicomFiles: [{ url: `${BASE}ct/2.dcm`, title: '2.dcm', dicomMetadata: { tags: sliceTags(1) } }] }],
    };
    writeFileSync(join(scratch, 'items.json'), JSON.stringify(spec));
    const run = await runCli(['verify', join(scratch, 'items.json'), '--base-url', MAPPING, '--json']);
    const findings = findingsOf(run);
    expect(findings.find((finding) => finding.field === 'file_size')).toMatchObject({ pointer: '/text/0/textMetadata/fileSize', message: 'file_size 7 in spec, 6 in file' });
    expect(findings.filter((finding) => finding.code === 'dicom_tag_differs').map((finding) => finding.pointer)).toEqual(
      ['00080018', '00200013', '00200032'].map((tag) => `/dicomSeries/0/dicomFiles/0/dicomMetadata/tags/${tag}`),
    );
  });

  it('runs the server\'s series checks on the files\' own tags', async () => {
    inconsistentSeries(media, 'bad');
    const spec = { dicom_series: [{ title: 'bad', objectUrl_0: `${BASE}bad/1.dcm`, objectUrl_1: `${BASE}bad/2.dcm` }] };
    writeFileSync(join(scratch, 'bad-series.json'), JSON.stringify(spec));
    const run = await runCli(['verify', join(scratch, 'bad-series.json'), '--base-url', MAPPING, '--json']);
    expect(run.code).toBe(1);
    const findings = findingsOf(run);
    expect(findings.filter((finding) => finding.code === 'missing_metadata')).toHaveLength(2);
    expect(findings.find((finding) => finding.code === 'dicom_inconsistent_study_uid')).toMatchObject({ pointer: '/dicom_series/0', severity: 'error' });
  });

  it('reports objects it cannot read', async () => {
    writeFileSync(join(scratch, 'missing.json'), JSON.stringify({ images: [{ objectUrl: `${BASE}gone.png` }] }));
    const run = await runCli(['verify', join(scratch, 'missing.json'), '--base-url', MAPPING, '--json']);
    expect(run.code).toBe(1);
    expect(findingsOf(run)).toEqual([expect.objectContaining({ pointer: '/images/0', code: 'unreadable', url: `${BASE}gone.png` })]);
  });

  it('audits StorageItem records (JSONL, either casing) and names each stored value that disagrees', async () => {
    const records = [
      { uuid: '8a3c4c1e-0000-4000-8000-000000000001', itemType: 'image', url: `${BASE}photo.jpg`, fileSize: size('photo.jpg'), mimeType: 'image/jpeg', width: 32, height: 16, fps: null },
      { uuid: '8a3c4c1e-0000-4000-8000-000000000002', item_type: 'plainText', url: `${BASE}notes.txt`, file_size: 6, mime_type: 'text/plain' },
      { uuid: '8a3c4c1e-0000-4000-8000-000000000003', item_type: 'image', url: `${BASE}doc.pdf`, file_size: size('doc.pdf') },
      { uuid: '8a3c4c1e-0000-4000-8000-000000000004', item_type: 'dicomFile', url: `${BASE}ct/1.dcm`, dicom_series_uid: '1.2.3', dicom_instance_uid: `${SERIES}.1`, frame_count: 1 },
    ];
    writeFileSync(join(scratch, 'items.jsonl'), records.map((record) => JSON.stringify(record)).join('\n'));
    const run = await runCli(['verify', join(scratch, 'items.jsonl'), '--base-url', MAPPING, '--json']);
    expect(run.code).toBe(1);
    expect(findingsOf(run).map((finding) => [finding.pointer, finding.message])).toEqual([
      ['/0/width', 'width 32 stored, 16 in file'],
      ['/0/height', 'height 16 stored, 32 in file'],
      ['/2/item_type', 'item_type "image" stored, the file is pdf (pdf)'],
      ['/3/dicom_series_uid', `dicom_series_uid "1.2.3" stored, "${SERIES}" in file`],
    ]);
  });

  it('audits stored video values (video probe)', async () => {
    const records = [{ item_type: 'video', url: `${BASE}clip.mp4`, fps: 30, duration: 1, width: 64, height: 48 }];
    writeFileSync(join(scratch, 'video-items.json'), JSON.stringify(records));
    const run = await runCli(['verify', join(scratch, 'video-items.json'), '--base-url', MAPPING, '--json']);
    expect(findingsOf(run).map((finding) => finding.message)).toEqual(['fps 30 stored, 25 in file']);
  });
});
