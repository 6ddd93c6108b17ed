import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import {
  BULK_COMMAND_MAX_INSTANCES,
  COMMAND_LIST_MAX,
  INSTANCES_PATH,
  LIMITS,
  PLUGIN_COMMANDS_PATH,
  PLUGINS_PATH,
  bulkPluginCommandBodySchema,
  pluginCommandBodySchema,
  pluginCommandListSchema,
  pluginCommandQuerySchema,
  pluginCommandSentSchema,
  type PluginCommand,
  type PluginCommandSent,
  type PluginCommandState,
} from '@vigil/protocol';
import { z } from 'zod';
import { parseOr400 } from '../common/validation.js';
import { INVALID, Operation, Responses, ZodBody, ZodQuery, ZodResponse } from '../openapi/zod-api.js';
import { InstanceRegistry } from './instance-registry.js';
import { PluginCommandService } from './plugin-command.service.js';
import { bulkTargets, checkVersion, instanceTarget } from './plugin-command-targets.js';

type CommandList = { commands: PluginCommandState[] };

/** A name the agent looks up as a folder or a package: no path tricks. */
const installable = z.object({
  plugin: z
    .string()
    .max(LIMITS.nameLength)
    .regex(
      /^(@[A-Za-z0-9][\w.-]*\/)?[A-Za-z0-9][\w.-]*$/,
      'must be a plugin package name (letters, digits, - _ . and an optional @scope/)',
    ),
});

/** The plugin path parameter of an install, checked. */
const installableName = (plugin: string) => parseOr400(installable, { plugin }, 'path').plugin;

const ONE_REFUSALS = {
  400: `${INVALID}; not an agent's instance (registered through Nacos); or ${LIMITS.commandsPerReply} commands already wait for its next beat`,
  404: 'Unknown instance, or (all but install) a plugin not loaded on it',
  409: 'Too many commands queued or delivered fleet-wide',
};

const BULK_REFUSALS = {
  400: `${INVALID} (exactly one of service and instanceIds; at most ${BULK_COMMAND_MAX_INSTANCES} instances); an id registered through Nacos; or an instance with ${LIMITS.commandsPerReply} commands waiting. Nothing is queued`,
  404: 'Unknown instance ids (each listed), instances without the plugin (all but install), or a service with no live instance. Nothing is queued',
  409: 'Too many commands queued or delivered fleet-wide',
};

/**
 * Plugin commands over REST (docs/backend.md, "Plugin commands"): install, uninstall, upgrade,
 * disable, enable a plugin on an instance, or install, uninstall, upgrade it on a service's live
 * instances or a list of them; and the commands' states.
 */
@ApiTags('Plugin commands')
@Controller()
export class PluginCommandsController {
  constructor(
    private readonly registry: InstanceRegistry,
    private readonly commands: PluginCommandService,
  ) {}

  @Get(PLUGIN_COMMANDS_PATH)
  @Operation('Plugin commands and their states, newest first')
  @ZodQuery(pluginCommandQuerySchema)
  @ZodResponse(
    200,
    `At most \`limit\` commands (${COMMAND_LIST_MAX} by default) matching every filter given`,
    pluginCommandListSchema,
    'PluginCommandList',
  )
  @Responses({ 400: INVALID })
  list(@Query() query: unknown): CommandList {
    const { limit, ...filter } = parseOr400(pluginCommandQuerySchema, query, 'query');
    return { commands: this.commands.list(filter, limit ?? COMMAND_LIST_MAX) };
  }

  @Post(`${INSTANCES_PATH}/:id/plugins/:plugin/install`)
  @HttpCode(202)
  @Operation(
    'Install a plugin into a running instance: found where its agent finds plugins at start, delivered in the reply to its next beat',
  )
  @ZodBody(pluginCommandBodySchema, 'PluginCommandBody')
  @ZodResponse(202, 'Queued', pluginCommandSentSchema, 'CommandSent')
  @Responses(ONE_REFUSALS)
  install(@Param('id') id: string, @Param('plugin') plugin: string, @Body() body: unknown): Promise<PluginCommandSent> {
    return this.one(id, installableName(plugin), 'plugin.install', body);
  }

  @Post(`${INSTANCES_PATH}/:id/plugins/:plugin/uninstall`)
  @HttpCode(202)
  @Operation('Uninstall a plugin from a running instance: delivered in the reply to its next beat')
  @ZodBody(pluginCommandBodySchema, 'PluginCommandBody')
  @ZodResponse(202, 'Queued', pluginCommandSentSchema, 'CommandSent')
  @Responses(ONE_REFUSALS)
  uninstall(@Param('id') id: string, @Param('plugin') plugin: string, @Body() body: unknown): Promise<PluginCommandSent> {
    return this.one(id, plugin, 'plugin.uninstall', body);
  }

