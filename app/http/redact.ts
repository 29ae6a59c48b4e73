/**
 * Request URLs as they go into logs, with credentials taken out of the query string. Names are judged
 * after percent-decoding (`?%73ig=` is `sig` to the route, so it must be `sig` here too), and values are
 * judged on their own as well: a JWT or a long opaque string is a credential whatever it is called.
 */

// Parameter names that carry a credential, after decoding and lower-casing.
const SENSITIVE_NAME =
  /^(sig|signature|token|jwt|auth|key|code|password|passwd|secret|session|sessionid|credential|credentials)$|token|secret|passw|signature|credential|api[-_]?key|access[-_]?key|auth/;
// header.payload.signature, base64url: any JWT, ours or not.
const JWT = /^[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*$/;
// Long runs of base64/hex characters that are not one of our own ids.
const OPAQUE = /^[A-Za-z0-9+/_=-]{32,}$/;
const REDACTED = '[redacted]';
// Our own parameters whose values are never credentials (a long user id must stay readable).
const PLAIN = new Set(['user', 'cursor', 'category', 'limit', 'expires']);

function decode(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return text;
  }
}

export function isSensitiveParam(name: string, value: string): boolean {
  const n = decode(name).trim().toLowerCase();
  if (SENSITIVE_NAME.test(n)) return true;
  const v = decode(value);
  if (JWT.test(v) || /^bearer\s/i.test(v)) return true;
  return !PLAIN.has(n) && OPAQUE.test(v);
}

/** The URL with the value of every credential-like query parameter replaced by `[redacted]`. */
export function redactUrl(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return url;
  const query = url.slice(q + 1);
  const parts = query.split('&').map((pair) => {
    const eq = pair.indexOf('=');
    const name = eq < 0 ? pair : pair.slice(0, eq);
    const value = eq < 0 ? '' : pair.slice(eq + 1);
    if (eq < 0) return isSensitiveParam('', name) ? REDACTED : pair;
    return isSensitiveParam(name, value) ? `${name}=${REDACTED}` : pair;
  });
  return `${url.slice(0, q)}?${parts.join('&')}`;
}
