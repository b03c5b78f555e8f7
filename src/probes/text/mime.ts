import mimeDb from 'mime-db';

type MimeEntry = (typeof mimeDb)[string];

/**
 * Application types that are text although mime-db gives them neither a charset nor a
 * +json/+xml suffix: scripts, subtitles, configuration and query languages, playlists, mailboxes.
 */
const TEXT_APPLICATION_TYPES = new Set([
  'application/json',
  'application/xml',
  'application/javascript',
  'application/ecmascript',
  'application/x-subrip',
  'application/x-sh',
  'application/x-csh',
  'application/toml',
  'application/sql',
  'application/x-sql',
  'application/x-tex',
  'application/x-latex',
  'application/x-perl',
  'application/x-httpd-php',
  'application/vnd.apple.mpegurl',
  'application/mbox',
]);
/** Top-level types that are never text, whatever their suffix (image/svg+xml is an image). */
const MEDIA_TOP_LEVELS = new Set(['image', 'audio', 'video', 'font', 'model']);

function isTextType(type: string, entry: MimeEntry | undefined = mimeDb[type]): boolean {
  const top = type.split('/')[0]!;
  if (MEDIA_TOP_LEVELS.has(top)) return false;
  return top === 'text' || /\+(json|xml)$/.test(type) || TEXT_APPLICATION_TYPES.has(type) || entry?.charset !== undefined;
}

interface ExtensionTypes {
  /** The type mime-db registers first for the extension. */
  preferred: string;
  /** The first text type registered for it, if any. */
  text?: string;
}

let index: Map<string, ExtensionTypes> | undefined;

/**
 * What mime-db registers for an extension. Where several types claim one extension, IANA
 * registrations come first, then Apache's, nginx's and the rest (the ranking detect.ts uses),
 * keeping the database's order within a rank.
 */
export function typesForExtension(extension: string): ExtensionTypes | undefined {
  index ??= buildIndex();
  return index.get(extension.toLowerCase());
}

function buildIndex(): Map<string, ExtensionTypes> {
  const built = new Map<string, ExtensionTypes>();
  const ranked = Object.entries(mimeDb).sort(([, a], [, b]) => sourceRank(a.source) - sourceRank(b.source));
  for (const [type, entry] of ranked) {
    const text = isTextType(type, entry);
    for (const extension of entry.extensions ?? []) {
      const known = built.get(extension);
      if (!known) built.set(extension, { preferred: type, text: text ? type : undefined });
      else if (text && !known.text) known.text = type;
    }
  }
  return built;
}

function sourceRank(source: MimeEntry['source']): number {
  return source === 'iana' ? 0 : source === 'apache' ? 1 : source === 'nginx' ? 2 : 3;
}

const HTML_START = /^<(?:!doctype\s+html|html|head|body|script|iframe|h1|div|font|table|a|style|title|b|br|p|!--)(?=[\s>])/i;
const XML_START = /^<(?:\?xml[\s?]|[A-Za-z_:][-\w.:]*[\s/>]|!doctype\s)/i;

/**
 * The type of text with no (or no text-typed) extension, from how it starts: HTML by the
 * WHATWG sniffing patterns, XML by its declaration or a leading element, JSON by an object or
 * array opening, else plain text.
 */
export function sniffTextType(text: string): string {
  const start = text.replace(/^[\s\ufeff]+/, '');
  if (looksLikeJson(start)) return 'application/json';
  if (HTML_START.test(start)) return 'text/html';
  if (XML_START.test(start)) return 'application/xml';
  return 'text/plain';
}

/** An object opening with a key or `}`, or an array opening with a JSON value or `]`. */
function looksLikeJson(start: string): boolean {
  if (start[0] === '{') return /^\{\s*["}]/.test(start);
  if (start[0] === '[') return /^\[\s*(?:[-\d"[{\]]|true\b|false\b|null\b)/.test(start);
  return false;
}
