import type { MetadataKind } from '../schema/canonical.js';
import { isPlainObject } from '../schema/dto.js';
import type { DicomJsonElement } from '../schema/metadata.js';
import { DICOM_METADATA_KEY, IMAGE_METADATA_KEY, OBJECT_URL_KEY } from '../schema/upload-file.js';
import { joinPointer } from './pointer.js';
import { RawField, rawField, rawList } from './fields.js';
import { checkMetadata, rawMimeType } from './metadata.js';
import { checkSeriesFiles, type DicomSeriesFile } from './series.js';
import type { FindingSink } from './sink.js';

/**
 * Rules on upload documents beyond their schema: duplicate URLs, Encord's per-file limits,
 * empty groups, frame numbering, the upsert flag, per-item metadata rules and the DICOM series
 * checks. The JSON upload file and the SDK's DataUploadItems share these walkers: single items
 * differ only in key spelling (`objectUrl` / `object_url`, found under either), groups in how
 * they list frames (`objectUrl_N` keys / `images` and `dicom_files` arrays).
 */

/** Per JSON file (Encord's register-cloud-data page). */
export const MAX_ITEMS_PER_FILE = 500_000;
export const MAX_URLS_PER_FILE = 1_000_000;

export type UploadForm = 'upload-file' | 'data-items';
export type SingleItemKind = Exclude<MetadataKind, 'dicom'> | 'nifti';

/** Single-item lists in both forms, with the kind of metadata their items carry. */
export const SINGLE_ITEM_LISTS: readonly [string, SingleItemKind][] = [
  ['videos', 'video'],
  ['images', 'image'],
  ['audio', 'audio'],
  ['text', 'text'],
  ['pdf', 'pdf'],
  ['nifti', 'nifti'],
];

/** State shared by every item of one document. */
export class UploadWalk {
  private readonly firstSeen = new Map<string, RawField>();
  urlCount = 0;

  constructor(
    readonly form: UploadForm,
    readonly sink: FindingSink,
    /** With skip_duplicate_urls Encord skips a repeated URL instead of creating a second item. */
    private readonly skipDuplicateUrls = false,
  ) {}

  addUrl(url: RawField | undefined): void {
    if (!url || typeof url.value !== 'string') return;
    this.urlCount += 1;
    if (this.form === 'upload-file' && url.value.length > 0 && !/^[A-Za-z][A-Za-z0-9+.-]*:/.test(url.value)) {
      this.sink.warning(url.pointer, 'url_not_absolute', 'the JSON upload file needs full URLs (https://, s3://, gs://, ...)');
    }
    const first = this.firstSeen.get(url.value);
    if (first === undefined) {
      this.firstSeen.set(url.value, url);
    } else if (this.skipDuplicateUrls) {
      this.sink.warning(url.pointer, 'duplicate_url', `same URL as ${first.pointer}; Encord will skip it (skip_duplicate_urls)`);
    } else {
      this.sink.error(
        url.pointer,
        'duplicate_url',
        `same URL as ${first.pointer}; Encord would create a second item (set skip_duplicate_urls to skip it)`,
      );
    }
  }
}

export function checkSingleItem(kind: SingleItemKind, item: unknown, pointer: string, walk: UploadWalk): void {
  walk.addUrl(rawField(item, 'object_url', pointer));
  if (kind === 'nifti') return;
  const metadata = rawField(item, `${kind}_metadata`, pointer);
  if (metadata && metadata.value !== null) checkMetadata(kind, metadata.value, metadata.pointer, walk.sink);
}

interface Frame {
  url: RawField | undefined;
  metadata: RawField | undefined;
}

/** Frames of an upload-file group: `objectUrl_N` keys, metadata of frame N under `<prefix>_N`. */
function numberedFrames(group: Record<string, unknown>, pointer: string, metadataKey: RegExp, walk: UploadWalk): Frame[] {
  const frames = new Map<number, Frame>();
  const metadataByIndex = new Map<number, RawField>();
  for (const [key, value] of Object.entries(group)) {
    const url = OBJECT_URL_KEY.exec(key);
    const metadata = metadataKey.exec(key);
    if (url) frames.set(Number(url[1]), { url: new RawField(value, pointer, key), metadata: undefined });
    if (metadata) metadataByIndex.set(Number(metadata[1]), new RawField(value, pointer, key));
  }
  for (const [index, metadata] of metadataByIndex) {
    const frame = frames.get(index);
    if (frame) frame.metadata = metadata;
    else walk.sink.error(metadata.pointer, 'orphan_frame_metadata', `no objectUrl_${index} for this metadata`);
  }
  const indexes = [...frames.keys()].sort((a, b) => a - b);
  if (indexes.some((index, position) => index !== position)) {
    walk.sink.warning(pointer, 'frame_index_gap', `frames are numbered ${indexes.join(', ')}; number them 0..${indexes.length - 1}`);
  }
  return indexes.map((index) => frames.get(index) as Frame);
}

