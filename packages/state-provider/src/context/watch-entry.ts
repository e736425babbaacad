import type { Subscriber, SubscriptionId } from "../contract.js";
import type { BackendSlot } from "./backend-slot.js";

/** A Context-level watch and the backend subscription that currently feeds it. */
export interface WatchEntry {
  readonly id: string;
  readonly pattern: string;
  readonly callback: Subscriber;
  /** Cleared by `unwatch` at once, before the backend has confirmed the unsubscribe. */
  active: boolean;
  slot: BackendSlot;
  subscription: SubscriptionId;
}

/**
 * The subscriber handed to a backend for one watch. Events from a retired backend are dropped,
 * so while a switch moves the watch, each change is delivered by exactly one backend.
 */
export function forwarder(entry: WatchEntry, slot: BackendSlot): Subscriber {
  return (event) => {
    if (entry.active && !slot.retired) entry.callback(event);
  };
}
