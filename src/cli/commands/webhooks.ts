// `hourglass webhooks …`: the tenant's webhooks, told about run outcomes, and their deliveries. The signing
// secret is printed by `create` only: the server never shows it again.

import type { CreatedWebhook, Webhook, WebhookEvent } from '../../sdk/index.js';
import { parseInteger, UsageError } from '../args.js';
import { defineCommand, type Group } from '../command.js';
import { connect } from '../options.js';
import { formatFields, formatTable, formatTime, orDash, printJson, printOut, printPage } from '../output.js';

function formatWebhook(webhook: Webhook | CreatedWebhook): string {
  const fields: [string, string][] = [
    ['ID', webhook.id],
    ['URL', webhook.url],
    ['Events', webhook.events.join(', ')],
    ['Job', webhook.jobId ?? 'every job'],
    ['Created', formatTime(webhook.createdAt)],
    [
      'Disabled',
      webhook.disabled ? `${formatTime(webhook.disabledAt)}: ${webhook.disabledReason ?? ''}` : 'no',
    ],
  ];
  if ('secret' in webhook) fields.push(['Secret', `${webhook.secret}  (shown only now: keep it)`]);
  return formatFields(fields);
}

const create = defineCommand({
  usage: 'hourglass webhooks create <url> --events E[,E…] [--job J] [--json]',
  summary: 'Create a webhook told about run outcomes; prints its signing secret, shown only this once.',
  help: `  <url>                 Where to POST: an https:// (or http://) URL of a public host
  --events E,…          Outcomes: succeeded, failed, timed_out, oom_killed, lost, cancelled, skipped
  --job J               Only this job's runs (its id or name)
  --json                Print the webhook with its secret as JSON`,
  options: { events: { type: 'string' }, job: { type: 'string' }, json: { type: 'boolean' } },
  args: ['<url>'],
  async run({ values, args: [url = ''] }) {
    if (values.events === undefined) throw new UsageError('missing --events E[,E…]');
    const events = values.events.split(',').map((e) => e.trim()) as WebhookEvent[];
    const created = await connect(values).createWebhook({
      url,
      events,
      ...(values.job === undefined ? {} : { jobId: values.job }),
    });
    if (values.json === true) printJson(created);
    else printOut(formatWebhook(created));
    return 0;
  },
});

const list = defineCommand({
  usage: 'hourglass webhooks list [--limit N] [--cursor C] [--json]',
  summary: 'List your webhooks.',
  help: `  --limit N             Webhooks per page
  --cursor C            Where the previous page ended (printed after it)
  --json                Print {items, nextCursor}`,
  options: { limit: { type: 'string' }, cursor: { type: 'string' }, json: { type: 'boolean' } },
  async run({ values }) {
    const limit = parseInteger(values.limit, '--limit', 1);
    const page = await connect(values).listWebhooks({ limit, cursor: values.cursor });
    await printPage(page, {
      json: values.json === true,
      command: 'webhooks list',
      flags: [['--limit', values.limit]],
      table: (hooks) =>
        formatTable(
          ['ID', 'URL', 'EVENTS', 'JOB', 'DISABLED'],
          hooks.map((h) => [h.id, h.url, h.events.join(','), orDash(h.jobId), h.disabled ? 'yes' : 'no']),
        ),
    });
    return 0;
  },
});

const get = defineCommand({
  usage: 'hourglass webhooks get <id> [--json]',
  summary: 'Show a webhook (never its secret).',
  help: '  --json                Print the webhook as JSON',
  options: { json: { type: 'boolean' } },
  args: ['<id>'],
  async run({ values, args: [id = ''] }) {
    const webhook = await connect(values).getWebhook(id);
    if (values.json === true) printJson(webhook);
    else printOut(formatWebhook(webhook));
    return 0;
  },
});

const remove = defineCommand({
  usage: 'hourglass webhooks delete <id>',
  summary: 'Delete a webhook and its deliveries; nothing more is sent to it.',
  help: '<id> as printed by create or list.',
  options: {},
  args: ['<id>'],
  async run({ values, args: [id = ''] }) {
    await connect(values).deleteWebhook(id);
    printOut(`deleted webhook ${id}`);
    return 0;
  },
});

const deliveries = defineCommand({
  usage: 'hourglass webhooks deliveries <id> [--limit N] [--cursor C] [--json]',
  summary: "A webhook's deliveries, newest first: status, attempts, last answer.",
  help: `  --limit N             Deliveries per page
  --cursor C            Where the previous page ended (printed after it)
  --json                Print {items, nextCursor}`,
  options: { limit: { type: 'string' }, cursor: { type: 'string' }, json: { type: 'boolean' } },
  args: ['<id>'],
  async run({ values, args: [id = ''] }) {
    const limit = parseInteger(values.limit, '--limit', 1);
    const page = await connect(values).listWebhookDeliveries(id, { limit, cursor: values.cursor });
    await printPage(page, {
      json: values.json === true,
      command: `webhooks deliveries ${id}`,
      flags: [['--limit', values.limit]],
      table: (items) =>
        formatTable(
          ['ID', 'RUN', 'EVENT', 'STATUS', 'ATTEMPTS', 'LAST', 'NEXT'],
          items.map((d) => [
            d.id,
            d.runId,
            d.event,
            d.status,
            String(d.attempts),
            d.lastError ?? orDash(d.lastStatusCode),
            formatTime(d.nextAttemptAt),
          ]),
        ),
    });
    return 0;
  },
});

export const webhooksGroup: Group = {
  name: 'webhooks',
  summary: 'Webhooks: your endpoints told about run outcomes, signed (Standard Webhooks).',
  commands: { create, list, get, delete: remove, deliveries },
};
