// `hourglass logs <run>`: print a run's log, or follow it until the run ends.

import { defineCommand } from '../command.js';
import { connect } from '../options.js';
import { writeChunk } from '../output.js';
import { streamLogs } from './run.js';

export const logsCommand = defineCommand({
  usage: 'hourglass logs <run> [--follow]',
  summary: "Print a run's log (stdout and stderr of the process, as captured).",
  help: `  -f, --follow          Keep printing as the log grows, until the run ends

Exit codes: 0 once the whole log is printed, whatever the run's outcome (for that, use
'hourglass run <job> --follow' or 'hourglass runs get <run>'); 1 if the run is unknown or the
connection drops; 2 for bad usage.`,
  options: { follow: { type: 'boolean', short: 'f' } },
  args: ['<run>'],
  async run({ values, args: [runId = ''] }) {
    const client = connect(values);
    if (values.follow === true) await streamLogs(client.followLogs(runId));
    else await writeChunk(await client.getLogs(runId));
    return 0;
  },
});
