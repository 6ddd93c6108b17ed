import { Body, Controller, Delete, Get, HttpCode, Param, Post, Put } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { webhookListSchema, webhookSchema, webhookTestOutcomeSchema } from '@vigil/protocol';
import { parseOr400 } from '../common/validation.js';
import { INVALID, Operation, Responses, ZodBody, ZodResponse } from '../openapi/zod-api.js';
import { WEBHOOKS_PATH, webhookInputSchema } from './webhook-schema.js';
import { WebhooksService, type TestOutcome, type WebhookView } from './webhooks.service.js';

const UNKNOWN = { 404: 'Unknown webhook' };

@ApiTags('Webhooks')
@Controller(WEBHOOKS_PATH)
export class WebhooksController {
  constructor(private readonly webhooks: WebhooksService) {}

  /** Every webhook with its delivery counts and last outcome. */
  @Get()
  @Operation('Every webhook with its delivery counts and last outcome')
  @ZodResponse(200, 'The webhooks', webhookListSchema, 'WebhookList')
  list(): { webhooks: WebhookView[] } {
    return { webhooks: this.webhooks.list() };
  }

  @Post()
  @Operation('Add a webhook (docs/webhooks.md)')
  @ZodBody(webhookInputSchema, 'WebhookInput')
  @ZodResponse(201, 'Created', webhookSchema, 'Webhook')
  @Responses({ 400: `${INVALID}; a target URL that is not allowed; or too many webhooks` })
  create(@Body() body: unknown): Promise<WebhookView> {
    return this.webhooks.create(parseOr400(webhookInputSchema, body, 'webhook'));
  }

  /** Replaces every setting: the body is the same as for a create. */
  @Put(':id')
  @Operation('Replace every setting of a webhook')
  @ZodBody(webhookInputSchema, 'WebhookInput')
  @ZodResponse(200, 'Updated', webhookSchema, 'Webhook')
  @Responses({ 400: INVALID, ...UNKNOWN })
  update(@Param('id') id: string, @Body() body: unknown): Promise<WebhookView> {
    return this.webhooks.update(id, parseOr400(webhookInputSchema, body, 'webhook'));
  }

  @Delete(':id')
  @HttpCode(204)
  @Operation('Remove a webhook')
  @Responses({ 204: 'Removed', ...UNKNOWN })
  remove(@Param('id') id: string): Promise<void> {
    return this.webhooks.remove(id);
  }

  /** Sends a test message now and answers how it went (200 even when the target refused it). */
  @Post(':id/test')
  @HttpCode(200)
  @Operation('Send a test message now')
  @ZodResponse(200, 'How it went (200 even when the target refused it)', webhookTestOutcomeSchema, 'WebhookTestOutcome')
  @Responses(UNKNOWN)
  test(@Param('id') id: string): Promise<TestOutcome> {
    return this.webhooks.test(id);
  }
}
