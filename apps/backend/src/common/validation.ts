import { BadRequestException } from '@nestjs/common';
import { describeIssues } from '@vigil/protocol';
import type { z } from 'zod';

/** Parses input with a schema, or answers 400 `{ error, issues: ["field: message", ...] }`. */
export function parseOr400<S extends z.ZodType>(schema: S, input: unknown, what: string): z.output<S> {
  const parsed = schema.safeParse(input);
  if (!parsed.success) throw new BadRequestException({ error: `invalid ${what}`, issues: describeIssues(parsed.error) });
  return parsed.data;
}
