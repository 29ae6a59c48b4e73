import type { FileRecord } from '../../storage/types';

/** The API shape of a file: the record without the owner (implied by the caller). */
export function toFileBody(f: FileRecord) {
  return {
    id: f.id,
    name: f.name,
    size: f.size,
    contentType: f.contentType,
    category: f.category,
    sha256: f.sha256,
    createdAt: f.createdAt,
  };
}
