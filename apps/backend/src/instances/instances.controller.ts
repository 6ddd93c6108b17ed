import { Controller, Get, Inject } from '@nestjs/common';
import { INSTANCES_PATH, type InstanceList } from '@vigil/protocol';
import { InstanceRegistry } from './instance-registry.js';

@Controller(INSTANCES_PATH)
export class InstancesController {
  constructor(@Inject(InstanceRegistry) private readonly registry: InstanceRegistry) {}

  @Get()
  list(): InstanceList {
    const instances = this.registry.list();
    return { instances, total: instances.length };
  }
}
