import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { AuthCore } from '../../auth-core.js';
import { listAudit } from '../../audit/audit-log.js';
import { AuthError, ErrorCodes } from '../../errors.js';
import type { Authenticator } from '../authenticate.js';
import { NOT_DELIVERED } from '../deadlines.js';
import {
  AppTokenBody,
  AppTokenResponse,
  AuditQuery,
  AuditResponse,
  CustomerParams,
  Problem,
  RotateResponse,
} from '../schemas.js';

export interface AdminRoutesOptions {
  core: AuthCore;
  auth: Authenticator;
  /** AUTH_ADMIN_TOKEN; these routes are registered only when it is set. */
  adminToken: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const problems = {
  400: Problem,
  401: Problem,
  404: Problem,
  413: Problem,
  415: Problem,
  429: Problem,
  503: Problem,
};

function customerId(request: FastifyRequest<{ Params: CustomerParams }>): string {
  const id = request.params.id;
  if (!UUID.test(id)) throw new AuthError(ErrorCodes.invalidRequest, 'customer id must be a UUID');
  return id.toLowerCase();
}

/** Operator endpoints, behind the AUTH_ADMIN_TOKEN shared secret. */
export const adminRoutes: FastifyPluginAsync<AdminRoutesOptions> = async (
  app,
  { core, auth, adminToken },
) => {
  app.addHook('preHandler', async (request) => auth.admin(request, adminToken));

  app.post<{ Params: CustomerParams; Body: AppTokenBody }>(
    '/v1/customers/:id/app-tokens',
    {
      schema: {
        params: CustomerParams,
        body: AppTokenBody,
        response: { 201: AppTokenResponse, ...problems },
      },
    },
    async (request, reply) => {
      const id = customerId(request);
      const body = request.body ?? {};
      const created = await core.tokens.createAppToken(
        id,
        {
          scopes: body.scopes,
          subject: body.subject,
          name: body.name,
          ttlSeconds: body.ttl_seconds,
        },
        'admin',
      );
      if (reply.sent) {
        request.log.warn({ jti: created.id }, NOT_DELIVERED);
        return reply;
      }
      return reply.code(201).send({
        token: created.token,
        id: created.id,
        customer_id: created.customerId,
        expires_at: created.expiresAt.toISOString(),
        scopes: created.scopes,
        subject: created.subject,
        kid: created.kid,
        signing_key_created: created.signingKeyCreated,
      });
    },
  );

  app.post<{ Params: CustomerParams }>(
    '/v1/customers/:id/signing-keys/rotate',
    { schema: { params: CustomerParams, response: { 200: RotateResponse, ...problems } } },
    async (request) => {
      const rotated = await core.keys.rotate(customerId(request), 'admin');
      return { kid: rotated.kid, activates_at: rotated.activatesAt.toISOString() };
    },
  );

  app.get<{ Params: CustomerParams; Querystring: AuditQuery }>(
    '/v1/customers/:id/audit-events',
    {
      schema: {
        params: CustomerParams,
        querystring: AuditQuery,
        response: { 200: AuditResponse, ...problems },
      },
    },
    async (request) => {
      const events = await listAudit(core.sql, customerId(request), {
        ...(request.query.limit === undefined ? {} : { limit: Number(request.query.limit) }),
        ...(request.query.before === undefined ? {} : { before: request.query.before }),
      });
      return {
        events: events.map((e) => ({
          id: e.id,
          occurred_at: e.occurredAt,
          actor: e.actor,
          action: e.action,
          target: e.target,
          details: e.details,
        })),
      };
    },
  );
};
