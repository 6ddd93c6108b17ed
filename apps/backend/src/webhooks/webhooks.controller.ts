import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Post, Put } from '@nestjs/common';
import { parseOr400 } from '../common/validation.js';
import { WEBHOOKS_PATH, webhookInputSchema } from './webhook-schema.js';
import { WebhooksService, type TestOutcome, type WebhookView } from './webhooks.service.js';

@Controller(WEBHOOKS_PATH)
export class WebhooksController {
  constructor(@Inject(WebhooksService) private readonly webhooks: WebhooksService) {}

  /** Every webhook with its delivery counts and last outcome. */
  @Get()
  list(): { webhooks: WebhookView[] } {
    return { webhooks: this.webhooks.list() };
  }

  @Post()
  create(@Body() body: unknown): Promise<WebhookView> {
    return this.webhooks.create(parseOr400(webhookInputSchema, body, 'webhook'));
  }

  /** Replaces every setting: the body is the same as for a create. */
  @Put(':id')
  update(@Param('id') id: string, @Body() body: unknown): Promise<WebhookView> {
    return this.webhooks.update(id, parseOr400(webhookInputSchema, body, 'webhook'));
  }

  @Delete(':id')
  @HttpCode(204)
  remove(@Param('id') id: string): Promise<void> {
    return this.webhooks.remove(id);
  }

  /** Sends a test message now and answers how it went (200 even when the target refused it). */
  @Post(':id/test')
  @HttpCode(200)
  test(@Param('id') id: string): Promise<TestOutcome> {
    return this.webhooks.test(id);
  }
}
