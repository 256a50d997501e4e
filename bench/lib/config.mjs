// Temp copies of wrangler configs for the benchmarks (nothing is written next to the originals).
import { readFile, writeFile } from "node:fs/promises";
import { dirname, isAbsolute, join, resolve } from "node:path";

/**
 * Writes `<dir>/<name>.toml`, a copy of `src` with `main` made absolute (the copy lives elsewhere) and, unless
 * `consumers` is true, without its `[[queues.consumers]]` tables, so that the Worker only produces. Line-based,
 * enough for hand-written wrangler.toml files: a table runs from its header to the next header.
 */
export async function configCopy(src, dir, name, { consumers }) {
  const out = [];
  let table = "";
  for (const line of (await readFile(src, "utf8")).split("\n")) {
    const header = line.match(/^\s*(\[\[?[^\]]+\]\]?)/);
    if (header) table = header[1].replace(/\s+/g, "");
    if (!consumers && table === "[[queues.consumers]]") continue;
    // Deployed, Cloudflare serves the console's assets before a Worker runs, at no cost to it; under wrangler dev,
    // [assets] puts miniflare's asset router Worker in front of every request, callbacks included (+0.4× the
    // relay's workerd CPU per ack, measured). The reference has none, so the copy leaves it out (see the README).
    if (table === "[assets]") continue;
    const main = table === "" && line.match(/^\s*main\s*=\s*"([^"]+)"/);
    out.push(main && !isAbsolute(main[1]) ? `main = ${JSON.stringify(resolve(dirname(src), main[1]))}` : line);
  }
  const text = out.join("\n");
  const active = text.replace(/#.*$/gm, "");
  if (!/\[\[queues\.producers\]\]/.test(active) || /\[\[queues\.consumers\]\]/.test(active) !== consumers) {
    throw new Error(`could not derive a ${consumers ? "full" : "producer-only"} config from ${src}`);
  }
  const file = join(dir, `${name}.toml`);
  await writeFile(file, text);
  return file;
}
