import { statSync } from 'node:fs';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { UsageError } from '../errors.js';

/**
 * Where object URLs and local files meet. `--base-url s3://bucket/prefix/` names the URL prefix
 * local paths are uploaded under; `--base-url s3://bucket/prefix/=./local/dir/` also names the
 * local folder that holds the same objects (so a spec's URLs can be read back from disk).
 */
export interface BaseUrl {
  /** URL prefix, always ending in '/'. */
  url: string;
  /** Local folder the prefix maps to; when absent, each input's own root (see spec command). */
  dir?: string;
}

/**
 * Parses `URL` or `URL=DIR`. Object keys may hold '=' (`date=2024-01-01/`), so the split is at
 * the last '=' whose right side is an existing folder; a right side that looks like a path but
 * is missing is an error rather than part of the URL.
 */
export function parseBaseUrl(text: string): BaseUrl {
  for (let at = text.lastIndexOf('='); at > 0; at = text.lastIndexOf('=', at - 1)) {
    const dir = text.slice(at + 1);
    if (dir && isDirectory(dir)) return { url: withSlash(text.slice(0, at)), dir };
    if (/^(\.{1,2}[\\/]|\/|~)/.test(dir) || dir === '.' || dir === '..') {
      throw new UsageError(`--base-url ${text}: folder ${dir} not found`);
    }
  }
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) throw new UsageError(`--base-url ${text}: expected a URL such as s3://bucket/prefix/`);
  return { url: withSlash(text) };
}

function withSlash(url: string): string {
  return url.endsWith('/') ? url : `${url}/`;
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** Schemes whose URLs are percent-encoded; s3:// and gs:// URIs carry the object key as is. */
const ENCODED_SCHEMES = /^(https?|file):/i;

/** The object URL of a local file under `root`, or undefined when the file is outside it. */
export function urlForPath(base: BaseUrl, root: string, path: string): string | undefined {
  const rel = relative(resolve(root), resolve(path));
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) return undefined;
  const segments = rel.split(sep);
  const key = ENCODED_SCHEMES.test(base.url) ? segments.map(encodeURIComponent).join('/') : segments.join('/');
  return base.url + key;
}

/** The local file an object URL maps to under one of the mappings with a folder, if any. */
export function pathForUrl(bases: readonly BaseUrl[], url: string): string | undefined {
  for (const base of bases) {
    if (base.dir === undefined || !url.startsWith(base.url)) continue;
    const encoded = ENCODED_SCHEMES.test(base.url);
    // Only http(s) URLs have a query and percent-escapes; an s3:// key may hold '?' or '%' itself.
    const key = encoded ? (url.slice(base.url.length).split(/[?#]/)[0] ?? '') : url.slice(base.url.length);
    const segments = key.split('/').map((segment) => (encoded ? safeDecode(segment) : segment));
    if (segments.some((segment) => segment === '..')) continue;
    return join(base.dir, ...segments);
  }
  return undefined;
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
