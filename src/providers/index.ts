import { type CatalogueEntry, lookup } from "./fields";
import { neteaseCallback, neteaseCc } from "./netease";
import type { Channel } from "./provider";
import { tencent } from "./tencent";

/** Every callback endpoint the relay serves. Adding a provider: a folder under providers/ and a line here. */
export const CHANNELS: readonly Channel[] = [tencent, neteaseCc, neteaseCallback];

/** The documented schema of an event, found from its `provider` and `providerevent`; undefined when unknown. */
export function catalogueEntry(provider: string, providerEvent: string): CatalogueEntry | undefined {
  for (const channel of CHANNELS) {
    if (channel.provider !== provider) continue;
    const key = channel.keyOf(providerEvent);
    const entry = key === undefined ? undefined : lookup(channel.catalogue, key);
    if (entry) return entry;
  }
  return undefined;
}
