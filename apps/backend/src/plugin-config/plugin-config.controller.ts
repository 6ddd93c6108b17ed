import { Body, Controller, Get, HttpCode, Inject, Param, Post, Put, Req } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import {
  configHistorySchema,
  configRollbackSchema,
  configVersionSchema,
  pluginConfigInputSchema,
  pluginConfigSchema,
  type ConfigHistory,
  type ConfigVersion,
  type PluginConfig,
} from '@vigil/protocol';
import type { FastifyRequest } from 'fastify';
import { AccessControl } from '../access/access-control.js';
import { CLOCK, type Clock } from '../common/clock.js';
import { BodyLimit } from '../common/route-body-limit.js';
import { parseOr400 } from '../common/validation.js';
import { INVALID, Operation, Responses, ZodBody, ZodResponse } from '../openapi/zod-api.js';
import { PluginConfigService } from './plugin-config.service.js';

/** A configuration's values are a few hundred bytes; 128 KiB bounds what each of its 100 kept versions may hold. */
const CONFIG_BODY_LIMIT = 128 * 1024;

const SERVICE = 'services/:service/plugins/:plugin/config';
const INSTANCE = 'instances/:id/plugins/:plugin/config';

const UNKNOWN_PLUGIN = { 404: 'No instance of the service runs the plugin, and it has no configuration' };
const UNKNOWN_INSTANCE = { 404: 'Unknown instance, or the plugin does not run on it' };
const CHANGE_REFUSALS = {
  400: `${INVALID}: a setting no instance declares, or a value of another type (\`values.<name>\`)`,
  409: 'No instance declares the settings of the plugin yet: there is nothing to check values against',
  413: 'Body over 128 KiB',
};
const ROLLBACK_REFUSALS = {
  400: `${INVALID}: a version not in the history (\`version\`), or whose values no longer fit the declared settings`,
  409: CHANGE_REFUSALS[409],
};

/**
 * Dynamic configuration of plugins (docs/plugin-config.md): a service's values and one
 * instance's overrides, each with its history and rollback. Who made a change is the caller as
 * access control knows it.
 */
@ApiTags('Plugin configuration')
@Controller('api/v1')
export class PluginConfigController {
  constructor(
    private readonly configs: PluginConfigService,
    private readonly access: AccessControl,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  @Get(SERVICE)
  @Operation("A service's values of a plugin, the settings its instances declare, and the version each applied")
  @ZodResponse(200, 'The configuration (version 0 while never set)', pluginConfigSchema, 'PluginConfig')
  @Responses(UNKNOWN_PLUGIN)
  serviceConfig(@Param('service') service: string, @Param('plugin') plugin: string): PluginConfig {
    return this.configs.serviceConfig(service, plugin);
  }

  @Put(SERVICE)
  @BodyLimit(CONFIG_BODY_LIMIT)
  @Operation("Replace a service's values of a plugin: a new version, delivered to every instance in its beat replies")
  @ZodBody(pluginConfigInputSchema, 'PluginConfigInput')
  @ZodResponse(200, 'The configuration with the new version', pluginConfigSchema, 'PluginConfig')
  @Responses(CHANGE_REFUSALS)
  setServiceConfig(
    @Param('service') service: string,
    @Param('plugin') plugin: string,
    @Body() body: unknown,
    @Req() request: FastifyRequest,
  ): Promise<PluginConfig> {
    return this.configs.setServiceValues(service, plugin, parseOr400(pluginConfigInputSchema, body, 'config'), this.who(request));
  }

  @Get(`${SERVICE}/history`)
  @Operation("The changes of a service's values of a plugin, newest first")
  @ZodResponse(200, 'Versions, newest first (empty while never set)', configHistorySchema, 'ConfigHistory')
  serviceHistory(@Param('service') service: string, @Param('plugin') plugin: string): ConfigHistory {
    return this.configs.serviceHistory(service, plugin);
  }

  @Post(`${SERVICE}/rollback`)
  @HttpCode(201)
  @Operation("Make a new version of a service's values with an earlier version's values")
  @ZodBody(configRollbackSchema, 'ConfigRollback')
  @ZodResponse(201, 'The new version', configVersionSchema, 'ConfigVersion')
  @Responses(ROLLBACK_REFUSALS)
  rollbackService(
    @Param('service') service: string,
    @Param('plugin') plugin: string,
    @Body() body: unknown,
    @Req() request: FastifyRequest,
  ): Promise<ConfigVersion> {
    const { version } = parseOr400(configRollbackSchema, body, 'rollback');
    return this.configs.rollbackService(service, plugin, version, this.who(request));
  }

  @Get(INSTANCE)
  @Operation("One instance's overrides of a plugin's settings, the values it runs with, and the version it applied")
  @ZodResponse(200, "The instance's configuration (version: its effective one)", pluginConfigSchema, 'PluginConfig')
  @Responses(UNKNOWN_INSTANCE)
  instanceConfig(@Param('id') id: string, @Param('plugin') plugin: string): PluginConfig {
    return this.configs.instanceConfig(id, plugin);
  }

  @Put(INSTANCE)
  @BodyLimit(CONFIG_BODY_LIMIT)
  @Operation("Replace one instance's overrides of a plugin's settings (`{}`: none): a new version for that instance")
  @ZodBody(pluginConfigInputSchema, 'PluginConfigInput')
  @ZodResponse(200, "The instance's configuration with the new version", pluginConfigSchema, 'PluginConfig')
  @Responses({ ...CHANGE_REFUSALS, ...UNKNOWN_INSTANCE })
  setInstanceConfig(
    @Param('id') id: string,
    @Param('plugin') plugin: string,
    @Body() body: unknown,
    @Req() request: FastifyRequest,
  ): Promise<PluginConfig> {
    return this.configs.setInstanceValues(id, plugin, parseOr400(pluginConfigInputSchema, body, 'config'), this.who(request));
  }

  @Get(`${INSTANCE}/history`)
  @Operation("The changes of one instance's overrides of a plugin's settings, newest first")
  @ZodResponse(200, 'Versions, newest first', configHistorySchema, 'ConfigHistory')
  @Responses(UNKNOWN_INSTANCE)
  instanceHistory(@Param('id') id: string, @Param('plugin') plugin: string): ConfigHistory {
    return this.configs.instanceHistory(id, plugin);
  }

  @Post(`${INSTANCE}/rollback`)
  @HttpCode(201)
  @Operation("Make a new version of one instance's overrides with an earlier version's")
  @ZodBody(configRollbackSchema, 'ConfigRollback')
  @ZodResponse(201, 'The new version', configVersionSchema, 'ConfigVersion')
  @Responses({ ...ROLLBACK_REFUSALS, ...UNKNOWN_INSTANCE })
  rollbackInstance(
    @Param('id') id: string,
    @Param('plugin') plugin: string,
    @Body() body: unknown,
    @Req() request: FastifyRequest,
  ): Promise<ConfigVersion> {
    const { version } = parseOr400(configRollbackSchema, body, 'rollback');
    return this.configs.rollbackInstance(id, plugin, version, this.who(request));
  }

  private who(request: FastifyRequest): string {
    return this.access.actorOf(request.headers, this.clock.now());
  }
}
