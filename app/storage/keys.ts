import { randomBytes } from 'node:crypto';
import { CATEGORIES, type Category } from './category';

/**
 * File ids and object keys.
 *
 * An id is a category letter followed by a lowercase ULID (Crockford base32: 48-bit millisecond
 * time, 80 random bits). The category and the upload month are therefore recoverable from the id
 * alone, so an id maps to its object key without a database or a listing, and ids sort by time
 * (newest first = descending order of the ULID part).
 *
 * Ids and user ids are checked against strict patterns before any key is built: neither can hold
 * `/`, `.` or anything else that could leave `files/{userId}/`.
 */

export const USER_ID_PATTERN = '^[A-Za-z0-9_-]{1,64}$';
export const FILE_ID_PATTERN = '^[ivadro][0-7][0-9a-hjkmnp-tv-z]{25}$';
const USER_ID_RE = new RegExp(USER_ID_PATTERN);
const FILE_ID_RE = new RegExp(FILE_ID_PATTERN);

const CODES: Record<Category, string> = {
  images: 'i',
  videos: 'v',
  audio: 'a',
  documents: 'd',
  archives: 'r',
  other: 'o',
};
const CATEGORY_BY_CODE = new Map(CATEGORIES.map((c) => [CODES[c], c]));
const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';

export const FILES_PREFIX = 'files/';

export function isUserId(value: string): boolean {
  return USER_ID_RE.test(value);
}

export function isFileId(value: string): boolean {
  return FILE_ID_RE.test(value);
}

export function newFileId(category: Category, now: number = Date.now()): string {
  let time = '';
  let t = now;
  for (let i = 0; i < 10; i++) {
    time = ALPHABET[t % 32] + time;
    t = Math.floor(t / 32);
  }
  const bytes = randomBytes(10);
  let rand = '';
  // 80 bits → 16 five-bit groups.
  let acc = 0;
  let bits = 0;
  for (const b of bytes) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      rand += ALPHABET[(acc >> bits) & 31];
    }
    acc &= (1 << bits) - 1;
  }
  return CODES[category] + time + rand;
}

export interface ParsedId {
  category: Category;
  createdAt: Date;
}

export function parseFileId(id: string): ParsedId | null {
  if (!FILE_ID_RE.test(id)) return null;
  const category = CATEGORY_BY_CODE.get(id[0]!);
  if (!category) return null;
  let ms = 0;
  for (let i = 1; i <= 10; i++) ms = ms * 32 + ALPHABET.indexOf(id[i]!);
  return { category, createdAt: new Date(ms) };
}

/** Sort key for newest-first ordering: the ULID part, ignoring the category letter. */
export function idOrder(id: string): string {
  return id.slice(1);
}

export function userPrefix(userId: string): string {
  if (!USER_ID_RE.test(userId)) throw new Error(`invalid user id ${JSON.stringify(userId)}`);
  return `${FILES_PREFIX}${userId}/`;
}

/** `files/{userId}/{category}/{yyyy}/{mm}/{fileId}`. Throws on ids that fail validation. */
export function objectKey(userId: string, id: string): string {
  const parsed = parseFileId(id);
  if (!parsed) throw new Error(`invalid file id ${JSON.stringify(id)}`);
  const yyyy = String(parsed.createdAt.getUTCFullYear()).padStart(4, '0');
  const mm = String(parsed.createdAt.getUTCMonth() + 1).padStart(2, '0');
  return `${userPrefix(userId)}${parsed.category}/${yyyy}/${mm}/${id}`;
}

export interface ParsedKey {
  userId: string;
  id: string;
  category: Category;
}

/** Inverse of objectKey; null for anything that objectKey could not have produced. */
export function parseObjectKey(key: string): ParsedKey | null {
  const parts = key.split('/');
  if (parts.length !== 6 || `${parts[0]}/` !== FILES_PREFIX) return null;
  const [, userId, , , , id] = parts as [string, string, string, string, string, string];
  if (!USER_ID_RE.test(userId) || !parseFileId(id)) return null;
  if (objectKey(userId, id) !== key) return null;
  return { userId, id, category: parseFileId(id)!.category };
}
