/**
 * Prints a bearer token for the storage service.
 *
 *   npx tsx scripts/mint-token.ts --user alice --scopes read,write --ttl 3600
 *
 * The secret is read from AUTH_SECRET, as the service does (outside production, the same
 * built-in development secret when it is unset).
 */
import { parseArgs } from 'node:util';
import { isScope, mintToken, type Scope } from '../app/auth/tokens';
import { ConfigError, resolveAuthSecret } from '../app/config';

const usage = 'usage: mint-token --user <id> [--scopes read,write,admin] [--ttl seconds]';

try {
  const { values } = parseArgs({
    options: {
      user: { type: 'string' },
      scopes: { type: 'string', default: 'read,write' },
      ttl: { type: 'string', default: '3600' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(`${usage}\n`);
    process.exit(0);
  }
  if (!values.user) throw new Error(`--user is required\n${usage}`);
  const scopes = values.scopes.split(',').map((s) => s.trim());
  const bad = scopes.filter((s) => !isScope(s));
  if (bad.length > 0) throw new Error(`unknown scope(s) ${bad.join(', ')}: use read, write, admin`);
  const { secret, isDevSecret } = resolveAuthSecret(process.env);
  if (isDevSecret)
    process.stderr.write('warning: AUTH_SECRET is not set; minting with the development secret\n');
  const token = await mintToken({
    secret,
    subject: values.user,
    scopes: scopes as Scope[],
    ttlSeconds: Number(values.ttl),
  });
  process.stdout.write(`${token}\n`);
} catch (err) {
  const message = err instanceof ConfigError ? err.problems.join('\n') : (err as Error).message;
  process.stderr.write(`mint-token: ${message}\n`);
  process.exit(1);
}
