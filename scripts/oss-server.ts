// Runs the in-memory OSS stand-in from test/support on loopback: `npm run oss-server -- --help`.
import { startOssServer } from '../test/support/oss-server';
import { banner, parseRunnerArgs, RUNNER_USAGE } from '../test/support/oss-server/runner';

async function main(): Promise<void> {
  let config: ReturnType<typeof parseRunnerArgs>;
  try {
    config = parseRunnerArgs(process.argv.slice(2), process.env);
  } catch (e) {
    console.error(`${(e as Error).message}\n\n${RUNNER_USAGE}`);
    process.exit(2);
  }
  if (config.help) {
    console.log(RUNNER_USAGE);
    return;
  }
  const server = await startOssServer({
    ...config.options,
    onRequest: config.quiet
      ? undefined
      : (e) =>
          console.log(`${e.port} ${e.method} /${e.key} ${e.op} -> ${e.status}${e.code ? ` ${e.code}` : ''}`),
  });
  console.log(banner(server));

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: stopping`);
    await server.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
