/**
 * What `next` answers: an item to start, `"wait"` (nothing now, but one of those in flight may release more when it
 * finishes: the next row of an ordered conversation, a closed circuit), or undefined (stop starting).
 */
export type Take<T> = T | "wait" | undefined;

/**
 * Runs `work` with at most `limit` items in flight, starting the next item as soon as any one finishes: one slow
 * answer holds one slot, never the others. `next` is asked for each start, with the number in flight; it is
 * synchronous, so two slots never take the same item. A `"wait"` with nothing in flight ends the pool.
 *
 * If `next` or `work` throws, nothing new starts, and the first error is rethrown once those in flight finished:
 * the caller must never give up on work that is still under way (a lane would start it again).
 */
export async function pool<T>(
  limit: number,
  next: (inFlight: number) => Take<T>,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let inFlight = 0;
  let failure: { error: unknown } | undefined;
  /** Resolves the promise waiting slots are on, and sets up the next one: each finishing item wakes them all. */
  let wake = () => {};
  const nextFinish = () =>
    new Promise<void>((resolve) => {
      wake = resolve;
    });
  let finished = nextFinish();
  const slot = async (): Promise<void> => {
    while (!failure) {
      let item: Take<T>;
      try {
        item = next(inFlight);
      } catch (error) {
        failure ??= { error };
        return;
      }
      if (item === undefined) return;
      if (item === "wait") {
        // Every wait is on a promise that a finishing item resolves: with nothing in flight, none ever would.
        if (inFlight === 0) return;
        await finished;
        continue;
      }
      inFlight++;
      try {
        await work(item);
      } catch (error) {
        failure ??= { error };
      } finally {
        inFlight--;
        const done = wake;
        finished = nextFinish();
        done();
      }
    }
  };
  await Promise.all(Array.from({ length: limit }, slot));
  if (failure) throw failure.error;
}

/**
 * `fn` over `items` with at most `limit` in flight, results in order, by {@link pool}'s start and failure rules:
 * Workers allow 6 open connections per invocation, and a request queued behind them must not spend its timeout
 * waiting for a connection.
 */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  await pool(
    Math.min(limit, items.length),
    () => (next < items.length ? next++ : undefined),
    async (i) => {
      results[i] = await fn(items[i] as T);
    },
  );
  return results;
}
