import { createApp } from "./app";
import { consumeBatch } from "./queue/consumer";

const app = createApp();

export default {
  fetch: app.fetch,
  queue: consumeBatch,
} satisfies ExportedHandler<Env>;
