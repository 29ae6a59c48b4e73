import type { FastifyInstance, FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import { createTokenVerifier, type Principal, type Scope, TokenError } from '../auth/tokens';
import { errors } from '../errors';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
}

export interface Auth {
  /** onRequest hook: requires a valid bearer token with `scope` (admin implies every scope). */
  require(scope: Scope): onRequestAsyncHookHandler;
  /**
   * The user whose files a request acts on: the caller, or `requested` (the `?user=` query) when the
   * caller has the admin scope.
   */
  targetUser(request: FastifyRequest, requested: string | undefined): string;
}

export function registerAuth(app: FastifyInstance, secret: string): Auth {
  const verify = createTokenVerifier(secret);
  app.decorateRequest('principal', null);

  return {
    require(scope) {
      return async (request) => {
        const header = request.headers.authorization;
        const m = header ? /^Bearer\s+(\S+)$/i.exec(header) : null;
        if (!m) throw errors.unauthorized('missing bearer token (Authorization: Bearer <token>)');
        let principal: Principal;
        try {
          principal = await verify(m[1]!);
        } catch (err) {
          if (err instanceof TokenError) throw errors.unauthorized(err.message);
          throw err;
        }
        if (!principal.scopes.has(scope) && !principal.scopes.has('admin')) {
          throw errors.forbidden(`token lacks the "${scope}" scope`);
        }
        request.principal = principal;
      };
    },
    targetUser(request, requested) {
      const principal = request.principal;
      if (!principal) throw errors.unauthorized('missing bearer token');
      if (requested === undefined || requested === principal.userId) return principal.userId;
      if (!principal.scopes.has('admin'))
        throw errors.forbidden('only the admin scope may act for another user');
      return requested;
    },
  };
}
