/**
 * A preload (`node --import dist/bench/mem-log.js ...`) for a benchmark's child process: when
 * KUBEVENTS_BENCH_MEM_LOG names a file, appends one JSON line every KUBEVENTS_BENCH_MEM_LOG_MS (default
 * 1000) ms with the time (`at`, ms since the epoch), process.memoryUsage() (rss, heapTotal, heapUsed, external, arrayBuffers, bytes) and
 * V8's old-space and new-space sizes; the first line also carries V8's heap size limit. Only the
 * benchmarks load it (bench/steady.ts); kubevents itself knows nothing of it.
 */
import { appendFileSync } from 'node:fs';
import v8 from 'node:v8';

const file = process.env['KUBEVENTS_BENCH_MEM_LOG'];
if (file) {
  const everyMs = Number(process.env['KUBEVENTS_BENCH_MEM_LOG_MS'] ?? 1000);
  appendFileSync(file, `${JSON.stringify({ at: Date.now(), heapSizeLimit: v8.getHeapStatistics().heap_size_limit, execArgv: process.execArgv })}\n`);
  const timer = setInterval(() => {
    const m = process.memoryUsage();
    const spaces = Object.fromEntries(
      v8
        .getHeapSpaceStatistics()
        .filter((s) => s.space_name === 'old_space' || s.space_name === 'new_space' || s.space_name === 'large_object_space' || s.space_name === 'code_space')
        .map((s) => [s.space_name, { size: s.space_size, used: s.space_used_size }]),
    );
    appendFileSync(
      file,
      `${JSON.stringify({ at: Date.now(), rss: m.rss, heapTotal: m.heapTotal, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers, spaces })}\n`,
    );
  }, everyMs);
  timer.unref();
}
