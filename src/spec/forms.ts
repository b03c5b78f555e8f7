import { camelToSnake, snakeToCamel } from '../schema/casing.js';
import { OBJECT_URL_KEY } from '../schema/upload-file.js';
import { pointerJoin } from '../validate/finding.js';
import { detectKind } from '../validate/index.js';
import {
  ENTRY_KINDS,
  type ClientMetadata,
  type DicomSeriesEntry,
  type EntryKind,
  type Frame,
  type ImageGroupEntry,
  type SingleKind,
  type SpecEntry,
  type SpecFlags,
  type SpecFormat,
} from './model.js';

/**
 * The two written forms of a spec. The JSON upload file follows Encord's docs (snake_case list
 * keys, camelCase item keys, snake_case inside *Metadata, frames as objectUrl_N with their
 * metadata as imageMetadata_N / dicomMetadata_N, as src/schema/upload-file.ts defines); dataItems
 * is the SDK's wire form (camelCase throughout, null fields dropped, as
 * `DataUploadItems.to_dict(by_alias=True, exclude_none=True)` sends it).
 */

const UPLOAD_FILE_LIST_KEYS: Record<EntryKind, string> = {
  video: 'videos',
  image: 'images',
  image_group: 'image_groups',
  dicom_series: 'dicom_series',
  audio: 'audio',
  text: 'text',
  pdf: 'pdf',
  nifti: 'nifti',
};

export function listKey(kind: EntryKind, format: SpecFormat): string {
  const key = UPLOAD_FILE_LIST_KEYS[kind];
  return format === 'data-items' ? snakeToCamel(key) : key;
}

const EXTERNAL_FILE_TYPES: Record<EntryKind, string> = {
  video: 'VIDEO',
  image: 'IMAGE',
  image_group: 'IMG_GROUP',
  dicom_series: 'DICOM',
  audio: 'AUDIO',
  text: 'PLAIN_TEXT',
  pdf: 'PDF',
  nifti: 'NIFTI',
};

/** The key under which a single item carries its metadata (nifti has none). */
function metadataKey(kind: SingleKind): string | undefined {
  return kind === 'nifti' ? undefined : `${kind}Metadata`;
}

/** One entry as an element of its list in the given form. */
export function writeEntry(entry: SpecEntry, format: SpecFormat): Record<string, unknown> {
  return format === 'data-items' ? toDataItem(entry) : toUploadFileItem(entry);
}

function toUploadFileItem(entry: SpecEntry): Record<string, unknown> {
  const item: Record<string, unknown> = {};
  if (entry.kind === 'image_group' || entry.kind === 'dicom_series') {
    item.title = entry.title;
    if (entry.kind === 'image_group') item.createVideo = entry.createVideo;
    if (Object.keys(entry.clientMetadata).length > 0) item.clientMetadata = entry.clientMetadata;
    const metadataKey = entry.kind === 'image_group' ? 'imageMetadata' : 'dicomMetadata';
    entry.frames.forEach((frame, n) => {
      item[`objectUrl_${n}`] = frame.url;
      if (frame.metadata) item[`${metadataKey}_${n}`] = frame.metadata;
    });
    return item;
  }
  item.objectUrl = entry.url;
  if (entry.title !== undefined) item.title = entry.title;
  if (Object.keys(entry.clientMetadata).length > 0) item.clientMetadata = entry.clientMetadata;
  const key = metadataKey(entry.kind);
  if (key && entry.metadata) item[key] = entry.metadata;
  return item;
}

function toDataItem(entry: SpecEntry): Record<string, unknown> {
  const externalFileType = EXTERNAL_FILE_TYPES[entry.kind];
  if (entry.kind === 'image_group') {
    const images = entry.frames.map((frame) => withDefined({ url: frame.url, title: frame.title, imageMetadata: camelKeys(frame.metadata) }));
    const { title, clientMetadata, createVideo } = entry;
    return withDefined({ images, title, clientMetadata, createVideo, externalFileType, clusterByResolution: false });
  }
  if (entry.kind === 'dicom_series') {
    const dicomFiles = entry.frames.map((frame) => withDefined({ url: frame.url, title: frame.title, dicomMetadata: frame.metadata }));
    return withDefined({ dicomFiles, title: entry.title, clientMetadata: entry.clientMetadata, externalFileType });
  }
  const key = metadataKey(entry.kind);
  return withDefined({
    objectUrl: entry.url,
    title: entry.title,
    clientMetadata: entry.clientMetadata,
    externalFileType,
    ...(key ? { [key]: camelKeys(entry.metadata) } : {}),
  });
}

/** The list keys and flags that end a spec document, in the form's spelling. */
export function flagsFor(flags: SpecFlags, format: SpecFormat): Record<string, boolean> {
  if (format === 'data-items') return { skipDuplicateUrls: flags.skipDuplicateUrls, upsertMetadata: flags.upsertMetadata };
  // upsert_metadata is an SDK field the JSON-file docs do not name: written only when asked for.
  return { skip_duplicate_urls: flags.skipDuplicateUrls, ...(flags.upsertMetadata ? { upsert_metadata: true } : {}) };
}

/** Lists the dataItems form always carries (the SDK sends every list, empty or not). */
export function alwaysPresentLists(format: SpecFormat): string[] {
  return format === 'data-items' ? [...ENTRY_KINDS.map((kind) => listKey(kind, format)), 'imageGroupsFromItems'] : [];
}

function camelKeys(metadata: object | undefined): Record<string, unknown> | undefined {
  if (!metadata) return undefined;
  return Object.fromEntries(Object.entries(metadata).map(([key, value]) => [snakeToCamel(key), value]));
}

function withDefined(object: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(object).filter(([, value]) => value !== undefined));
}

