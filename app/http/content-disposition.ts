/**
 * `attachment; filename="<ascii fallback>"; filename*=UTF-8''<percent-encoded>` (RFC 6266, RFC 8187):
 * old clients read the ASCII fallback, everything else the exact UTF-8 name. Always `attachment`, so a
 * stored HTML or SVG file is downloaded, never rendered on the API's origin.
 */
export function contentDisposition(name: string): string {
  // Names are checked on upload, but a lone surrogate stored before that check would make
  // encodeURIComponent throw on every download: such a character becomes U+FFFD instead.
  const wellFormed = name.replace(/\p{Cs}/gu, '\uFFFD');
  const fallback = wellFormed.replace(/[^\x20-\x7e]|["\\%]/g, '_');
  const encoded = encodeURIComponent(wellFormed).replace(
    /['()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return `attachment; filename="${fallback}"; filename*=UTF-8''${encoded}`;
}
