import { createApp } from "./app";
import { consumeBatch } from "./queue/consumer";

export { Lane } from "./lanes/lane";
export { Outbox } from "./outbox/outbox";
export { Stats } from "./stats/stats";

const app = createApp();

export default {
  fetch: app.fetch,
  queue: consumeBatch,
} satisfies ExportedHandler<Env>;
