// destinations sink [--port 3000] [--host 127.0.0.1]
import { startSink } from '../sink.js';
import { parseCommandArgs } from './usage.js';

const USAGE = 'destinations sink [--port 3000] [--host 127.0.0.1]';

export async function run(args: string[]): Promise<number> {
  const { values } = parseCommandArgs(args, { port: { type: 'string' }, host: { type: 'string' } }, USAGE);
  const sink = await startSink({ port: Number(values.port ?? 3000), host: values.host });
  console.log(`sink listening on http://${values.host ?? '127.0.0.1'}:${sink.port}; every request is printed here`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await sink.close();
  return 0;
}
