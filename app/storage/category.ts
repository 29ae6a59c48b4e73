import path from 'node:path';

export const CATEGORIES = ['images', 'videos', 'audio', 'documents', 'archives', 'other'] as const;
export type Category = (typeof CATEGORIES)[number];

const DOCUMENT_TYPES = new Set([
  'application/pdf',
  'application/msword',
  'application/rtf',
  'application/json',
  'application/xml',
  'application/epub+zip',
]);

const ARCHIVE_TYPES = new Set([
  'application/zip',
  'application/x-zip-compressed',
  'application/x-tar',
  'application/gzip',
  'application/x-gzip',
  'application/x-bzip2',
  'application/x-xz',
  'application/x-7z-compressed',
  'application/x-rar-compressed',
  'application/vnd.rar',
  'application/zstd',
]);

/** Extension → content type, used when the client sends none or a generic one. */
const EXTENSION_TYPES: Record<string, string> = {
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.png': 'image/png',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.svg': 'image/svg+xml',
  '.heic': 'image/heic',
  '.bmp': 'image/bmp',
  '.mp4': 'video/mp4',
  '.mov': 'video/quicktime',
  '.webm': 'video/webm',
  '.mkv': 'video/x-matroska',
  '.avi': 'video/x-msvideo',
  '.mp3': 'audio/mpeg',
  '.wav': 'audio/wav',
  '.ogg': 'audio/ogg',
  '.m4a': 'audio/mp4',
  '.flac': 'audio/flac',
  '.aac': 'audio/aac',
  '.pdf': 'application/pdf',
  '.doc': 'application/msword',
  '.docx': 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  '.xls': 'application/vnd.ms-excel',
  '.xlsx': 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  '.ppt': 'application/vnd.ms-powerpoint',
  '.pptx': 'application/vnd.openxmlformats-officedocument.presentationml.presentation',
  '.odt': 'application/vnd.oasis.opendocument.text',
  '.rtf': 'application/rtf',
  '.txt': 'text/plain',
  '.md': 'text/markdown',
  '.csv': 'text/csv',
  '.json': 'application/json',
  '.xml': 'application/xml',
  '.html': 'text/html',
  '.epub': 'application/epub+zip',
  '.zip': 'application/zip',
  '.tar': 'application/x-tar',
  '.gz': 'application/gzip',
  '.tgz': 'application/gzip',
  '.bz2': 'application/x-bzip2',
  '.xz': 'application/x-xz',
  '.7z': 'application/x-7z-compressed',
  '.rar': 'application/vnd.rar',
  '.zst': 'application/zstd',
};

const GENERIC_TYPES = new Set(['', 'application/octet-stream', 'binary/octet-stream', 'application/unknown']);
// type/subtype per RFC 6838 token rules; parameters are dropped before matching.
const MEDIA_TYPE = /^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$/;

export function categoryOf(contentType: string): Category {
  const [type = '', subtype = ''] = contentType.split('/');
  if (type === 'image') return 'images';
  if (type === 'video') return 'videos';
  if (type === 'audio') return 'audio';
  if (type === 'text' || DOCUMENT_TYPES.has(contentType)) return 'documents';
  if (
    subtype.startsWith('vnd.openxmlformats-officedocument.') ||
    subtype.startsWith('vnd.oasis.opendocument.')
  )
    return 'documents';
  if (subtype.startsWith('vnd.ms-')) return 'documents';
  if (ARCHIVE_TYPES.has(contentType)) return 'archives';
  return 'other';
}

/**
 * The content type to store: the client's declared type when it is specific and well-formed,
 * else one guessed from the extension, else application/octet-stream.
 */
export function resolveContentType(declared: string | undefined, filename: string): string {
  const base = (declared ?? '').split(';')[0]!.trim().toLowerCase();
  if (!GENERIC_TYPES.has(base) && MEDIA_TYPE.test(base)) return base;
  return EXTENSION_TYPES[path.extname(filename).toLowerCase()] ?? 'application/octet-stream';
}

// Types a browser renders as a document that can run script (HTML, SVG, XML with XSLT or XHTML):
// opened from a CDN or presigned URL, such a file would be a page on that domain.
const ACTIVE_TYPES = new Set([
  'text/html',
  'application/xhtml+xml',
  'image/svg+xml',
  'text/xml',
  'application/xml',
  'text/xsl',
  'application/xslt+xml',
  'application/rdf+xml',
  'application/mathml+xml',
  'application/x-shockwave-flash',
  'multipart/x-mixed-replace',
]);

/** Whether a stored file of this type must never be served inline (see ACTIVE_TYPES). */
export function isActiveContent(contentType: string): boolean {
  const base = contentType.split(';')[0]!.trim().toLowerCase();
  return ACTIVE_TYPES.has(base) || base.endsWith('+xml');
}
