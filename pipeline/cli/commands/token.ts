import { mintToken, SCOPES, type Scope } from '../../../app/auth/tokens';
import { ConfigError, UsageError } from '../../errors';
import { ExitCode } from '../../exit-codes';
import type { Command } from '../command';

export const command: Command = {
  usage: 'ferry token --user U [--scopes read,write] [--ttl SECONDS]',
  help: `Mints a bearer token for the storage service's API, signed with AUTH_SECRET (the same secret the
service verifies with; take it from the host's shared/.env or your secret store). Prints the token only.

options:
      --user U        user id the token acts as (its subject)
      --scopes LIST   comma-separated, some of: ${SCOPES.join(', ')} (default: read)
      --ttl SECONDS   lifetime (default 3600)

example:
  AUTH_SECRET=... ferry token --user alice --scopes read,write --ttl 3600`,
  options: { user: { type: 'string' }, scopes: { type: 'string' }, ttl: { type: 'string' } },
  async run(ctx) {
    const secret = ctx.io.env.AUTH_SECRET;
    if (!secret) {
      throw new ConfigError('AUTH_SECRET is not set', {
        remedy: "export the storage service's AUTH_SECRET (it signs and verifies tokens)",
      });
    }
    const user = ctx.flags.user as string | undefined;
    if (!user) throw new UsageError('--user is required', { remedy: `usage: ${command.usage}` });
    const scopes = ((ctx.flags.scopes as string | undefined) ?? 'read')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    const ttl = Number((ctx.flags.ttl as string | undefined) ?? '3600');
    if (!Number.isInteger(ttl) || ttl <= 0)
      throw new UsageError('--ttl must be a positive whole number of seconds');
    let token: string;
    try {
      token = await mintToken({ secret, subject: user, scopes: scopes as Scope[], ttlSeconds: ttl });
    } catch (err) {
      throw new UsageError((err as Error).message, { remedy: `usage: ${command.usage}` });
    }
    const expiresAt = new Date(Date.now() + ttl * 1000).toISOString();
    if (ctx.out.json) ctx.out.result({ ok: true, token, user, scopes, expiresAt });
    else ctx.io.stdout.write(`${token}\n`);
    return ExitCode.Ok;
  },
};
