import { SubscriberStream } from "./subscriber-stream";

describe("SubscriberStream", () => {
  it("hands out pushed values in order, to a waiting next() at once", async () => {
    const stream = new SubscriberStream<number>(10, () => undefined);
    stream.push(1);
    stream.push(2);
    await expect(stream.next()).resolves.toEqual({ done: false, value: 1 });
    await expect(stream.next()).resolves.toEqual({ done: false, value: 2 });
    const waiting = stream.next();
    stream.push(3);
    await expect(waiting).resolves.toEqual({ done: false, value: 3 });
  });

  it("ends a stream whose reader falls behind its limit: what it holds is read, then the error, and it ends once", async () => {
    const onEnd = jest.fn();
    const stream = new SubscriberStream<number>(2, onEnd);
    stream.push(1);
    stream.push(2);
    expect(onEnd).not.toHaveBeenCalled();
    stream.push(3);
    expect(onEnd).toHaveBeenCalledTimes(1);
    stream.push(4);
    await expect(stream.next()).resolves.toEqual({ done: false, value: 1 });
    await expect(stream.next()).resolves.toEqual({ done: false, value: 2 });
    await expect(stream.next()).rejects.toThrow("fell too far behind");
    await expect(stream.next()).resolves.toEqual({ done: true, value: undefined });
    expect(onEnd).toHaveBeenCalledTimes(1);
  });

  it("return() ends a waiting next() at once and drops what is queued; later pushes are ignored", async () => {
    const onEnd = jest.fn();
    const stream = new SubscriberStream<number>(10, onEnd);
    const waiting = stream.next();
    await expect(stream.return()).resolves.toEqual({ done: true, value: undefined });
    await expect(waiting).resolves.toEqual({ done: true, value: undefined });
    stream.push(1);
    await expect(stream.next()).resolves.toEqual({ done: true, value: undefined });
    expect(onEnd).toHaveBeenCalledTimes(1);
    expect(stream.ended).toBe(true);
  });

  it("end() lets the reader take what is queued, then says done", async () => {
    const stream = new SubscriberStream<number>(10, () => undefined);
    stream.push(1);
    stream.end();
    await expect(stream.next()).resolves.toEqual({ done: false, value: 1 });
    await expect(stream.next()).resolves.toEqual({ done: true, value: undefined });
  });
});
