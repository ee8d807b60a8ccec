/**
 * Maps an async iterator's values. Unlike an async generator, `return()` reaches the source at
 * once, even while a `next()` is waiting: an async generator would queue it until the source's
 * next value, so a quiet subscription that the client ends would stay open until some event came.
 * A class rather than closures: every live subscription holds one or two of these while it
 * waits, so their size is memory per connection.
 */
export function mapAsyncIterator<T, R>(source: AsyncIterator<T>, map: (value: T) => R | Promise<R>): AsyncIterableIterator<R> {
  return new MappedAsyncIterator(source, map);
}

class MappedAsyncIterator<T, R> implements AsyncIterableIterator<R> {
  constructor(
    private readonly source: AsyncIterator<T>,
    private readonly map: (value: T) => R | Promise<R>,
  ) {}

  // A promise chain, not an async function: a waiting `next()` then holds no suspended frame.
  next(): Promise<IteratorResult<R>> {
    return this.source.next().then((result) => this.step(result));
  }

  async return(): Promise<IteratorResult<R>> {
    await this.source.return?.();
    return { done: true, value: undefined };
  }

  async throw(error?: unknown): Promise<IteratorResult<R>> {
    if (this.source.throw) return this.step(await this.source.throw(error));
    await this.source.return?.();
    throw error;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  private async step(result: IteratorResult<T>): Promise<IteratorResult<R>> {
    return result.done ? { done: true, value: undefined } : { done: false, value: await this.map(result.value) };
  }
}
