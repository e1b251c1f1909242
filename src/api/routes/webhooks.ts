// Tenant routes for webhooks: create (the one answer with the secret), list, get, delete, and a webhook's
// deliveries newest first. Another tenant's webhook ids are not found on every route.

import type { FastifyInstance } from 'fastify';
import { requireTenant } from '../../services/auth.js';
import type { ApiDeps } from '../app.js';
import { renderWebhook, renderWebhookDelivery } from '../render.js';
import {
  CreatedWebhook,
  CreateWebhookBody,
  IdParam,
  ListJobsQuery,
  Page,
  Webhook,
  WebhookDelivery,
  type ListJobsQuery as ListQueryT,
} from '../schemas.js';
import { tenantOf } from './jobs.js';

const tags = ['webhooks'];
const WebhookParam = IdParam('webhook', 'Webhook id');

export function registerWebhookRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const { webhooks } = deps;

  app.post(
    '/v1/webhooks',
    {
      schema: {
        operationId: 'createWebhook',
        summary: 'Create a webhook told about run outcomes; its signing secret is in this answer only',
        tags,
        body: CreateWebhookBody,
        response: { 201: CreatedWebhook },
      },
    },
    async (request, reply) => {
      const tenant = await tenantOf(request, deps);
      const webhook = await webhooks.createWebhook(tenant, request.body as CreateWebhookBody);
      return reply.code(201).send({ ...renderWebhook(webhook), secret: webhook.secret });
    },
  );

  app.get(
    '/v1/webhooks',
    {
      schema: {
        operationId: 'listWebhooks',
        summary: "The tenant's webhooks, in creation order",
        tags,
        querystring: ListJobsQuery,
        response: { 200: Page(Webhook) },
      },
    },
    async (request) => {
      const tenantId = requireTenant(request.principal);
      const query = request.query as ListQueryT;
      const page = await webhooks.listWebhooks(tenantId, query.limit ?? 50, query.cursor);
      return { items: page.items.map(renderWebhook), nextCursor: page.nextCursor };
    },
  );

  app.get(
    '/v1/webhooks/:webhook',
    {
      schema: {
        operationId: 'getWebhook',
        summary: 'A webhook (never its secret)',
        tags,
        params: WebhookParam,
        response: { 200: Webhook },
      },
    },
    async (request) => {
      const tenantId = requireTenant(request.principal);
      const { webhook } = request.params as { webhook: string };
      return renderWebhook(await webhooks.getWebhook(tenantId, webhook));
    },
  );

  app.delete(
    '/v1/webhooks/:webhook',
    {
      schema: {
        operationId: 'deleteWebhook',
        summary: 'Delete a webhook with its deliveries; nothing more is sent to it',
        tags,
        params: WebhookParam,
        response: { 204: {} },
      },
    },
    async (request, reply) => {
      const tenantId = requireTenant(request.principal);
      await webhooks.deleteWebhook(tenantId, (request.params as { webhook: string }).webhook);
      return reply.code(204).send();
    },
  );

  app.get(
    '/v1/webhooks/:webhook/deliveries',
    {
      schema: {
        operationId: 'listWebhookDeliveries',
        summary: "A webhook's deliveries, newest first",
        tags,
        params: WebhookParam,
        querystring: ListJobsQuery,
        response: { 200: Page(WebhookDelivery) },
      },
    },
    async (request) => {
      const tenantId = requireTenant(request.principal);
      const { webhook } = request.params as { webhook: string };
      const query = request.query as ListQueryT;
      const page = await webhooks.listDeliveries(tenantId, webhook, query.limit ?? 50, query.cursor);
      return { items: page.items.map(renderWebhookDelivery), nextCursor: page.nextCursor };
    },
  );
}