// ---------------------------------------------------------------------------------------------
// Reading: either form, either spelling, tolerant of wrong values (verify must see them).

export interface LocatedEntry {
  entry: SpecEntry;
  /** JSON Pointer of the entry in the document it was read from. */
  pointer: string;
}

export interface SpecProblem {
  pointer: string;
  message: string;
}

export interface ReadSpec {
  flags: SpecFlags;
  /** Where the lists were found: '' or '/dataItems' for a PostUploadJobParams body. */
  root: string;
  format: SpecFormat;
  entries: LocatedEntry[];
  /** Items that could not be read as any entry (no URL, not an object). */
  problems: SpecProblem[];
}

type Json = Record<string, unknown>;

/** Reads a spec document in either form into entries. Throws only when it is not a spec at all. */
export function readSpec(document: unknown): ReadSpec {
  if (!isObject(document)) throw new TypeError('a spec is a JSON object');
  const wrapped = field(document, 'data_items');
  const body = isObject(wrapped) ? wrapped : document;
  const root = body === document ? '' : Object.hasOwn(document, 'dataItems') ? '/dataItems' : '/data_items';
  const flags = {
    skipDuplicateUrls: field(body, 'skip_duplicate_urls') === true,
    upsertMetadata: field(body, 'upsert_metadata') === true,
  };
  const entries: LocatedEntry[] = [];
  const problems: SpecProblem[] = [];
  for (const kind of ENTRY_KINDS) {
    const [key, list] = listOf(body, kind);
    if (!Array.isArray(list)) continue;
    list.forEach((item, index) => {
      const pointer = pointerJoin(pointerJoin(root, key), index);
      const entry = isObject(item) ? readEntry(kind, item) : undefined;
      if (entry) entries.push({ entry, pointer });
      else problems.push({ pointer, message: `not a ${kind.replace('_', ' ')} item with a URL` });
    });
  }
  // The validator's rule decides the form, so verify and validate never disagree on it.
  const format = body !== document || detectKind(body) === 'data-items' ? 'data-items' : 'upload-file';
  return { flags, root, format, entries, problems };
}

function listOf(body: Json, kind: EntryKind): [string, unknown] {
  const key = UPLOAD_FILE_LIST_KEYS[kind];
  const camel = snakeToCamel(key);
  return Object.hasOwn(body, key) || camel === key ? [key, body[key]] : [camel, body[camel]];
}

function readEntry(kind: EntryKind, item: Json): SpecEntry | undefined {
  const title = typeof item.title === 'string' ? item.title : undefined;
  const clientMetadata = readClientMetadata(field(item, 'client_metadata'));
  if (kind === 'image_group') {
    const frames = readFrames(item, 'images', 'image_metadata');
    const createVideo = field(item, 'create_video') === true;
    return frames && ({ kind, title, clientMetadata, createVideo, frames } as ImageGroupEntry);
  }
  if (kind === 'dicom_series') {
    const frames = readFrames(item, 'dicom_files', 'dicom_metadata');
    return frames && ({ kind, title, clientMetadata, frames } as DicomSeriesEntry);
  }
  const url = field(item, 'object_url');
  if (typeof url !== 'string') return undefined;
  const metadata = kind === 'nifti' ? undefined : snakeKeys(field(item, `${kind}_metadata`));
  return { kind, url, title, clientMetadata, ...(metadata ? { metadata } : {}) } as SpecEntry;
}

/** Frames from an SDK list (`images`, `dicom_files`) or the upload file's objectUrl_N keys. */
function readFrames(item: Json, listName: string, metadataName: string): Frame<never>[] | undefined {
  const list = field(item, listName);
  if (Array.isArray(list)) {
    const frames = list.map((frame) => (isObject(frame) ? readFrame(frame, metadataName) : undefined));
    return frames.every((frame) => frame !== undefined) ? (frames as Frame<never>[]) : undefined;
  }
  const numbered = Object.entries(item)
    .map(([key, value]) => [OBJECT_URL_KEY.exec(key)?.[1], value] as const)
    .filter((pair): pair is [string, unknown] => pair[0] !== undefined)
    .sort((a, b) => Number(a[0]) - Number(b[0]));
  if (numbered.length === 0 || numbered.some(([, url]) => typeof url !== 'string')) return undefined;
  return numbered.map(([n, url]) => {
    const metadata = snakeKeys(item[`${snakeToCamel(metadataName)}_${n}`]);
    return { url, ...(metadata ? { metadata } : {}) } as Frame<never>;
  });
}

function readFrame(frame: Json, metadataName: string): Frame<never> | undefined {
  if (typeof frame.url !== 'string') return undefined;
  const metadata = snakeKeys(field(frame, metadataName));
  const title = typeof frame.title === 'string' ? frame.title : undefined;
  return { url: frame.url, ...(title !== undefined ? { title } : {}), ...(metadata ? { metadata } : {}) } as Frame<never>;
}

/** Metadata objects with snake_case keys (`tags` and everything inside it stays as written). */
function snakeKeys(value: unknown): never | undefined {
  if (!isObject(value)) return undefined;
  return Object.fromEntries(Object.entries(value).map(([key, inner]) => [camelToSnake(key), inner])) as never;
}

/** Client metadata as an object; the StorageItem form (JSON text) is accepted too. */
export function readClientMetadata(value: unknown): ClientMetadata {
  if (typeof value === 'string') {
    try {
      return readClientMetadata(JSON.parse(value));
    } catch {
      return {};
    }
  }
  return isObject(value) ? value : {};
}

/** A field under its snake_case name or its camelCase alias. */
export function field(object: Json, snakeName: string): unknown {
  return Object.hasOwn(object, snakeName) ? object[snakeName] : object[snakeToCamel(snakeName)];
}

export function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
