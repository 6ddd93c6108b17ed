import { Body, Controller, Delete, Get, HttpCode, Param, Post, Put } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { alertRuleListSchema, alertRuleSchema } from '@vigil/protocol';
import { BodyLimit } from '../common/route-body-limit.js';
import { parseOr400 } from '../common/validation.js';
import { INVALID, Operation, Responses, ZodBody, ZodResponse } from '../openapi/zod-api.js';
import { ALERT_RULES_PATH, MAX_ALERT_RULES, alertRuleInputSchema, type AlertRule } from './alert-rule-schema.js';
import { AlertRulesService } from './alert-rules.service.js';

const UNKNOWN = { 404: 'Unknown alert rule' };

/** A rule body is a few hundred bytes; 16 KiB leaves room for long names in any script. */
const RULE_BODY_LIMIT = 16 * 1024;

@ApiTags('Alert rules')
@Controller(ALERT_RULES_PATH)
export class AlertRulesController {
  constructor(private readonly rules: AlertRulesService) {}

  @Get()
  @Operation('Every alert rule, with the number of instances it fires for now')
  @ZodResponse(200, 'The rules, oldest first', alertRuleListSchema, 'AlertRuleList')
  async list(): Promise<{ rules: AlertRule[] }> {
    return { rules: await this.rules.list() };
  }

  @Post()
  @BodyLimit(RULE_BODY_LIMIT)
  @Operation('Add an alert rule (docs/alert-rules.md)')
  @ZodBody(alertRuleInputSchema, 'AlertRuleInput')
  @ZodResponse(201, 'Created', alertRuleSchema, 'AlertRule')
  @Responses({ 400: `${INVALID}; or already ${MAX_ALERT_RULES} rules`, 413: 'Body over 16 KiB' })
  create(@Body() body: unknown): Promise<AlertRule> {
    return this.rules.create(parseOr400(alertRuleInputSchema, body, 'alert rule'));
  }

  @Get(':id')
  @Operation('One alert rule')
  @ZodResponse(200, 'The rule', alertRuleSchema, 'AlertRule')
  @Responses(UNKNOWN)
  get(@Param('id') id: string): Promise<AlertRule> {
    return this.rules.get(id);
  }

  /** Replaces every setting: the body is the same as for a create. */
  @Put(':id')
  @BodyLimit(RULE_BODY_LIMIT)
  @Operation('Replace every setting of an alert rule')
  @ZodBody(alertRuleInputSchema, 'AlertRuleInput')
  @ZodResponse(200, 'Updated', alertRuleSchema, 'AlertRule')
  @Responses({ 400: INVALID, 413: 'Body over 16 KiB', ...UNKNOWN })
  update(@Param('id') id: string, @Body() body: unknown): Promise<AlertRule> {
    return this.rules.update(id, parseOr400(alertRuleInputSchema, body, 'alert rule'));
  }

  @Delete(':id')
  @HttpCode(204)
  @Operation('Remove an alert rule (its firing alerts clear)')
  @Responses({ 204: 'Removed', ...UNKNOWN })
  remove(@Param('id') id: string): Promise<void> {
    return this.rules.remove(id);
  }
}
