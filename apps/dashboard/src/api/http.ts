/** A request the backend refused or that did not reach it; `issues` names the fields when it says. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number | null,
    readonly issues: readonly string[] = [],
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** Checks a response body's shape; throws with what is wrong. */
export type Parse<T> = (body: unknown) => T;

function describeRefusal(status: number, body: unknown): ApiError {
  const fields = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
  const issues = Array.isArray(fields.issues) ? fields.issues.filter((i): i is string => typeof i === 'string') : [];
  const error = typeof fields.error === 'string' ? fields.error : typeof fields.message === 'string' ? fields.message : `HTTP ${status}`;
  return new ApiError(issues.length > 0 ? `${error}: ${issues.join('; ')}` : error, status, issues);
}

/**
 * JSON over HTTP to the backend on this page's origin. Every answer is checked before use:
 * a dashboard that trusted a mismatched backend would show wrong numbers silently.
 */
export async function requestJson<T>(
  path: string,
  parse: Parse<T>,
  init: { method?: string; body?: unknown; signal?: AbortSignal } = {},
): Promise<T> {
  let response: Response;
  try {
    response = await fetch(path, {
      method: init.method ?? 'GET',
      signal: init.signal,
      headers: init.body === undefined ? undefined : { 'content-type': 'application/json' },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
    });
  } catch (error) {
    if (init.signal?.aborted) throw error;
    throw new ApiError(`the backend cannot be reached (${String(error)})`, null);
  }
  const text = await response.text();
  let body: unknown = undefined;
  if (text) {
    try {
      body = JSON.parse(text);
    } catch {
      throw new ApiError(`the backend answered ${response.status} with something that is not JSON`, response.status);
    }
  }
  if (!response.ok) throw describeRefusal(response.status, body);
  try {
    return parse(body);
  } catch (error) {
    throw new ApiError(`unexpected answer from ${path}: ${error instanceof Error ? error.message : String(error)}`, response.status);
  }
}

/** Turns a zod schema of @vigil/protocol into a `Parse`. */
export function withSchema<T>(schema: {
  safeParse(
    body: unknown,
  ): { success: true; data: T } | { success: false; error: { issues: readonly { path: readonly PropertyKey[]; message: string }[] } };
}): Parse<T> {
  return (body) => {
    const result = schema.safeParse(body);
    if (result.success) return result.data;
    throw new Error(result.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; '));
  };
}
