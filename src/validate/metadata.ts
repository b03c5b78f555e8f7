import type { MetadataKind } from '../schema/canonical.js';
import { MIME_TYPE_PATTERN } from '../schema/fields.js';
import { checkDicomTags } from './dicom-tags.js';
import { rawField } from './fields.js';
import { checkMimeType } from './media.js';
import type { FindingSink } from './sink.js';

/**
 * Rules on one CustomerProvided*Metadata object beyond its schema: a mime_type of the item's
 * modality that Encord can display, and DICOM tags in pydicom's form.
 */
export function checkMetadata(kind: MetadataKind, metadata: unknown, pointer: string, sink: FindingSink): void {
  if (kind === 'dicom') {
    const tags = rawField(metadata, 'tags', pointer);
    if (tags) checkDicomTags(tags.value, tags.pointer, sink);
    return;
  }
  if (kind === 'pdf') return;
  const mime = rawField(metadata, 'mime_type', pointer);
  if (mime && typeof mime.value === 'string' && MIME_TYPE_PATTERN.test(mime.value)) {
    checkMimeType(kind, mime.value, mime.pointer, sink);
  }
}

/** The lowercase mime_type of raw image metadata, when it has one. */
export function rawMimeType(metadata: unknown): string | undefined {
  const mime = rawField(metadata, 'mime_type', '');
  return typeof mime?.value === 'string' ? mime.value.toLowerCase() : undefined;
}
