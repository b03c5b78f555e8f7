import { z } from 'zod';

/** Field schemas shared by several Encord objects. The limits are Encord's documented ones. */

/** "A URL may be up to 16 KB" (register-cloud-data page); counted in characters. */
export const MAX_URL_LENGTH = 16_384;
/** "Encord supports file names up to 300 characters in length" (data-management-curation page). */
export const MAX_TITLE_LENGTH = 300;

export const Url = z.string().min(1).max(MAX_URL_LENGTH);

export const Title = z.string().max(MAX_TITLE_LENGTH);

/** RFC 6838 type/subtype without parameters. */
export const MIME_TYPE_PATTERN = /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$/;
export const MimeType = z.string().regex(MIME_TYPE_PATTERN).describe('MIME type, type/subtype');

export const FileSize = z.int().positive().describe('Exact byte length of the file');
export const Pixels = z.int().positive().describe('Pixels');
export const Seconds = z.number().nonnegative().describe('Seconds (float)');

/** The SDK types client metadata as `Dict`: a JSON object, never an array or a scalar. */
export const ClientMetadata = z
  .record(z.string(), z.unknown())
  .describe('Custom metadata: a JSON object (may be nested)');

/**
 * pydantic's UUID: 8-4-4-4-12 hex digits, any version. A pattern rather than `format: uuid`, so
 * JSON Schema validators enforce it without a format plugin.
 */
export const Uuid = z.string().regex(/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/);
