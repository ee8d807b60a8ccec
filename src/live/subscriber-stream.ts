/**
 * One subscriber's events (live/note-event-hub.ts): a bounded queue the hub pushes to and graphql-ws pulls from. A plain
 * object rather than a Repeater or an async generator, so that a subscription waiting for its
 * next event holds this object and its queue, not suspended functions and their promises
 * (memory per connection). A full queue means the client does not read: the stream ends with an
 * error once what it holds has been read, rather than grow without bound.
 */
export class SubscriberStream<T> implements AsyncIterableIterator<T> {
  private readonly queue: T[] = [];
  private waiting: { resolve(result: IteratorResult<T>): void; reject(error: Error): void } | null = null;
  private failure: Error | null = null;
  ended = false;

  constructor(
    private readonly limit: number,
    private readonly onEnd: () => void,
  ) {}

  push(delivery: T): void {
    if (this.ended) return;
    if (this.waiting) {
      const { resolve } = this.waiting;
      this.waiting = null;
      resolve({ done: false, value: delivery });
    } else if (this.queue.length < this.limit) {
      this.queue.push(delivery);
    } else {
      this.failure = new Error("The subscription fell too far behind its events and was ended.");
      this.finish();
    }
  }

  next(): Promise<IteratorResult<T>> {
    const queued = this.queue.shift();
    if (queued) return Promise.resolve({ done: false, value: queued });
    if (this.failure) {
      const failure = this.failure;
      this.failure = null;
      return Promise.reject(failure);
    }
    if (this.ended) return Promise.resolve({ done: true, value: undefined });
    return new Promise((resolve, reject) => (this.waiting = { resolve, reject }));
  }

  return(): Promise<IteratorResult<T>> {
    this.queue.length = 0;
    this.failure = null;
    this.end();
    return Promise.resolve({ done: true, value: undefined });
  }

  /** Ends the stream: what is queued can still be read, then it is done. */
  end(): void {
    if (this.ended) return;
    this.finish();
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  private finish(): void {
    this.ended = true;
    this.onEnd();
    const waiting = this.waiting;
    this.waiting = null;
    if (!waiting) return;
    if (this.failure) {
      const failure = this.failure;
      this.failure = null;
      waiting.reject(failure);
    } else {
      waiting.resolve({ done: true, value: undefined });
    }
  }
}
