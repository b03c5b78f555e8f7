import { availableParallelism } from 'node:os';

/**
 * Inputs in flight by default: enough to overlap the network waits of URL inputs (each costs a
 * few range requests), and at least one per core for local files. Child processes are limited
 * apart from this (one ffprobe per core), so a larger number does not multiply CPU or memory.
 */
export const DEFAULT_CONCURRENCY = Math.max(8, availableParallelism());

/**
 * Maps an async iterable through `work` with at most `limit` calls in flight, yielding results
 * as they finish (not in input order). Inputs are pulled lazily, so a million-line manifest
 * never sits in memory.
 */
export async function* mapConcurrent<T, R>(
  inputs: AsyncIterable<T> | Iterable<T>,
  limit: number,
  work: (input: T) => Promise<R>,
): AsyncGenerator<R> {
  const iterator = (Symbol.asyncIterator in inputs ? inputs[Symbol.asyncIterator]() : toAsync(inputs));
  const running = new Map<number, Promise<{ id: number; result: R }>>();
  let nextId = 0;
  let exhausted = false;
  const pull = async () => {
    const next = await iterator.next();
    if (next.done) {
      exhausted = true;
      return;
    }
    const id = nextId++;
    running.set(id, work(next.value).then((result) => ({ id, result })));
  };
  while (!exhausted && running.size < limit) await pull();
  while (running.size > 0) {
    const { id, result } = await Promise.race(running.values());
    running.delete(id);
    yield result;
    if (!exhausted) await pull();
  }
}

async function* toAsync<T>(items: Iterable<T>): AsyncGenerator<T> {
  yield* items;
}

/**
 * Runs at most `limit` tasks at once, whoever submits them (shared by nested work); the rest wait
 * in arrival order.
 */
export class Limiter {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly limit: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    // A finishing task hands its slot straight to the next waiter, so the count never overshoots.
    if (this.running < this.limit) this.running++;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }
}
