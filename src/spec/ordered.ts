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

