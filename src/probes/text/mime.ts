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
