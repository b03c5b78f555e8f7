import { stat } from 'node:fs/promises';
import { basename, dirname, relative, resolve, sep } from 'node:path';
import { expandInputs } from '../cli/inputs.js';
import type { SpecInput } from './build.js';
import { pathForUrl, urlForPath, type BaseUrl } from './locations.js';
import type { ManifestRow } from './manifest.js';

/** How image groups are formed: by the folder holding the images, or the manifest's group column. */
export type GroupBy = 'folder' | 'manifest';

export interface InputMapping {
  /** Object URL prefix for local files (and, with a folder, where object URLs are read from). */
  baseUrl?: BaseUrl;
  groupBy?: GroupBy;
}

const URL_PATTERN = /^[a-z][a-z0-9+.-]*:\/\//i;

/**
 * Spec inputs from command-line arguments: directories recurse, `-` reads a list from stdin,
 * URLs pass through. A local file's object URL is the base URL plus its path relative to its
 * root: the base URL's folder when given, else the directory argument it was found under (a
 * file argument's own folder; the working directory for stdin lists). Without a base URL the
 * path itself is written.
 */
export async function* inputsFromArguments(args: string[], mapping: InputMapping = {}): AsyncGenerator<SpecInput> {
  for (const arg of args) {
    const root = await rootOf(arg);
    for await (const path of expandInputs([arg])) {
      yield URL_PATTERN.test(path) ? fromUrl(path, mapping) : fromPath(path, mapping.baseUrl?.dir ?? root, mapping);
    }
  }
}

async function rootOf(arg: string): Promise<string> {
  if (arg === '-' || URL_PATTERN.test(arg)) return '.';
  const info = await stat(arg).catch(() => undefined);
  return info?.isDirectory() ? arg : dirname(arg);
}

function fromPath(path: string, root: string, mapping: InputMapping): SpecInput {
  const input: SpecInput = { file: path, source: path, url: path };
  if (mapping.baseUrl) {
    const url = urlForPath(mapping.baseUrl, root, path);
    if (url === undefined) return { ...input, invalid: `${path} is not under ${root}, so it has no URL under ${mapping.baseUrl.url}` };
    input.url = url;
  }
  if (mapping.groupBy === 'folder') input.group = folderName(root, path);
  return input;
}

function fromUrl(url: string, mapping: InputMapping): SpecInput {
  const input: SpecInput = { file: url, source: pathForUrl(mapping.baseUrl ? [mapping.baseUrl] : [], url) ?? url, url };
  if (mapping.groupBy === 'folder') input.group = urlFolder(url);
  return input;
}

/** The folder holding `path`, relative to the root (the root's own name for files directly in it). */
function folderName(root: string, path: string): string {
  const folder = relative(resolve(root), resolve(dirname(path)));
  return folder === '' ? basename(resolve(root)) : folder.split(sep).join('/');
}

/** The path of the folder holding an object, without scheme and host: `s3://b/x/y/1.png` -> `x/y`. */
function urlFolder(url: string): string {
  const path = url.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/]*/i, '').replace(/[?#].*$/, '');
  return path.slice(0, path.lastIndexOf('/')).replace(/^\/+/, '') || '/';
}

/**
 * Spec inputs from manifest rows: `url` is written in the spec; the bytes are read from `path`
 * when given, else from the local copy the base URL's folder maps the URL to, else the URL.
 */
export async function* inputsFromManifest(rows: AsyncIterable<ManifestRow>, manifest: string, mapping: InputMapping = {}): AsyncGenerator<SpecInput> {
  const bases = mapping.baseUrl ? [mapping.baseUrl] : [];
  for await (const row of rows) {
    const url = row.url ?? '';
    const file = row.path ?? (row.url || `${manifest} row ${row.row}`);
    const input: SpecInput = { file, source: row.path ?? pathForUrl(bases, url) ?? url, url };
    if (row.invalid !== undefined) input.invalid = `${manifest} row ${row.row}: ${row.invalid}`;
    if (row.title !== undefined) input.title = row.title;
    if (row.clientMetadata !== undefined) input.clientMetadata = row.clientMetadata;
    const group = mapping.groupBy === 'manifest' ? row.group : mapping.groupBy === 'folder' ? urlFolder(url) : undefined;
    if (group !== undefined) input.group = group;
    yield input;
  }
}
