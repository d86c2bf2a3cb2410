/**
 * A tiny typed event emitter: `on(type, fn)` returns the function that unsubscribes. A listener that
 * throws must not break the client's own work (the outbox, a switch), so its error is reported to the
 * console and the next listener still runs.
 */
export class Emitter<Events extends Record<string, unknown>> {
  private readonly listeners = new Map<keyof Events, Set<(e: never) => void>>();

  on<K extends keyof Events>(type: K, fn: (e: Events[K]) => void): () => void {
    let set = this.listeners.get(type);
    if (!set) this.listeners.set(type, (set = new Set()));
    set.add(fn as (e: never) => void);
    return () => set!.delete(fn as (e: never) => void);
  }

  emit<K extends keyof Events>(type: K, e: Events[K]): void {
    for (const fn of [...(this.listeners.get(type) ?? [])]) {
      try {
        (fn as (e: Events[K]) => void)(e);
      } catch (err) {
        console.error(`bsm hybrid client: a "${String(type)}" listener threw`, err);
      }
    }
  }
}
