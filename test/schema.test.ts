import Ajv2020 from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { EncordMediaError } from '../src/errors.js';
import {
  SCHEMA_NAMES,
  canonicalMetadata,
  canonicalUploadFile,
  camelToSnake,
  parseDataItems,
  schemaByName,
  snakeToCamel,
  toDataItemsWire,
  toJsonSchema,
} from '../src/schema/index.js';
import { dicomTags, fixtureGroups } from './fixtures/specs/load.js';

const ajv = new Ajv2020({ allErrors: true });
const jsonSchemaValidators = new Map(SCHEMA_NAMES.map((name) => [name, ajv.compile(toJsonSchema(schemaByName(name)!))]));

describe('exported JSON Schema', () => {
  it('covers every Encord object the task names', () => {
    expect(SCHEMA_NAMES).toEqual(
      expect.arrayContaining([
        'CustomerProvidedImageMetadata', 'CustomerProvidedVideoMetadata', 'CustomerProvidedAudioMetadata', 'CustomerProvidedTextMetadata',
        'CustomerProvidedPdfMetadata', 'CustomerProvidedDicomSeriesDicomFileMetadata', 'DataUploadImage', 'DataUploadVideo', 'DataUploadAudio',
        'DataUploadText', 'DataUploadPDF', 'DataUploadNifti', 'DataUploadImageGroupImage', 'DataUploadImageGroup', 'DataUploadImageGroupFromItems',
        'DataUploadDicomSeriesDicomFile', 'DataUploadDicomSeries', 'DataUploadItems', 'JsonUploadFile', 'StorageLocationName', 'StorageItemType',
        'StorageItem', 'CloudSyncedFolderParams', 'UploadLongPollingState', 'LongPollingStatus', 'DataUnitError', 'StorageItemSummary',
        'SyncPrivateDataWithCloudSyncedFolderStatus',
      ]),
    );
  });

  it('is draft 2020-12 with named objects as $defs', () => {
    const schema = toJsonSchema(schemaByName('JsonUploadFile')!) as { $schema: string; $ref: string; $defs: Record<string, unknown> };
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(schema.$ref).toBe('#/$defs/JsonUploadFile');
    expect(Object.keys(schema.$defs)).toEqual(expect.arrayContaining(['JsonUploadFileVideo', 'CustomerProvidedVideoMetadata', 'JsonUploadFileDicomSeries']));
  });

  it('lists both spellings and requires one of them', () => {
    const validate = jsonSchemaValidators.get('CustomerProvidedTextMetadata')!;
    expect(validate({ file_size: 1, mime_type: 'text/plain' })).toBe(true);
    expect(validate({ fileSize: 1, mimeType: 'text/plain' })).toBe(true);
    expect(validate({ fileSize: 1 })).toBe(false);
  });
});

describe.each(fixtureGroups())('$schema: JSON Schema and zod agree', ({ schema, cases }) => {
  const zodSchema = schemaByName(schema)!;
  const compiled = z.core.compile(zodSchema);
  it.each(cases)('$name', (fixture) => {
    const byZod = zodSchema.safeParse(fixture.doc).success;
    expect(jsonSchemaValidators.get(schema)!(fixture.doc)).toBe(byZod);
    expect(compiled.safeParse(fixture.doc).success).toBe(byZod);
    if (fixture.valid) expect(byZod).toBe(true);
  });
});

describe('key spellings', () => {
  it('follow the SDK snake_to_camel for every field name', () => {
    const pairs: [string, string][] = [
      ['object_url', 'objectUrl'], ['client_metadata', 'clientMetadata'], ['file_size', 'fileSize'], ['num_pages', 'numPages'],
      ['image_groups_from_items', 'imageGroupsFromItems'], ['skip_duplicate_urls', 'skipDuplicateUrls'], ['placeholder_item_uuid', 'placeholderItemUuid'],
    ];
    for (const [snake, camel] of pairs) {
      expect(snakeToCamel(snake)).toBe(camel);
      expect(camelToSnake(camel)).toBe(snake);
    }
  });
});

describe('canonical forms', () => {
  it('writes metadata in snake_case and drops keys Encord ignores', () => {
    expect(canonicalMetadata('video', { fps: 25, duration: 2, width: 4, height: 2, fileSize: 10, mimeType: 'video/mp4', extra: 1 })).toEqual({
      fps: 25, duration: 2, width: 4, height: 2, file_size: 10, mime_type: 'video/mp4',
    });
  });

  it('throws invalid_document for input its schema rejects', () => {
    expect(() => canonicalMetadata('pdf', { file_size: 1, num_pages: 0 })).toThrow(EncordMediaError);
    expect(() => canonicalMetadata('pdf', { file_size: 1, num_pages: 0 })).toThrow(/num_pages/);
  });

  it('writes the upload file as the docs do', () => {
    const canonical = canonicalUploadFile({
      skipDuplicateUrls: true,
      videos: [{ object_url: 's3://b/v.mp4', video_metadata: { fps: 25, duration: 2, width: 4, height: 2, fileSize: 10, mimeType: 'video/mp4' } }],
      imageGroups: [{ title: 'g', create_video: true, objectUrl_0: 's3://b/0.png', stray: 1 }],
    });
    expect(canonical).toEqual({
      skip_duplicate_urls: true,
      videos: [{ objectUrl: 's3://b/v.mp4', videoMetadata: { fps: 25, duration: 2, width: 4, height: 2, file_size: 10, mime_type: 'video/mp4' } }],
      image_groups: [{ title: 'g', createVideo: true, objectUrl_0: 's3://b/0.png' }],
    });
  });

  it('writes dataItems as the SDK sends them (ENCORD-FORMAT.md wire example, full tags)', () => {
    const tags = { ...dicomTags(), '00181114': null };
    const items = {
      videos: [{ object_url: 's3://b/v.mp4', video_metadata: { fps: 29.97, duration: 12.5, width: 1920, height: 1080, file_size: 123, mime_type: 'video/mp4' } }],
      dicom_series: [{ dicom_files: [{ url: 's3://b/1.dcm', title: null, dicom_metadata: { tags } }], title: 's' }],
      skip_duplicate_urls: true,
    };
    expect(toDataItemsWire(items)).toEqual({
      videos: [{ objectUrl: 's3://b/v.mp4', clientMetadata: {}, externalFileType: 'VIDEO', videoMetadata: { fps: 29.97, duration: 12.5, width: 1920, height: 1080, fileSize: 123, mimeType: 'video/mp4' } }],
      imageGroups: [],
      dicomSeries: [{ dicomFiles: [{ url: 's3://b/1.dcm', dicomMetadata: { tags } }], title: 's', clientMetadata: {}, externalFileType: 'DICOM' }],
      images: [], imageGroupsFromItems: [], audio: [], nifti: [], text: [], pdf: [],
      skipDuplicateUrls: true, upsertMetadata: false,
    });
    expect(toDataItemsWire(parseDataItems(toDataItemsWire(items)))).toEqual(toDataItemsWire(items));
  });

  it('keeps client metadata keys as given', () => {
    const wire = toDataItemsWire({ images: [{ objectUrl: 's3://b/a.png', clientMetadata: { camera_id: 3, 'video.description': 'x' } }] });
    expect((wire.images as { clientMetadata: unknown }[])[0]!.clientMetadata).toEqual({ camera_id: 3, 'video.description': 'x' });
  });
});
