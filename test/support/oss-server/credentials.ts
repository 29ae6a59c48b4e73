import { errors } from './errors';
import type { Credentials } from './types';

/**
 * The keys the server accepts. Rotation keeps a memory of retired STS tokens so a client still
 * holding one gets SecurityTokenExpired (what OSS says once an STS token lapses) rather than a
 * generic refusal: code that refreshes STS credentials can then be tested on the real signal.
 */
export class CredentialStore {
  private readonly active = new Map<string, Credentials>();
  private readonly retiredTokens = new Set<string>();
  private primaryId: string;

  constructor(initial: Credentials) {
    this.active.set(initial.accessKeyId, { ...initial });
    this.primaryId = initial.accessKeyId;
  }

  /** The credentials clientOptions() hands out: the most recently set ones. */
  get primary(): Credentials {
    const p = this.active.get(this.primaryId);
    if (!p) throw new Error('OSS test server has no active credentials; call setCredentials()');
    return p;
  }

  /** Replaces every accepted key with `creds`; tokens of the replaced keys become expired. */
  set(creds: Credentials | Credentials[]): void {
    const list = Array.isArray(creds) ? creds : [creds];
    if (list.length === 0) throw new Error('setCredentials needs at least one credential');
    const keep = new Set(list.map((c) => c.stsToken).filter(Boolean));
    for (const old of this.active.values()) {
      if (old.stsToken && !keep.has(old.stsToken)) this.retiredTokens.add(old.stsToken);
    }
    this.active.clear();
    for (const c of list) this.active.set(c.accessKeyId, { ...c });
    this.primaryId = list[list.length - 1]!.accessKeyId;
  }

  /** Accepts `creds` as well as the current ones (an overlap window during rotation). */
  add(creds: Credentials): void {
    this.active.set(creds.accessKeyId, { ...creds });
    this.primaryId = creds.accessKeyId;
  }

  /** Stops accepting a key; its token, if any, is then reported as expired. */
  revoke(accessKeyId: string): void {
    const c = this.active.get(accessKeyId);
    if (!c) return;
    if (c.stsToken) this.retiredTokens.add(c.stsToken);
    this.active.delete(accessKeyId);
    if (this.primaryId === accessKeyId) {
      const next = [...this.active.keys()].pop();
      if (next) this.primaryId = next;
    }
  }

  /**
   * Finds the secret for a request's key id after checking its security token, or throws the
   * 403 OSS would send. The signature itself is checked by the caller.
   */
  resolve(accessKeyId: string, token: string | undefined, now: Date): Credentials {
    const cred = this.active.get(accessKeyId);
    if (!cred) {
      if (token && this.retiredTokens.has(token)) throw errors.securityTokenExpired();
      throw errors.invalidAccessKeyId(accessKeyId);
    }
    if (cred.stsToken) {
      if (!token) throw errors.invalidAccessKeyId(accessKeyId);
      if (token !== cred.stsToken) {
        if (this.retiredTokens.has(token)) throw errors.securityTokenExpired();
        throw errors.invalidAccessKeyId(accessKeyId, 'The security token you provided is invalid.');
      }
      if (cred.expiration && now.getTime() > cred.expiration.getTime()) throw errors.securityTokenExpired();
    } else if (token) {
      // A long-term key has no token; OSS refuses one sent anyway rather than ignoring it.
      throw errors.invalidAccessKeyId(accessKeyId, 'The security token you provided is invalid.');
    }
    return cred;
  }
}
