import { Readable } from 'node:stream';
import { UsageError } from '../errors.js';
import { BufferSource } from './buffer.js';
import { FileSource, type FileSourceOptions } from './file.js';
import { HttpSource, type HttpSourceOptions } from './http.js';
import type { ByteSource } from './source.js';
import { StreamSource, type StreamSourceOptions } from './stream.js';

/** Anything a probe accepts: a path or URL, bytes, a Node stream, or a ready source. */
export type MediaInput = string | URL | Uint8Array | Readable | ByteSource;

export interface OpenOptions extends FileSourceOptions, HttpSourceOptions, StreamSourceOptions {
  /** Name used in results and messages for inputs that have none (Buffers, streams). */
  name?: string;
}

/** Opens a byte source for a URL with a scheme other than file/http(s). Registered per scheme. */
export type SchemeOpener = (url: string, options: OpenOptions) => ByteSource;

const schemeOpeners = new Map<string, SchemeOpener>([
  ['http', (url, options) => new HttpSource(url, options)],
  ['https', (url, options) => new HttpSource(url, options)],
]);

/** Adds support for another URL scheme (s3, gs, az, ...). */
export function registerScheme(scheme: string, opener: SchemeOpener): void {
  schemeOpeners.set(scheme.toLowerCase(), opener);
}

export function isByteSource(value: unknown): value is ByteSource {
  return typeof value === 'object' && value !== null && typeof (value as ByteSource).read === 'function'
    && typeof (value as ByteSource).size === 'function';
}

export function openSource(input: MediaInput, options: OpenOptions = {}): ByteSource {
  if (isByteSource(input)) return input;
  if (input instanceof Readable) return new StreamSource(input, options.name, options);
  if (input instanceof Uint8Array) return new BufferSource(input, options.name, options);
  const text = input instanceof URL ? input.href : input;
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(text)?.[1]?.toLowerCase();
  if (scheme === undefined) return new FileSource(text, options.name ?? text, options);
  if (scheme === 'file') return new FileSource(new URL(text).pathname, options.name ?? text, options);
  const opener = schemeOpeners.get(scheme);
  if (!opener) throw new UsageError(`no byte source for ${scheme}:// URLs (${text})`);
  return opener(text, options);
}
