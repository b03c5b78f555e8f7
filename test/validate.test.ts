import { describe, expect, it } from 'vitest';
import { validateDocument } from '../src/validate/index.js';
import { fixtureGroups } from './fixtures/specs/load.js';

const codesOf = (findings: { code: string }[]) => [...new Set(findings.map((finding) => finding.code))].sort();

describe.each(fixtureGroups())('$schema fixtures', ({ schema, cases }) => {
  it.each(cases)('$name', (fixture) => {
    const result = validateDocument(fixture.doc, { as: schema });
    expect(codesOf(result.findings)).toEqual([...fixture.codes].sort());
    expect(result.valid).toBe(fixture.valid);
    expect(result.kind).toBe(schema);
    if (fixture.detect) expect(validateDocument(fixture.doc).kind).toBe(fixture.detect);
  });
});

describe('upload file limits', () => {
  it('allows 500,000 items and flags one more', () => {
    const nifti = Array.from({ length: 500_000 }, (_, index) => ({ objectUrl: `s3://bucket/${index}.nii` }));
    expect(validateDocument({ nifti }).findings).toEqual([]);
    nifti.push({ objectUrl: 's3://bucket/last.nii' });
    const result = validateDocument({ nifti });
    expect(result.findings).toMatchObject([{ pointer: '', code: 'too_many_items', severity: 'error' }]);
  });

  it('flags more than 1,000,000 URLs', () => {
    const frames = Object.fromEntries(Array.from({ length: 1001 }, (_, index) => [`objectUrl_${index}`, `f${index}.png`]));
    const image_groups = Array.from({ length: 1000 }, (_, group) => ({
      title: `g${group}`,
      ...Object.fromEntries(Object.entries(frames).map(([key, url]) => [key, `s3://b/${group}/${url}`])),
    }));
    const result = validateDocument({ image_groups });
    expect(result.findings).toMatchObject([{ pointer: '', code: 'too_many_urls', severity: 'error' }]);
  });
});

describe('findings', () => {
  const duplicates = { images: Array.from({ length: 50 }, () => ({ objectUrl: 's3://b/same.png' })) };

  it('keeps at most maxFindings but counts them all', () => {
    const result = validateDocument(duplicates, { maxFindings: 10 });
    expect(result.findings).toHaveLength(10);
    expect(result).toMatchObject({ errorCount: 49, warningCount: 0, omittedCount: 39, valid: false });
  });

  it('point into the document with its own spelling and name the first occurrence', () => {
    const result = validateDocument({
      images: [{ object_url: 's3://b/a.png' }, { objectUrl: 's3://b/a.png', imageMetadata: { mimeType: 'image/png', fileSize: 0, width: 1, height: 1 } }],
    });
    expect(result.findings).toEqual([
      { pointer: '/images/1/imageMetadata/fileSize', code: 'invalid_file_size', severity: 'error', message: expect.stringContaining('file_size') },
      { pointer: '/images/1/objectUrl', code: 'duplicate_url', severity: 'error', message: expect.stringContaining('/images/0/object_url') },
    ]);
  });

  it('escape keys in pointers (RFC 6901)', () => {
    const result = validateDocument({ fps: 1, duration: 1, width: 1, height: 1, file_size: 1, mime_type: 'video/mp4', 'a/b~c': 1 });
    expect(result.findings).toMatchObject([{ pointer: '/a~1b~0c', code: 'unknown_key' }]);
  });
});

describe('kinds', () => {
  it('reports a document whose kind cannot be told', () => {
    expect(validateDocument({ hello: 'world' })).toMatchObject({ kind: undefined, valid: false, findings: [{ code: 'unknown_kind' }] });
    expect(validateDocument('text')).toMatchObject({ kind: undefined, findings: [{ code: 'unknown_kind' }] });
  });

  it('throws a usage error for an unknown --as', () => {
    expect(() => validateDocument({}, { as: 'movie' })).toThrow(/unknown kind "movie"/);
  });

  it('tells the SDK form from the upload file by SDK-only shapes', () => {
    expect(validateDocument({ image_groups: [{ title: 'g', objectUrl_0: 's3://b/0.png' }] }).kind).toBe('upload-file');
    expect(validateDocument({ image_groups: [{ title: 'g', images: [{ url: 's3://b/0.png' }] }] }).kind).toBe('data-items');
    expect(validateDocument({ dicomSeries: [{ title: 's', dicomFiles: [{ url: 's3://b/1.dcm' }] }] }).kind).toBe('data-items');
    expect(validateDocument({ videos: [{ objectUrl: 's3://b/v.mp4', externalFileType: 'VIDEO' }] }).kind).toBe('data-items');
    expect(validateDocument({ videos: [{ objectUrl: 's3://b/v.mp4' }] }).kind).toBe('upload-file');
  });
});
