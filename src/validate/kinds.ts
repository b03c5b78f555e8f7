import type { z } from 'zod';
import type { MetadataKind } from '../schema/canonical.js';
import { isPlainObject } from '../schema/dto.js';
import { SCHEMA_NAMES, schemaByName } from '../schema/registry.js';
import { rawField } from './fields.js';
import { checkMetadata } from './metadata.js';
import type { FindingSink } from './sink.js';
import {
  checkDicomSeriesItem,
  checkImageGroup,
  checkImageGroupFromItems,
  checkSingleItem,
  checkUploadDocument,
  SINGLE_ITEM_LISTS,
  UploadWalk,
  type SingleItemKind,
  type UploadForm,
} from './upload.js';

/**
 * What a document can be validated as: `upload-file` (the JSON upload file), `data-items` (the
 * SDK's DataUploadItems), a metadata object (`image`, `video`, `audio`, `text`, `pdf`, `dicom`),
 * or any schema name `schema` lists (`DataUploadVideo`, `StorageItem`, ...).
 */
export interface DocumentKindEntry {
  schema: z.ZodType;
  /** Rules beyond the schema. */
  check?: (document: unknown, sink: FindingSink) => void;
}

const SHORT_NAMES: Record<string, string> = {
  'upload-file': 'JsonUploadFile',
  'data-items': 'DataUploadItems',
  image: 'CustomerProvidedImageMetadata',
  video: 'CustomerProvidedVideoMetadata',
  audio: 'CustomerProvidedAudioMetadata',
  text: 'CustomerProvidedTextMetadata',
  pdf: 'CustomerProvidedPdfMetadata',
  dicom: 'CustomerProvidedDicomSeriesDicomFileMetadata',
};

export const DOCUMENT_KINDS: readonly string[] = [...Object.keys(SHORT_NAMES), ...SCHEMA_NAMES];

const SINGLE_ITEM_NAMES: Record<SingleItemKind, [string, string]> = {
  video: ['DataUploadVideo', 'JsonUploadFileVideo'],
  image: ['DataUploadImage', 'JsonUploadFileImage'],
  audio: ['DataUploadAudio', 'JsonUploadFileAudio'],
  text: ['DataUploadText', 'JsonUploadFileText'],
  pdf: ['DataUploadPDF', 'JsonUploadFilePdf'],
  nifti: ['DataUploadNifti', 'JsonUploadFileNifti'],
};

function itemCheck(form: UploadForm, check: (item: unknown, pointer: string, walk: UploadWalk) => void) {
  return (document: unknown, sink: FindingSink) => check(document, '', new UploadWalk(form, sink));
}

function metadataFieldCheck(kind: MetadataKind, field: string) {
  return (document: unknown, sink: FindingSink) => {
    const metadata = rawField(document, field, '');
    if (metadata && metadata.value !== null) checkMetadata(kind, metadata.value, metadata.pointer, sink);
  };
}

const CHECKS: Record<string, DocumentKindEntry['check']> = {
  JsonUploadFile: (document, sink) => checkUploadDocument('upload-file', document, sink),
  DataUploadItems: (document, sink) => checkUploadDocument('data-items', document, sink),
  DataUploadImageGroup: itemCheck('data-items', checkImageGroup),
  DataUploadImageGroupFromItems: itemCheck('data-items', checkImageGroupFromItems),
  JsonUploadFileImageGroup: itemCheck('upload-file', checkImageGroup),
  DataUploadDicomSeries: itemCheck('data-items', checkDicomSeriesItem),
  JsonUploadFileDicomSeries: itemCheck('upload-file', checkDicomSeriesItem),
  DataUploadImageGroupImage: metadataFieldCheck('image', 'image_metadata'),
  DataUploadDicomSeriesDicomFile: metadataFieldCheck('dicom', 'dicom_metadata'),
};
for (const kind of ['image', 'video', 'audio', 'text', 'pdf', 'dicom'] as const) {
  CHECKS[SHORT_NAMES[kind] as string] = (document, sink) => checkMetadata(kind, document, '', sink);
}
for (const [kind, [sdkName, fileName]] of Object.entries(SINGLE_ITEM_NAMES) as [SingleItemKind, [string, string]][]) {
  CHECKS[sdkName] = itemCheck('data-items', (item, pointer, walk) => checkSingleItem(kind, item, pointer, walk));
  CHECKS[fileName] = itemCheck('upload-file', (item, pointer, walk) => checkSingleItem(kind, item, pointer, walk));
}

/** The schema and checks of a kind (short name or schema name), or undefined for an unknown kind. */
export function documentKind(kind: string): DocumentKindEntry | undefined {
  const name = SHORT_NAMES[kind] ?? kind;
  const schema = schemaByName(name);
  return schema ? { schema, check: CHECKS[name] } : undefined;
}

const CONTAINER_KEYS = [
  ...SINGLE_ITEM_LISTS.map(([list]) => list),
  'image_groups',
  'dicom_series',
  'image_groups_from_items',
  'skip_duplicate_urls',
  'upsert_metadata',
];

const EXTERNAL_FILE_TYPES: Record<string, string> = {
  VIDEO: 'DataUploadVideo',
  IMAGE: 'DataUploadImage',
  AUDIO: 'DataUploadAudio',
  PLAIN_TEXT: 'DataUploadText',
  PDF: 'DataUploadPDF',
  NIFTI: 'DataUploadNifti',
  IMG_GROUP: 'DataUploadImageGroup',
  IMG_GROUP_FROM_ITEMS: 'DataUploadImageGroupFromItems',
  DICOM: 'DataUploadDicomSeries',
};

function has(document: unknown, name: string): boolean {
  return rawField(document, name, '') !== undefined;
}

/** The first few items of a list: enough to tell the two upload forms apart. */
function sample(document: unknown, name: string): unknown[] {
  const list = rawField(document, name, '')?.value;
  return Array.isArray(list) ? list.slice(0, 16) : [];
}

/** DataUploadItems shows itself by SDK-only keys: lists of frames, externalFileType, image_groups_from_items. */
function looksLikeDataItems(document: unknown): boolean {
  if (has(document, 'image_groups_from_items')) return true;
  const groups = [...sample(document, 'image_groups'), ...sample(document, 'dicom_series')];
  if (groups.some((group) => has(group, 'images') || has(group, 'dicom_files'))) return true;
  const items = [...groups, ...SINGLE_ITEM_LISTS.flatMap(([list]) => sample(document, list))];
  return items.some((item) => has(item, 'external_file_type'));
}

/**
 * Which kind a document is, from its keys: a DataUpload* item that names its externalFileType,
 * an upload document (the upload file unless it shows SDK-only keys; the two agree on single
 * items), or a metadata object. Undefined when the keys do not say.
 */
export function detectKind(document: unknown): string | undefined {
  if (!isPlainObject(document)) return undefined;
  const fileType = rawField(document, 'external_file_type', '')?.value;
  if (typeof fileType === 'string' && EXTERNAL_FILE_TYPES[fileType]) return EXTERNAL_FILE_TYPES[fileType];
  if (CONTAINER_KEYS.some((key) => has(document, key))) return looksLikeDataItems(document) ? 'data-items' : 'upload-file';
  if (has(document, 'tags')) return 'dicom';
  if (has(document, 'fps')) return 'video';
  if (has(document, 'sample_rate') || has(document, 'num_channels') || has(document, 'codec')) return 'audio';
  if (has(document, 'num_pages')) return 'pdf';
  if (has(document, 'width') || has(document, 'height')) return 'image';
  if (has(document, 'mime_type') && has(document, 'file_size')) return 'text';
  return undefined;
}
