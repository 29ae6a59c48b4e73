import { errors } from '../../errors';

// C0/C1 controls, and bidi overrides that can disguise an extension (e.g. "gpj.exe" shown reversed).
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point.
const FORBIDDEN = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;
// A UTF-16 surrogate not part of a pair (busboy yields one from `filename*=utf-16le''%00%D8…`): such a
// name cannot be encoded as UTF-8, so every later Content-Disposition or OSS metadata header would throw.
const LONE_SURROGATE = /\p{Cs}/u;

/** Refuses names that could not be stored or served safely; returns the name unchanged otherwise. */
export function checkFileName(name: string | undefined): string {
  const bad = (why: string) => errors.badRequest('invalid_name', `invalid file name: ${why}`);
  if (name === undefined || name.trim() === '') throw bad('the file part needs a filename');
  if (LONE_SURROGATE.test(name))
    throw bad('not well-formed Unicode (a lone UTF-16 surrogate); send the name as UTF-8');
  if (Buffer.byteLength(name, 'utf8') > 255) throw bad('longer than 255 bytes');
  if (FORBIDDEN.test(name)) throw bad('control characters are not allowed');
  if (name.includes('/') || name.includes('\\')) throw bad('slashes are not allowed');
  if (name === '.' || name === '..') throw bad('"." and ".." are not file names');
  if (name.includes('\uFFFD')) throw bad('not valid UTF-8');
  return name;
}