/** Frames of an SDK group: `images` or `dicom_files`, each with `url` and its metadata. */
function listedFrames(group: unknown, pointer: string, listName: string, metadataName: string): Frame[] {
  const list = rawList(group, listName, pointer);
  return list.items.map((frame, index) => {
    const at = joinPointer(list.pointer, index);
    return { url: rawField(frame, 'url', at), metadata: rawField(frame, metadataName, at) };
  });
}

function checkFrames(kind: 'image' | 'dicom', frames: Frame[], pointer: string, walk: UploadWalk): void {
  if (frames.length === 0) walk.sink.error(pointer, 'empty_group', `this ${kind === 'image' ? 'image group' : 'DICOM series'} has no files`);
  for (const frame of frames) {
    walk.addUrl(frame.url);
    if (frame.metadata && frame.metadata.value !== null) checkMetadata(kind, frame.metadata.value, frame.metadata.pointer, walk.sink);
  }
}

function checkGroupTitle(group: unknown, pointer: string, walk: UploadWalk): void {
  // The upload file's schema requires the title; the SDK only says "required if using cloud integration".
  if (walk.form !== 'data-items') return;
  const title = rawField(group, 'title', pointer);
  if (title?.value === undefined || title.value === null) {
    walk.sink.warning(title?.pointer ?? pointer, 'missing_title', 'a group or series needs a title when registered from cloud storage');
  }
}

export function checkImageGroup(group: unknown, pointer: string, walk: UploadWalk): void {
  if (!isPlainObject(group)) return;
  const frames =
    walk.form === 'upload-file'
      ? numberedFrames(group, pointer, IMAGE_METADATA_KEY, walk)
      : listedFrames(group, pointer, 'images', 'image_metadata');
  checkGroupTitle(group, pointer, walk);
  checkFrames('image', frames, pointer, walk);
  if (rawField(group, 'create_video', pointer)?.value !== true) return;
  for (const frame of frames) {
    if (frame.metadata && rawMimeType(frame.metadata.value) === 'image/tiff') {
      walk.sink.warning(frame.metadata.pointer, 'unsupported_by_encord', 'image sequences (createVideo) do not support TIFF');
    }
  }
}

export function checkDicomSeriesItem(series: unknown, pointer: string, walk: UploadWalk): void {
  if (!isPlainObject(series)) return;
  const frames =
    walk.form === 'upload-file'
      ? numberedFrames(series, pointer, DICOM_METADATA_KEY, walk)
      : listedFrames(series, pointer, 'dicom_files', 'dicom_metadata');
  checkGroupTitle(series, pointer, walk);
  checkFrames('dicom', frames, pointer, walk);
  const files = frames.flatMap(({ url, metadata }): DicomSeriesFile[] => {
    const tags = metadata && rawField(metadata.value, 'tags', '')?.value;
    if (!metadata || !isPlainObject(tags) || typeof url?.value !== 'string') return [];
    return [{ file: url.value, pointer: metadata.pointer, tags: tags as Record<string, DicomJsonElement | null> }];
  });
  for (const finding of checkSeriesFiles(files)) walk.sink.add(finding);
}

export function checkImageGroupFromItems(group: unknown, pointer: string, walk: UploadWalk): void {
  checkGroupTitle(group, pointer, walk);
  const items = rawField(group, 'image_items', pointer);
  if (Array.isArray(items?.value) && items.value.length === 0) walk.sink.error(pointer, 'empty_group', 'this image group has no images');
}

/** Checks a whole JSON upload file or DataUploadItems document. */
export function checkUploadDocument(form: UploadForm, document: unknown, sink: FindingSink): void {
  if (!isPlainObject(document)) return;
  const skip = rawField(document, 'skip_duplicate_urls', '');
  const upsert = rawField(document, 'upsert_metadata', '');
  if (upsert?.value === true && skip?.value !== true) {
    sink.warning(upsert.pointer, 'upsert_without_skip', 'upsert_metadata has no effect unless skip_duplicate_urls is true');
  }
  const walk = new UploadWalk(form, sink, skip?.value === true);
  let itemCount = 0;
  const eachItem = (listName: string, check: (item: unknown, pointer: string) => void): void => {
    const list = rawList(document, listName, '');
    itemCount += list.items.length;
    list.items.forEach((item, index) => check(item, joinPointer(list.pointer, index)));
  };
  for (const [listName, kind] of SINGLE_ITEM_LISTS) {
    eachItem(listName, (item, pointer) => checkSingleItem(kind, item, pointer, walk));
  }
  eachItem('image_groups', (group, pointer) => checkImageGroup(group, pointer, walk));
  eachItem('dicom_series', (series, pointer) => checkDicomSeriesItem(series, pointer, walk));
  if (form === 'data-items') eachItem('image_groups_from_items', (group, pointer) => checkImageGroupFromItems(group, pointer, walk));
  if (form !== 'upload-file') return;
  if (itemCount > MAX_ITEMS_PER_FILE) {
    sink.error('', 'too_many_items', `${itemCount} items; Encord takes at most ${MAX_ITEMS_PER_FILE} per JSON file`);
  }
  if (walk.urlCount > MAX_URLS_PER_FILE) {
    sink.error('', 'too_many_urls', `${walk.urlCount} URLs; Encord takes at most ${MAX_URLS_PER_FILE} per JSON file`);
  }
}
