/**
 * Maps an async iterator's values. Unlike an async generator, `return()` reaches the source at
 * once, even while a `next()` is waiting: an async generator would queue it until the source's
 * next value, so a quiet subscription that the client ends would stay open until some event came.
 */
export function mapAsyncIterator<T, R>(source: AsyncIterator<T>, map: (value: T) => R | Promise<R>): AsyncIterableIterator<R> {
  const step = async (result: IteratorResult<T>): Promise<IteratorResult<R>> =>
    result.done ? { done: true, value: undefined } : { done: false, value: await map(result.value) };
  return {
    next: async () => step(await source.next()),
    return: async () => {
      await source.return?.();
      return { done: true, value: undefined };
    },
    throw: async (error?: unknown) => {
      if (source.throw) return step(await source.throw(error));
      await source.return?.();
      throw error;
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}