  @Post(`${INSTANCES_PATH}/:id/plugins/:plugin/upgrade`)
  @HttpCode(202)
  @Operation('Upgrade a plugin of a running instance to a version: delivered in the reply to its next beat')
  @ZodBody(pluginCommandBodySchema, 'PluginCommandBody')
  @ZodResponse(202, 'Queued', pluginCommandSentSchema, 'CommandSent')
  @Responses(ONE_REFUSALS)
  upgrade(@Param('id') id: string, @Param('plugin') plugin: string, @Body() body: unknown): Promise<PluginCommandSent> {
    return this.one(id, plugin, 'plugin.upgrade', body);
  }

  @Post(`${INSTANCES_PATH}/:id/plugins/:plugin/disable`)
  @HttpCode(202)
  @Operation('Disable a plugin on an instance: delivered in the reply to its next beat')
  @ZodResponse(202, 'Queued', pluginCommandSentSchema, 'CommandSent')
  @Responses(ONE_REFUSALS)
  disable(@Param('id') id: string, @Param('plugin') plugin: string): Promise<PluginCommandSent> {
    return this.one(id, plugin, 'plugin.disable', undefined);
  }

  @Post(`${INSTANCES_PATH}/:id/plugins/:plugin/enable`)
  @HttpCode(202)
  @Operation('Enable a plugin on an instance again: delivered in the reply to its next beat')
  @ZodResponse(202, 'Queued', pluginCommandSentSchema, 'CommandSent')
  @Responses(ONE_REFUSALS)
  enable(@Param('id') id: string, @Param('plugin') plugin: string): Promise<PluginCommandSent> {
    return this.one(id, plugin, 'plugin.enable', undefined);
  }

  @Post(`${PLUGINS_PATH}/:plugin/install`)
  @HttpCode(202)
  @Operation("Install a plugin on a service's live instances, or on a list of instances")
  @ZodBody(bulkPluginCommandBodySchema, 'BulkPluginCommand')
  @ZodResponse(202, 'Queued, one command per instance', pluginCommandListSchema, 'PluginCommandList')
  @Responses(BULK_REFUSALS)
  installMany(@Param('plugin') plugin: string, @Body() body: unknown): Promise<CommandList> {
    return this.many(installableName(plugin), 'plugin.install', body);
  }

  @Post(`${PLUGINS_PATH}/:plugin/uninstall`)
  @HttpCode(202)
  @Operation("Uninstall a plugin from a service's live instances running it, or from a list of instances")
  @ZodBody(bulkPluginCommandBodySchema, 'BulkPluginCommand')
  @ZodResponse(202, 'Queued, one command per instance', pluginCommandListSchema, 'PluginCommandList')
  @Responses(BULK_REFUSALS)
  uninstallMany(@Param('plugin') plugin: string, @Body() body: unknown): Promise<CommandList> {
    return this.many(plugin, 'plugin.uninstall', body);
  }

  @Post(`${PLUGINS_PATH}/:plugin/upgrade`)
  @HttpCode(202)
  @Operation("Upgrade a plugin on a service's live instances running it, or on a list of instances")
  @ZodBody(bulkPluginCommandBodySchema, 'BulkPluginCommand')
  @ZodResponse(202, 'Queued, one command per instance', pluginCommandListSchema, 'PluginCommandList')
  @Responses(BULK_REFUSALS)
  upgradeMany(@Param('plugin') plugin: string, @Body() body: unknown): Promise<CommandList> {
    return this.many(plugin, 'plugin.upgrade', body);
  }

  private async one(id: string, plugin: string, type: PluginCommand['type'], body: unknown): Promise<PluginCommandSent> {
    const { version } = parseOr400(pluginCommandBodySchema, body ?? {}, 'body');
    checkVersion(type, version);
    const targets = instanceTarget(this.registry.get(id), id, plugin, type);
    const [command] = await this.commands.send(targets, plugin, type, version ?? null);
    return { command: command!, commands: [command!] };
  }

  private async many(plugin: string, type: PluginCommand['type'], body: unknown): Promise<CommandList> {
    const parsed = parseOr400(bulkPluginCommandBodySchema, body ?? {}, 'body');
    checkVersion(type, parsed.version);
    const targets = bulkTargets(this.registry, parsed, plugin, type);
    return { commands: await this.commands.send(targets, plugin, type, parsed.version ?? null) };
  }
}
