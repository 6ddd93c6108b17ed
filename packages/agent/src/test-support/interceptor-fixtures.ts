import { wrap, type Interceptor, type InterceptorHooks } from '../plugins/interceptor';

/** A fresh target for each test. */
export function calculator() {
  return {
    factor: 10,
    multiply(a: number, b: number): number {
      return a * b * (this.factor / 10);
    },
    fail(message: string): never {
      throw new Error(message);
    },
    async later(value: number): Promise<number> {
      await new Promise((resolve) => setTimeout(resolve, 1));
      return value;
    },
    async laterFail(message: string): Promise<never> {
      await new Promise((resolve) => setTimeout(resolve, 1));
      throw new Error(message);
    },
  };
}

/** The interceptors each test installed, per owner and method, as the instrumentation keeps them. */
const installed = new WeakMap<object, Map<string, Interceptor[]>>();

export function install(owner: object, method: string, hooks: InterceptorHooks, pluginName = 'test'): void {
  const byMethod = installed.get(owner) ?? new Map<string, Interceptor[]>();
  installed.set(owner, byMethod);
  const list = [...(byMethod.get(method) ?? []), { pluginName, hooks }];
  byMethod.set(method, list);
  wrap(owner, method, list);
}
