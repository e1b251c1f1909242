// Admin routes: tenants and their API keys.

import type { FastifyInstance } from 'fastify';
import { requireAdmin } from '../../services/auth.js';
import type { ApiDeps } from '../app.js';
import { renderApiKey, renderTenant } from '../render.js';
import {
  ApiKeyInfo,
  CreatedKey,
  CreateKeyBody,
  CreateTenantBody,
  IdParam,
  ListKeysQuery,
  Tenant,
  UpdateTenantBody,
} from '../schemas.js';
import { Type } from '@sinclair/typebox';

const tags = ['admin'];

export function registerTenantRoutes(app: FastifyInstance, { tenants }: ApiDeps): void {
  app.post(
    '/v1/tenants',
    {
      schema: {
        operationId: 'createTenant',
        summary: 'Create a tenant',
        tags,
        body: CreateTenantBody,
        response: { 201: Tenant },
      },
    },
    async (request, reply) => {
      requireAdmin(request.principal);
      const body = request.body as CreateTenantBody;
      const tenant = await tenants.createTenant(body.name, body.limits);
      return reply.code(201).send(renderTenant(tenant));
    },
  );

  app.get(
    '/v1/tenants',
    {
      schema: {
        operationId: 'listTenants',
        summary: 'List tenants',
        tags,
        response: { 200: Type.Object({ items: Type.Array(Tenant) }) },
      },
    },
    async (request) => {
      requireAdmin(request.principal);
      return { items: (await tenants.listTenants()).map(renderTenant) };
    },
  );

  app.patch(
    '/v1/tenants/:tenantId',
    {
      schema: {
        operationId: 'updateTenant',
        summary: "Change a tenant's limits (admin only: a tenant cannot change its own plan)",
        tags,
        params: IdParam('tenantId', 'Tenant id'),
        body: UpdateTenantBody,
        response: { 200: Tenant },
      },
    },
    async (request) => {
      requireAdmin(request.principal);
      const { tenantId } = request.params as { tenantId: string };
      const tenant = await tenants.updateTenantLimits(tenantId, (request.body as UpdateTenantBody).limits);
      return renderTenant(tenant);
    },
  );

  app.post(
    '/v1/tenants/:tenantId/keys',
    {
      schema: {
        operationId: 'createKey',
        summary: 'Create an API key for a tenant (the secret is shown only in this response)',
        tags,
        params: IdParam('tenantId', 'Tenant id'),
        body: CreateKeyBody,
        response: { 201: CreatedKey },
      },
    },
    async (request, reply) => {
      requireAdmin(request.principal);
      const { tenantId } = request.params as { tenantId: string };
      const { key, secret } = await tenants.createTenantKey(
        tenantId,
        (request.body as CreateKeyBody).name ?? null,
      );
      return reply.code(201).send({
        id: key.id,
        key: secret,
        tenantId,
        scope: 'tenant',
        prefix: key.prefix,
        name: key.name,
        createdAt: new Date(key.createdAt).toISOString(),
      });
    },
  );

  app.get(
    '/v1/keys',
    {
      schema: {
        operationId: 'listKeys',
        summary:
          'List API keys, or one tenant’s: ids, names, scopes, when created and last used (no secrets)',
        tags,
        querystring: ListKeysQuery,
        response: { 200: Type.Object({ items: Type.Array(ApiKeyInfo) }) },
      },
    },
    async (request) => {
      requireAdmin(request.principal);
      const { tenantId } = request.query as ListKeysQuery;
      return { items: (await tenants.listKeys(tenantId ?? null)).map(renderApiKey) };
    },
  );

  app.delete(
    '/v1/keys/:keyId',
    {
      schema: {
        operationId: 'revokeKey',
        summary: 'Revoke an API key',
        tags,
        params: IdParam('keyId', 'API key id'),
        response: { 204: {} },
      },
    },
    async (request, reply) => {
      requireAdmin(request.principal);
      await tenants.revokeKey((request.params as { keyId: string }).keyId);
      return reply.code(204).send();
    },
  );
}
