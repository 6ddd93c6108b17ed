import { applyDecorators } from '@nestjs/common';
import { ApiBody, ApiOperation, ApiQuery, ApiResponse, ApiSecurity } from '@nestjs/swagger';
import { z } from 'zod';

/**
 * Decorators that put a route's own zod schemas into the OpenAPI document: the schema a handler
 * validates with (`parseOr400`) is the one the document shows, so the two cannot drift. They
 * expand to @nestjs/swagger's decorators, which `SwaggerModule.createDocument` reads from the
 * controllers (openapi-document.ts); a named schema becomes `#/components/schemas/<name>`.
 */

export type JsonSchema = Record<string, unknown>;

/**
 * JSON Schema of a zod schema, as OpenAPI 3.1 takes it. `io`: what a client sends (`input`,
 * before transforms and defaults) or what it receives (`output`).
 */
export function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as JsonSchema;
  return rest;
}

const components = new Map<string, { schema: z.ZodType; json: JsonSchema }>();

/** Registers a named schema once (the same name for another schema is a mistake) and answers its `$ref`. */
function component(name: string, schema: z.ZodType, io: 'input' | 'output'): { $ref: string } {
  const known = components.get(name);
  if (known && known.schema !== schema) throw new Error(`OpenAPI schema name ${name} is given to two different zod schemas`);
  if (!known) components.set(name, { schema, json: jsonSchema(schema, io) });
  return { $ref: `#/components/schemas/${name}` };
}

/** Every named schema the decorators registered: the document's `components.schemas`. */
export function componentSchemas(): Record<string, JsonSchema> {
  return Object.fromEntries([...components].map(([name, { json }]) => [name, json]));
}

/**
 * What the route does. `open`: no credentials needed, whatever is configured (health checks, the
 * login routes), where the document's default is an API token or a session.
 */
export function Operation(summary: string, options: { description?: string; open?: boolean } = {}): MethodDecorator {
  return ApiOperation({ summary, ...(options.description && { description: options.description }), ...(options.open && { security: [] }) });
}

/** The JSON body, as the handler validates it; `name` makes it a reusable component. */
export function ZodBody(schema: z.ZodType, name?: string): MethodDecorator {
  return ApiBody({ required: true, schema: (name ? component(name, schema, 'input') : jsonSchema(schema, 'input')) as object });
}

/** One query parameter for each field of the zod object the handler validates the query with. */
export function ZodQuery(schema: z.ZodObject): MethodDecorator {
  return applyDecorators(
    ...Object.entries(schema.shape).map(([name, field]) =>
      ApiQuery({
        name,
        required: !(field as z.ZodType).safeParse(undefined).success,
        schema: jsonSchema(field as z.ZodType, 'input') as object,
        ...((field as z.ZodType).description && { description: (field as z.ZodType).description }),
      }),
    ),
  );
}

/** A JSON answer, with its zod schema when it has one (`name` makes it a reusable component). */
export function ZodResponse(status: number, description: string, schema?: z.ZodType, name?: string): MethodDecorator {
  if (!schema) return ApiResponse({ status, description });
  return ApiResponse({ status, description, schema: (name ? component(name, schema, 'output') : jsonSchema(schema, 'output')) as object });
}

/** Answers described in words, by status: `{ 404: 'Unknown instance' }`. */
export function Responses(answers: Record<number, string>): MethodDecorator {
  return applyDecorators(...Object.entries(answers).map(([status, description]) => ApiResponse({ status: Number(status), description })));
}

/** Every bad request: 400 with each issue naming the field. */
export const INVALID = 'Invalid input: `{ error, issues: ["field: message"] }`, each issue naming the field';

/** An agent's route: the agent token, and the refusals every agent route shares. */
export function AgentRoute(): MethodDecorator {
  return applyDecorators(ApiSecurity('agentToken'), Responses(AGENT_REFUSALS));
}

export const AGENT_REFUSALS = {
  401: 'Agent tokens are configured and this request has none, or an unknown one',
  403: "Protected mode (no agent tokens, not from loopback), or a service outside the token's prefix",
};
