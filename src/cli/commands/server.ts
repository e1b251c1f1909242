// `hourglass server [flags]`: start the server (API and/or worker roles). The server parses its own flags;
// it is imported through a variable so the CLI does not depend on it at compile time.

interface ServerModule {
  runServer(argv: string[]): Promise<void>;
}

export async function runServerCommand(argv: string[]): Promise<number> {
  const specifier = '../../server/main.js';
  const server = (await import(specifier)) as ServerModule;
  await server.runServer(argv);
  // runServer sets the exit code of a start that failed (2: bad configuration, 1: could not start).
  return Number(process.exitCode ?? 0);
}
