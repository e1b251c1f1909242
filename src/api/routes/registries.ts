// Tenant routes for registry logins: put (create or replace), list (hosts and usernames, never passwords),
// delete. The password goes from the body to the service and is sealed there; no answer carries it.

import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { requireTenant } from '../../services/auth.js';
import type { ApiDeps } from '../app.js';
import { renderRegistryLogin } from '../render.js';
import { PutRegistryBody, RegistryHostParam, RegistryLogin } from '../schemas.js';

const tags = ['registries'];

export function registerRegistryRoutes(app: FastifyInstance, { registries }: ApiDeps): void {
  app.put(
    '/v1/registries/:host',
    {
      schema: {
        operationId: 'putRegistryLogin',
        summary: "Store the tenant's login for a registry host (replacing any); used to pull its images",
        tags,
        params: RegistryHostParam,
        body: PutRegistryBody,
        response: { 200: RegistryLogin, 201: RegistryLogin },
      },
    },
    async (request, reply) => {
      const tenantId = requireTenant(request.principal);
      const { host: rawHost } = request.params as { host: string };
      const body = request.body as PutRegistryBody;
      const { host, created } = await registries.putLogin(tenantId, rawHost, body);
      const login = (await registries.listLogins(tenantId)).find((l) => l.host === host);
      if (login === undefined) throw new Error(`the login for ${host} was stored but is not listed`);
      return reply.code(created ? 201 : 200).send(renderRegistryLogin(login));
    },
  );

  app.get(
    '/v1/registries',
    {
      schema: {
        operationId: 'listRegistryLogins',
        summary: "The tenant's registry logins: hosts and usernames, never passwords",
        tags,
        response: { 200: Type.Object({ items: Type.Array(RegistryLogin) }) },
      },
    },
    async (request) => {
      const tenantId = requireTenant(request.principal);
      return { items: (await registries.listLogins(tenantId)).map(renderRegistryLogin) };
    },
  );

  app.delete(
    '/v1/registries/:host',
    {
      schema: {
        operationId: 'deleteRegistryLogin',
        summary: "Remove the tenant's login for a registry host; its images are pulled anonymously after",
        tags,
        params: RegistryHostParam,
        response: { 204: {} },
      },
    },
    async (request, reply) => {
      const tenantId = requireTenant(request.principal);
      await registries.deleteLogin(tenantId, (request.params as { host: string }).host);
      return reply.code(204).send();
    },
  );
}
