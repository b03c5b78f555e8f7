/**
 * Maps an async iterable through `work` with at most `limit` calls in flight, yielding results
 * in input order (a spec lists items in the order they were given, whatever finished first).
 * Inputs are pulled lazily; a slow item holds back at most `limit` finished ones. `work` must
 * not reject: callers turn failures into results, so one bad file never stops the run.
 */
export async function* mapOrdered<T, R>(
  inputs: AsyncIterable<T> | Iterable<T>,
  limit: number,
  work: (input: T) => Promise<R>,
): AsyncGenerator<R> {
  const inFlight: Promise<R>[] = [];
  for await (const input of inputs) {
    inFlight.push(work(input));
    if (inFlight.length >= limit) yield await (inFlight.shift() as Promise<R>);
  }
  while (inFlight.length > 0) yield await (inFlight.shift() as Promise<R>);
}

/** Runs at most `limit` tasks at once, whoever submits them (shared by nested work). */
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
