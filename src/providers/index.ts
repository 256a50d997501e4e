import { neteaseCallback, neteaseCc } from "./netease";
import type { Channel } from "./provider";
import { tencent } from "./tencent";

/** Every callback endpoint the relay serves. Adding a provider: a folder under providers/ and a line here. */
export const CHANNELS: readonly Channel[] = [tencent, neteaseCc, neteaseCallback];
